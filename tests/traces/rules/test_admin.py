"""The review rule admin: valid rules save, invalid ones are form errors, never a 500."""

from __future__ import annotations

import json

import pytest

from traces.rules.models import ReviewRule

pytestmark = pytest.mark.django_db

URL = "/admin/traces_rules/reviewrule/add/"


def _form(**changes):
    form = {
        "name": "Big refunds",
        "enabled": "on",
        "order": "5",
        "condition": json.dumps(
            {
                "event_type": "order.refunded",
                "values": [{"field": "data.refund_amount", "op": "gt", "value": 500}],
            }
        ),
        "action": "require_approval",
        "sample_percent": "100",
        "decision_type": "",
        "deciding_group": "",
        "due_in_minutes": "60",
    }
    form.update(changes)
    return form


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("superuser"))
    return client


def test_admin_saves_a_valid_rule(staff_client):
    response = staff_client.post(URL, _form())
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = ReviewRule.objects.get(name="Big refunds")
    assert rule.condition["values"][0]["value"] == 500
    assert rule.due_in_minutes == 60


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"condition": '{"risk_at_least": "apocalyptic"}'}, "risk_at_least"),
        ({"condition": "{not json"}, "JSON"),
        ({"condition": '["a"]'}, "JSON object"),
        ({"condition": '{"__class__": 1}'}, "Unknown condition"),
        ({"condition": '{"event_type": "\\u0000"}'}, "event_type"),
        ({"condition": '{"event_type": "\\ud800"}'}, "event_type"),
        ({"condition": "1" * 5000}, "JSON object"),
        ({"name": "a\x00b"}, "Null characters"),
        ({"name": ""}, "required"),
        ({"name": "x" * 101}, "at most 100"),
        ({"sample_percent": "0"}, "greater than or equal to 1"),
        ({"sample_percent": "101"}, "less than or equal to 100"),
        ({"due_in_minutes": "-5"}, "greater than or equal to"),
        ({"due_in_minutes": "99999999999999999999"}, "less than or equal to"),
        ({"order": "1e400"}, "whole number"),
        ({"action": "execute"}, "valid choice"),
    ],
)
def test_admin_refuses_bad_rules(staff_client, changes, field):
    """Wrong, huge and hostile input: the form with an error (or the hostile-input 400)."""
    before = ReviewRule.objects.count()
    response = staff_client.post(URL, _form(**changes))
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert field in response.content.decode()
    assert ReviewRule.objects.count() == before
