"""The hostile run of issue 20, kept as a test: every URL, every parameter, hostile values.

Anonymous, operator (signed in, no review rights) and admin sessions send
each page's parameters with each value of ``VALUES``, each path with hostile
ids, and the review POST with hostile fields; no answer may be a 5xx. The
totals (requests sent, 5xx found) are printed for docs/security.md.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from decisioning.models import Decision
from tests.traces.factories import EventRecordFactory, TrackedObjectRecordFactory

pytestmark = pytest.mark.django_db

# Already URL-encoded: control characters, NUL, a lone surrogate and broken UTF-8,
# huge text, edge times and offsets, forged cursors, numbers out of range, markup.
VALUES = [
    "%0A",
    "a%0D%0Ab",
    "%09",
    "%00",
    "a%00b",
    "%1F%7F",
    "%ED%A0%80",
    "%FF%FE",
    "x" * 10_000,
    "0001-01-01T00:00:00%2B05:00",
    "9999-12-31T23:59:59-05:00",
    "2024-05-01T00:00:00%2B16:00",
    "2024-05-01T00:00:00%2B99:99",
    "MDAwMS0wMS0wMVQwMDowMDowMCswNTowMHww",
    "!!!",
    "-1",
    "9" * 40,
    quote("<script>alert(1)</script>"),
    quote("' OR 1=1 --"),
    "",
]
PAGES = {
    "/": ["period"],
    "/traces/": [
        "q",
        "actor_type",
        "actor",
        "event_type",
        "object_type",
        "object_id",
        "outcome",
        "risk",
        "approval",
        "tag",
        "period",
        "since",
        "until",
        "cursor",
    ],
    "/traces/decisions/": ["target", "outcome", "decision_type", "cursor"],
    "/traces/review/": ["tab", "decision_type", "risk", "actor_type", "age", "cursor"],
    "/traces/objects/order/ord-1/": ["cursor"],
    "/traces/actors/user/u-1/": ["period"],
    "/admin/traces/eventrecord/": ["q", "o", "p", "effective_at__year", "_to_field"],
    "/admin/decisioning/decision/": ["q", "o", "p", "effective_at__gte", "_to_field"],
}
PATHS = [
    "/traces/actors/user/{}/",
    "/traces/actors/{}/u-1/",
    "/traces/objects/order/{}/",
    "/traces/objects/{}/ord-1/",
    "/traces/events/{}/",
    "/traces/decisions/{}/",
    "/admin/traces/eventrecord/{}/change/",
    "/admin/r/1/{}/",
]
REVIEW_FIELDS = ["action", "reason", "request_token", "seen_outcome", "seen_decided_at", "next"]


def _clients(admin_user) -> dict[str, Client]:
    operator = get_user_model().objects.create_user("operator-h", password="x")
    clients = {"anonymous": Client(raise_request_exception=False)}
    for role, user in (("operator", operator), ("admin", admin_user)):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        clients[role] = client
    return clients


def test_hostile_run_over_every_url_gives_no_5xx(admin_user, capsys):
    """Every page x parameter x hostile value, hostile paths and review posts: no 5xx."""
    actor_event = EventRecordFactory(actor__actor_id="u-1", requires_approval=True)
    TrackedObjectRecordFactory(event=actor_event, object_id="ord-1")
    decision = Decision.objects.create(target=actor_event, decision_type="refund_approval")
    sent, failures = 0, []

    def get(client: Client, role: str, url: str) -> None:
        nonlocal sent
        sent += 1
        status = client.get(url).status_code
        if status >= 500:
            failures.append((role, url[:120], status))

    for role, client in _clients(admin_user).items():
        for page, names in PAGES.items():
            for name in names:
                for value in VALUES:
                    get(client, role, f"{page}?{name}={value}")
        for pattern in PATHS:
            for value in VALUES:
                if value:
                    get(client, role, pattern.format(value))
        review = f"/traces/decisions/{decision.pk}/review/"
        for name in REVIEW_FIELDS:
            for value in VALUES:
                sent += 1
                body = {
                    "action": "approve",
                    "request_token": uuid.uuid4().hex,
                    name: value.replace("%00", "\x00").replace("%0A", "\n"),
                }
                status = client.post(review, body).status_code
                if status >= 500:
                    failures.append((role, f"POST review {name}={value[:40]}", status))
    with capsys.disabled():
        print(f"\nhostile run on {connection.vendor}: {sent} requests, {len(failures)} 5xx")
    assert failures == []
