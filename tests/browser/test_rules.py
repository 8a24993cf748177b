"""In Chromium: an admin creates a review rule in the admin; a matching event lands in the queue."""

from __future__ import annotations

import json
import re

import pytest

from decisioning.models import Decision
from ecommerce.demo_accounts import DEMO_ACCOUNTS, demo_accounts_ensure
from traces import DecisionTraceClient
from traces.rules.models import ReviewRule

pytestmark = pytest.mark.browser

ADMIN = next(account for account in DEMO_ACCOUNTS if account.username == "admin")
CONDITION = {
    "event_type": "pricing.*",
    "values": [{"change": "product.price", "op": "pct_lt", "value": -10}],
}


def test_admin_rule_sends_matching_event_to_the_queue(browser, live_server, transactional_db):
    demo_accounts_ensure()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/admin/login/?next=/admin/traces_rules/reviewrule/add/")
    page.get_by_label("Username").fill(ADMIN.username)
    page.get_by_label("Password").fill(ADMIN.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/traces_rules/reviewrule/add/$"))

    page.locator("#id_name").fill("Large price drops")
    page.locator("#id_condition").fill('{"risk_at_least": "apocalyptic"}')
    page.locator("input[name=_save]").click()
    assert "risk_at_least" in page.locator(".errorlist").first.inner_text()
    page.locator("#id_condition").fill(json.dumps(CONDITION))
    page.locator("input[name=_save]").click()
    page.wait_for_url(re.compile(r"/admin/traces_rules/reviewrule/$"))
    assert ReviewRule.objects.get(name="Large price drops").condition == CONDITION

    client = DecisionTraceClient()
    client.trace("pricing.change_proposed", "Cut the espresso machine by 20 %").by_ai(
        "pricing-ai", "Pricing", model="gpt-4"
    ).affecting_object(
        "product", "SKU-ESP", state_before={"price": "500"}, state_after={"price": "400"}
    ).record()
    client.trace("pricing.change_proposed", "Nudge the grinder by 2 %").affecting_object(
        "product", "SKU-GR", state_before={"price": "100"}, state_after={"price": "98"}
    ).record()
    assert Decision.objects.count() == 1

    page.goto("/traces/review/")
    row = page.locator(".review-row", has_text="Cut the espresso machine")
    assert "Needs approval: rule \u2018Large price drops\u2019" in row.inner_text()
    assert page.locator(".review-row", has_text="Nudge the grinder").count() == 0
    context.close()
