"""Every page and the admin work under the Content-Security-Policy: no violation in the browser.

The policy allows only the app's own scripts and styles (issue 20, point 7).
Chromium reports each blocked script, style or inline attribute as a
``securitypolicyviolation`` event and a console error; both are collected on
every page, after its htmx interactions, and must stay empty.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import expect

from decisioning.models import Decision
from tests.browser.story import ORDER_ID

pytestmark = pytest.mark.browser

WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${where}`);
});
"""


@pytest.fixture
def admin_page(browser, live_server, story) -> Iterator:
    """A page logged in as the demo "admin" (a superuser), watching for CSP violations."""
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    context.add_init_script(WATCH)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.console_errors = []
    page.on(
        "console",
        lambda message: (
            page.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    yield page
    context.close()


def _visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, url
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp


def _assert_clean(page, where: str) -> None:
    violations = page.evaluate("window.__violations")
    assert violations == [], where
    assert [text for text in page.console_errors if "Content Security Policy" in text] == [], where


def test_every_page_works_under_the_policy(admin_page, story):
    """Dashboard, timeline (filter and scroll by htmx), event, object, actor and review pages."""
    decision = Decision.objects.filter(outcome="pending").first()
    urls = [
        "/",
        "/?period=30d",
        "/traces/",
        f"/traces/events/{story.order_chain[2].pk}/",
        f"/traces/objects/order/{ORDER_ID}/",
        "/traces/actors/ai_agent/pricing-ai/",
        "/traces/actors/ai_agent/pricing-ai/?period=30d",
        "/traces/decisions/",
        "/traces/review/",
        f"/traces/decisions/{decision.pk}/",
    ]
    for url in urls:
        _visit(admin_page, url)
        _assert_clean(admin_page, url)

    # htmx still swaps partials: a filter, then the next page of the timeline.
    _visit(admin_page, "/traces/")
    admin_page.get_by_label("AI agent").first.check()
    admin_page.get_by_role("button", name="Apply").click()
    admin_page.wait_for_url("**actor_type=ai_agent**")
    assert admin_page.locator(".event-row").count() > 0
    _assert_clean(admin_page, "timeline filter")
    # The count bars and the chain are SVG sized by attributes: they still have a width.
    _visit(admin_page, "/")
    assert admin_page.locator("rect.count-fill").first.get_attribute("width") not in ("", None)
    _visit(admin_page, f"/traces/events/{story.order_chain[2].pk}/")
    assert admin_page.locator(".chain-bar rect").count() == len(story.order_chain)
    box = admin_page.locator(".chain-bar").first.bounding_box()
    assert box is not None
    assert box["width"] > 20
    _assert_clean(admin_page, "bars")


def test_the_admin_works_under_the_policy(admin_page, story):
    """The admin's index, lists, search, filters, change and add forms: no violation."""
    urls = [
        "/admin/",
        "/admin/traces/eventrecord/",
        "/admin/traces/eventrecord/?q=refund",
        f"/admin/traces/eventrecord/{story.refund.pk}/change/",
        "/admin/traces/actorrecord/",
        "/admin/decisioning/decision/",
        f"/admin/decisioning/decision/{Decision.objects.first().pk}/change/",
        "/admin/auth/user/",
        "/admin/auth/user/add/",
        f"/admin/auth/user/{User.objects.get(username='admin').pk}/change/",
        "/admin/auth/group/add/",
    ]
    for url in urls:
        _visit(admin_page, url)
        _assert_clean(admin_page, url)


def test_the_login_page_works_under_the_policy(browser, live_server, story):
    """Signing in through the form (not a cookie) under the policy."""
    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(WATCH)
    page = context.new_page()
    _visit(page, "/accounts/login/")
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    # expect() waits for the answer to the post; is_visible() would race it on a busy machine.
    expect(page.get_by_text("Please enter a correct username")).to_be_visible()
    assert page.evaluate("window.__violations") == []
    context.close()
