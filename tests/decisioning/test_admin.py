"""The read-only admin for Decision and IdempotencyKey, as a superuser and as staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from config.middleware import ADMIN_SEARCH_MAX_LENGTH, ADMIN_SEARCH_MAX_WORDS
from decisioning.models import Decision, DecisionOutcome, IdempotencyKey, IdempotencyStatus
from tests.testapp.models import Order

pytestmark = pytest.mark.django_db

DECISIONS = reverse("admin:decisioning_decision_changelist")
KEYS = reverse("admin:decisioning_idempotencykey_changelist")
HOSTILE = [
    "'; DROP TABLE decisioning_decision; --",
    "%",
    "_",
    "\\",
    '<script>alert("x")</script>',
    "a\x00b",
    "x" * 5000,
    "☃ 🚀",
]


@pytest.fixture
def superuser(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(user)
    return user


@pytest.fixture
def decisions(superuser):
    order = Order.objects.create(number="A-1")
    now = timezone.now()
    live = Decision.objects.create(
        target=superuser,
        decision_type="credit_approval",
        outcome=DecisionOutcome.APPROVED,
        reason="Credit score meets threshold",
        decided_by=superuser,
        effective_at=now - timedelta(days=1),
        context={"credit_score": 720, "note": "<b>bold</b>"},
        evidence={"report_id": "CR-123"},
    )
    unregistered = Decision.objects.create(
        target=order, decision_type="refund", reason="Damaged on arrival"
    )
    deleted = Decision.objects.create(target=order, decision_type="fraud_hold")
    deleted.delete()
    return {"live": live, "unregistered": unregistered, "deleted": deleted}


def _rows(response) -> int:
    return response.context["cl"].result_count


def test_decision_changelist_lists_live_rows_with_target_links(client, decisions, superuser):
    """The list shows live decisions; a registered target links to its admin page."""
    response = client.get(DECISIONS)
    assert response.status_code == 200
    assert _rows(response) == 2
    user_url = reverse("admin:auth_user_change", args=[superuser.pk])
    assert f'<a href="{user_url}">root</a>' in response.content.decode()
    assert "Order A-1" in response.content.decode()


@pytest.mark.parametrize(("value", "expected"), [(None, 2), ("deleted", 1), ("all", 3)])
def test_decision_deleted_filter_for_superusers(client, decisions, value, expected):
    """Superusers filter live (default), deleted or all rows."""
    response = client.get(DECISIONS, {"deleted": value} if value else {})
    assert response.status_code == 200
    assert _rows(response) == expected


def test_decision_staff_without_superuser_sees_live_rows_only(client, decisions):
    """Staff with view permission see live rows and no deleted filter."""
    staff = get_user_model().objects.create_user("staff", password="pw-staff-123", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_decision"))
    client.force_login(staff)
    response = client.get(DECISIONS)
    assert response.status_code == 200
    assert _rows(response) == 2
    assert "?deleted=all" not in response.content.decode()
    assert client.get(DECISIONS, {"deleted": "all"}).status_code == 302


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"outcome__exact": "approved"}, 1),
        ({"decision_type__exact": "refund"}, 1),
        ({"q": "threshold"}, 1),
        ({"q": "credit_approval"}, 1),
        ({"q": "nothing-matches"}, 0),
    ],
)
def test_decision_filters_and_search(client, decisions, params, expected):
    """Filters by outcome and type; search covers type, reason and target id."""
    response = client.get(DECISIONS, params)
    assert response.status_code == 200
    assert _rows(response) == expected


def test_decision_search_by_target_id(client, decisions):
    """Search finds a decision by its target's id."""
    response = client.get(DECISIONS, {"q": decisions["unregistered"].target_id})
    assert decisions["unregistered"] in response.context["cl"].result_list


def _refused_search(query: str) -> bool:
    """What ``config.middleware.AdminInputGuardMiddleware`` answers with a 400."""
    return (
        "\x00" in query
        or len(query) > ADMIN_SEARCH_MAX_LENGTH
        or len(query.split()) > ADMIN_SEARCH_MAX_WORDS
    )


@pytest.mark.parametrize("query", HOSTILE)
def test_decision_hostile_search_is_not_an_error(client, decisions, query):
    """Hostile search text never gives a 500 and is escaped in the page (or refused: NUL, huge)."""
    response = client.get(DECISIONS, {"q": query})
    assert response.status_code == (400 if _refused_search(query) else 200)
    assert "<script>alert" not in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"effective_at__year": "abc"},
        {"effective_at__month": "13", "effective_at__year": "2030"},
        {"outcome__exact": "'; --"},
        {"deleted": "<script>"},
        {"o": "99"},
        {"p": "999999"},
        {"target_content_type__id__exact": "abc"},
    ],
)
def test_decision_hostile_parameters_are_not_an_error(client, decisions, params):
    """Bad filter, date, ordering and page parameters never give a 500 (400: refused with why)."""
    assert client.get(DECISIONS, params).status_code in (200, 302, 400)


