"""Issue 16 in real Chromium: the place kept, clean addresses, whole ranges, a phone, contrast."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from tests.traces.factories import EventRecordFactory

pytestmark = pytest.mark.browser

EMPTY_PARAMETER = re.compile(r"[?&][a-z_]+=(&|$)")

# WCAG 2.x relative luminance and contrast of every element's own text against
# the first opaque background behind it (4.5:1, or 3:1 for large text).
CONTRAST_SCRIPT = """() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] >= 0.99)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest("svg, .visually-hidden") || !el.checkVisibility()) continue;
    const style = getComputedStyle(el);
    const fg = parse(style.color);
    if (fg.length === 4 && fg[3] < 1) continue;
    const [l1, l2] = [lum(fg.slice(0, 3)), lum(background(el))].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      const text = el.textContent.trim().slice(0, 30);
      failures.push(`${el.tagName}.${el.className}: "${text}" ${ratio.toFixed(2)}`);
    }
  }
  return failures;
}"""


def test_back_from_an_event_restores_the_loaded_rows_and_the_place(page, story):
    """Point 7: scroll past the first page, open an event, go back: same rows, same place."""
    page.goto("/traces/")
    rows = page.locator("#timeline-rows > li")
    first_page = rows.count()
    page.locator("#timeline-more").scroll_into_view_if_needed()
    rows.nth(first_page).wait_for()
    page.wait_for_url(re.compile(r"through="))
    loaded = rows.count()
    target = rows.nth(loaded - 3)
    target.scroll_into_view_if_needed()
    title = target.locator("a.event-title").inner_text()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0
    target.locator("a.event-title").click()
    page.wait_for_url(re.compile(r"/traces/events/"))
    page.go_back()
    page.wait_for_url(re.compile(r"through="))
    page.locator("#timeline-rows > li").nth(loaded - 1).wait_for()
    assert page.locator("#timeline-rows > li").count() >= loaded
    link = page.locator("#timeline-rows a.event-title", has_text=title).first
    assert link.is_visible()
    box = link.bounding_box()
    assert box is not None
    assert 0 <= box["y"] <= page.viewport_size["height"]


def test_pushed_addresses_carry_no_empty_parameters(page, story):
    """Point 10: checking a box pushes ?actor_type=ai_agent, not every empty field."""
    page.goto("/traces/")
    page.get_by_label("AI agent").check()
    page.wait_for_url(re.compile(r"actor_type=ai_agent"))
    assert not EMPTY_PARAMETER.search(page.url), page.url
    page.goto("/traces/decisions/")
    page.get_by_label("Decision type").fill("price_change")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"decision_type=price_change"))
    assert not EMPTY_PARAMETER.search(page.url), page.url


def test_custom_range_waits_for_both_dates(page, story):
    """Point 10: the first date alone sends nothing; the second sends the whole range."""
    page.goto("/traces/")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.get_by_label("From", exact=True).fill("2026-03-01T10:00")
    page.get_by_label("From", exact=True).press("Tab")
    page.wait_for_timeout(400)
    assert not [url for url in requests if "since=" in url]
    page.get_by_label("To", exact=True).fill("2026-03-02T10:00")
    page.get_by_label("To", exact=True).press("Tab")
    page.wait_for_url(re.compile(r"since=.*until=|until=.*since="))
    assert all("until=" in url for url in requests if "since=" in url)


def test_phone_shows_results_first_and_filters_behind_a_button(page, story):
    """Point 11: at 375 px the first event is on the first screen; Filters opens the form."""
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/traces/")
    first = page.locator("#timeline-rows > li").first
    box = first.bounding_box()
    assert box is not None
    assert box["y"] < 740
    assert not page.get_by_label("Search", exact=True).is_visible()
    page.locator("summary.filters-toggle").click()
    assert page.get_by_label("Search", exact=True).is_visible()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/traces/",
        "/traces/decisions/",
        "/traces/review/",
        "/traces/actors/ai_agent/pricing-ai/",
        "/traces/objects/order/ord-12345/",
    ],
)
def test_every_text_meets_wcag_aa_contrast(page, story, path):
    """Point 13: every visible text, badges included ("No actor"), is at least 4.5:1 (3:1 large)."""
    EventRecordFactory(
        actor=None,
        description="Unattributed clean-up",
        outcome="skipped",
        effective_at=timezone.now(),
    )
    page.goto(path)
    if path == "/traces/":
        assert page.locator(".actor-none").first.is_visible()
    failures = page.evaluate(CONTRAST_SCRIPT)
    assert failures == []
