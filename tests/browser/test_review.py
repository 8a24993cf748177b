"""The review workflow in real headless Chromium: the demo admin works through the queue."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from decisioning.models import Decision
from ecommerce.demo_accounts import DEMO_ACCOUNTS, demo_accounts_ensure
from tests.browser.test_pages import _screenshot
from tests.traces.factories import proposal_record
from traces.models import EventRecord

pytestmark = pytest.mark.browser

ADMIN = next(account for account in DEMO_ACCOUNTS if account.username == "admin")


@pytest.fixture
def proposals(transactional_db):
    """The demo accounts and two refunds waiting for approval (recorded by the real client)."""
    demo_accounts_ensure()
    now = timezone.now()
    refund = proposal_record(
        description="Refund of €99.99 for a damaged widget", at=now - timedelta(hours=3)
    )
    big_refund = proposal_record(
        description="Refund of €1,450.00 for a broken espresso machine",
        risk="high",
        order_id="ord-20001",
        at=now - timedelta(hours=1),
    )
    return refund, big_refund


def _pending_count(page) -> str:
    return page.locator("#pending-link .pending-count").inner_text().strip()


def _wait_for_pending_count(page, count: int) -> None:
    # expect(), not wait_for_function: that one evals a string, which the CSP refuses.
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(page.locator("#pending-link .pending-count")).to_have_text(str(count))


def test_admin_approves_and_escalates_from_the_queue(browser, live_server, proposals):
    """Log in as the demo admin, approve one refund, escalate the other with a reason."""
    (refund_event, refund), (big_event, big_refund) = proposals
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto("/")
    page.get_by_label("Username").fill(ADMIN.username)
    page.get_by_label("Password").fill(ADMIN.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))
    assert _pending_count(page) == "2"

    page.locator("#pending-link").click()
    page.wait_for_url(re.compile(r"/traces/review/$"))
    assert page.get_by_role("heading", name="Review queue").is_visible()
    rows = page.locator("#review-rows > li.review-row")
    assert rows.count() == 2
    assert "damaged widget" in rows.nth(0).inner_text()  # oldest first
    _screenshot(page, "review-queue")

    first = page.locator(f"#review-row-{refund.pk}")
    first.get_by_role("button", name="Approve").click()
    page.wait_for_selector(f"#review-row-{refund.pk}.is-resolved")
    assert "Approved “refund_approval”." in first.inner_text()
    _wait_for_pending_count(page, 1)

    second = page.locator(f"#review-row-{big_refund.pk}")
    second.get_by_role("button", name="Escalate").click()
    page.wait_for_selector(f"#review-row-{big_refund.pk} .errorlist")
    assert "A reason is required to escalate a decision." in second.inner_text()
    # In place and styled, with DEBUG on as well: the page around the row is still there.
    assert page.locator("header.topbar").is_visible()
    assert page.get_by_role("heading", name="Review queue").is_visible()
    assert _pending_count(page) == "1"
    second = page.locator(f"#review-row-{big_refund.pk}")
    second.get_by_label("Reason").fill("Above my refund limit; needs a senior admin")
    second.get_by_role("button", name="Escalate").click()
    page.wait_for_selector(f"#review-row-{big_refund.pk}.is-resolved")
    _wait_for_pending_count(page, 0)
    assert page.locator("#tab-count-escalated").inner_text() == "1"
    assert page.locator("#tab-count-pending").inner_text() == "0"

    page.get_by_role("link", name=re.compile(r"^Escalated")).click()
    page.wait_for_url(re.compile(r"tab=escalated"))
    page.wait_for_selector(f"#review-row-{big_refund.pk}")
    escalated = page.locator("#review-rows > li.review-row")
    assert escalated.count() == 1
    assert "broken espresso machine" in escalated.first.inner_text()
    assert "Above my refund limit" in escalated.first.inner_text()
    # The demo admin is a senior admin too: escalated decisions can be decided here.
    assert escalated.first.get_by_role("button", name="Approve").is_visible()

    page.goto(f"/traces/events/{refund_event.pk}/")
    approval = page.locator("section[aria-labelledby='approval-title']")
    assert "Approved" in approval.inner_text()
    assert "by admin" in approval.inner_text()
    assert page.locator(".chain-node", has_text="refund_approval approved by admin").count() == 1

    page.goto(f"/traces/decisions/{big_refund.pk}/")
    assert page.locator(".history-step").count() == 1
    assert "Above my refund limit" in page.locator(".history-step").inner_text()
    _screenshot(page, "decision")
    context.close()

    assert Decision.objects.get(pk=refund.pk).outcome == "approved"
    assert Decision.objects.get(pk=big_refund.pk).outcome == "escalated"
    assert EventRecord.objects.filter(parent=big_event, event_type="decision.escalated").exists()