def test_decision_date_hierarchy(client, decisions):
    """The date hierarchy narrows by effective_at."""
    when = decisions["live"].effective_at
    response = client.get(
        DECISIONS,
        {
            "effective_at__year": when.year,
            "effective_at__month": when.month,
            "effective_at__day": when.day,
        },
    )
    assert response.status_code == 200
    assert decisions["live"] in response.context["cl"].result_list


def test_decision_change_page_is_read_only_and_shows_escaped_json(client, decisions):
    """The change page renders read-only, with pretty, escaped JSON and the target link."""
    decision = decisions["live"]
    response = client.get(reverse("admin:decisioning_decision_change", args=[decision.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<pre class="decisioning-json">' in body
    assert "&quot;credit_score&quot;: 720" in body
    assert "&lt;b&gt;bold&lt;/b&gt;" in body
    assert "<b>bold</b>" not in body
    assert 'name="_save"' not in body


def test_decision_change_page_of_deleted_row_for_superuser(client, decisions):
    """A superuser can open a soft-deleted decision."""
    url = reverse("admin:decisioning_decision_change", args=[decisions["deleted"].pk])
    assert client.get(url).status_code == 200


def test_decision_target_missing_or_malformed_is_text(client, superuser):
    """A target row that is gone, or an id that cannot be a key, shows as text, no 500."""
    content_type = ContentType.objects.get_for_model(Order)
    Decision.objects.create(target_content_type=content_type, target_id="abc", decision_type="t")
    Decision.objects.create(target_content_type=content_type, target_id="99999", decision_type="t")
    stale = ContentType.objects.create(app_label="gone", model="vanished")
    Decision.objects.create(target_content_type=stale, target_id="1", decision_type="t")
    response = client.get(DECISIONS)
    assert response.status_code == 200
    assert response.content.decode().count("(not found)") == 3


def test_decision_changelist_query_count_is_flat(client, superuser, django_assert_max_num_queries):
    """The list costs the same number of queries for 1 decision as for 20."""
    orders = [Order.objects.create(number=str(i)) for i in range(20)]
    Decision.objects.create(target=orders[0], decision_type="t")
    client.get(DECISIONS)
    with django_assert_max_num_queries(12) as one:
        client.get(DECISIONS)
    for order in orders[1:]:
        Decision.objects.create(target=order, decision_type="t", decided_by=superuser)
    Decision.objects.create(target=superuser, decision_type="t")
    with django_assert_max_num_queries(len(one.captured_queries) + 1):
        assert _rows(client.get(DECISIONS)) == 21


def test_decision_admin_adds_changes_and_deletes_nothing(client, decisions):
    """No add page, and POSTs to the change page do not change the row."""
    decision = decisions["live"]
    assert client.get(reverse("admin:decisioning_decision_add")).status_code == 403
    url = reverse("admin:decisioning_decision_change", args=[decision.pk])
    client.post(url, {"outcome": "rejected"})
    assert Decision.objects.get(pk=decision.pk).outcome == DecisionOutcome.APPROVED
    delete_url = reverse("admin:decisioning_decision_delete", args=[decision.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Decision.objects.filter(pk=decision.pk).exists()


@pytest.fixture
def keys(superuser):
    now = timezone.now()
    done = IdempotencyStatus.COMPLETED
    return [
        IdempotencyKey.objects.create(
            key="orders:1", status=done, completed_at=now, expires_at=now - timedelta(hours=1)
        ),
        IdempotencyKey.objects.create(
            key="orders:2",
            status=done,
            completed_at=now,
            expires_at=now + timedelta(hours=1),
            result_data={"value": {"html": "<i>x</i>"}},
        ),
        IdempotencyKey.objects.create(key="refunds:1", status=IdempotencyStatus.FAILED),
        IdempotencyKey.objects.create(key="refunds:2"),
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, 4),
        ({"status__exact": "failed"}, 1),
        ({"expiry": "expired"}, 1),
        ({"expiry": "live"}, 1),
        ({"expiry": "never"}, 2),
        ({"q": "orders"}, 2),
        ({"q": "refunds:2"}, 1),
    ],
)
def test_idempotency_key_changelist_filters_and_search(client, keys, params, expected):
    """Keys list with status and expiry filters and search by key."""
    response = client.get(KEYS, params)
    assert response.status_code == 200
    assert _rows(response) == expected


@pytest.mark.parametrize("query", HOSTILE)
def test_idempotency_key_hostile_search_is_not_an_error(client, keys, query):
    """Hostile search text on keys never gives a 500 (400: NUL or a huge search, refused)."""
    assert client.get(KEYS, {"q": query}).status_code == (400 if _refused_search(query) else 200)


def test_idempotency_key_change_page_is_read_only(client, keys):
    """The key page renders its result escaped and offers no save or delete."""
    response = client.get(reverse("admin:decisioning_idempotencykey_change", args=[keys[1].pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "&lt;i&gt;x&lt;/i&gt;" in body
    assert 'name="_save"' not in body
    assert client.get(reverse("admin:decisioning_idempotencykey_add")).status_code == 403
