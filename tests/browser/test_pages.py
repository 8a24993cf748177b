"""The reviewer's journeys in real headless Chromium; each main page is photographed.

With ``SCREENSHOTS_DIR`` set (``SCREENSHOTS_DIR=docs/screenshots``) the pictures
are written there, which is how the screenshots in docs/ui.md are refreshed;
otherwise they are only checked to be real PNG images.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from decisioning.models import Decision, DecisionOutcome
from tests.browser.story import ORDER_ID

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _screenshot(page, name: str, *, full_page: bool = True) -> None:
    """Photograph the page; into ``$SCREENSHOTS_DIR/<name>.png`` when that is set."""
    image = page.screenshot(full_page=full_page)
    assert image.startswith(PNG_SIGNATURE)
    target = os.environ.get("SCREENSHOTS_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / f"{name}.png").write_bytes(image)


def test_login_lands_on_dashboard(browser, live_server, story):
    """The login form signs a demo user in and shows the dashboard with its chart."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto("/")
    assert "/accounts/login/" in page.url
    _screenshot(page, "login")
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password").fill("reviewer-demo-pass")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.locator("svg.activity-chart rect.series").count() > 0
    # The demo reviewer may look at the review queue: the navigation offers it.
    assert page.get_by_role("link", name="Review", exact=True).is_visible()
    pending = page.locator("#pending-link")
    assert pending.get_attribute("href").endswith("/traces/review/")
    waiting = Decision.objects.filter(outcome=DecisionOutcome.PENDING).count()
    assert waiting > 0
    assert pending.locator(".pending-count").inner_text().strip() == str(waiting)
    _screenshot(page, "dashboard")
    context.close()


def test_timeline_filter_scroll_open_and_back(page):
    """Filter by AI agent, scroll for older rows, open one, come back to the filtered list."""
    page.goto("/traces/")
    _screenshot(page, "timeline", full_page=False)
    page.get_by_label("AI agent").check()
    page.wait_for_url(re.compile(r"actor_type=ai_agent"))
    rows = page.locator("#timeline-rows > li")
    # Locator waits, not wait_for_function: that one evals a string, which the CSP refuses.
    page.locator("#timeline-rows .actor-kind").first.wait_for()
    kinds = page.locator("#timeline-rows .actor-badge .actor-kind").all_inner_texts()
    assert kinds
    assert set(kinds) == {"AI agent"}
    assert page.locator(".chip", has_text="AI agent").is_visible()
    first_page = rows.count()

    page.locator("#timeline-more").scroll_into_view_if_needed()
    rows.nth(first_page).wait_for()
    assert set(page.locator("#timeline-rows .actor-badge .actor-kind").all_inner_texts()) == {
        "AI agent"
    }
    assert "cursor=" not in page.url

    page.locator("#timeline-rows a.event-title", has_text="SKU-100 ").first.click()
    page.wait_for_url(re.compile(r"/traces/events/"))
    assert page.get_by_role("heading", name="Why").is_visible()
    assert page.get_by_text("Competitor prices moved and stock is healthy").is_visible()
    alternatives = page.locator(".alternative")
    assert alternatives.count() == 2
    assert page.get_by_text("Would lose the buy box").is_visible()
    assert page.get_by_role("heading", name="Chain").is_visible()
    assert page.locator(".chain-node.is-current").count() == 1

    page.go_back()
    page.wait_for_url(re.compile(r"actor_type=ai_agent"))
    page.wait_for_selector("#timeline-rows")
    assert page.get_by_label("AI agent").is_checked()
    assert set(page.locator("#timeline-rows .actor-badge .actor-kind").all_inner_texts()) == {
        "AI agent"
    }


def test_event_detail_shows_reasoning_alternatives_and_chain(page, story):
    """An order's fraud screening shows its reasoning, both alternatives and the whole chain."""
    page.goto(f"/traces/events/{story.order_chain[2].pk}/")
    assert page.get_by_text("Low fraud risk").is_visible()
    assert page.locator(".alternative").count() == 2
    assert page.locator(".chain-node").count() == len(story.order_chain)
    _screenshot(page, "event")


def test_object_history_lists_the_order_chain(page, story):
    """The order's page tells its story oldest first, from checkout to shipping."""
    page.goto(f"/traces/objects/order/{ORDER_ID}/")
    titles = page.locator(".story-title").all_inner_texts()
    assert titles == [event.description for event in story.order_chain[:1]] + [
        event.description for event in sorted(story.order_chain[1:], key=lambda e: e.effective_at)
    ]
    assert page.locator(".diff-changed").count() >= 2
    _screenshot(page, "object-history")


def test_actor_and_decisions_pages(page, story):
    """The pricing AI's page counts its work; the decisions page shows who decided and why."""
    page.goto("/traces/actors/ai_agent/pricing-ai/")
    assert page.get_by_role("heading", name="Dynamic Pricing").is_visible()
    assert page.locator(".count-row", has_text="price.adjusted").is_visible()
    _screenshot(page, "actor", full_page=False)
    page.goto("/traces/decisions/")
    assert page.get_by_text("Within the weekly pricing budget.").is_visible()
    _screenshot(page, "decisions")


def test_narrow_screen_timeline_is_usable(page):
    """On a phone-sized screen the filters fold above the list and nothing overflows sideways."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/traces/?outcome=failure")
    page.get_by_text("Filters (1 active)").click()
    assert page.get_by_label("Search", exact=True).is_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.locator("#results-title").scroll_into_view_if_needed()
    assert page.get_by_text(
        "Nightly stock sync with the Berlin warehouse failed"
    ).first.is_visible()
    _screenshot(page, "timeline-narrow", full_page=False)
