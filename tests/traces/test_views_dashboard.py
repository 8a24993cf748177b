"""The dashboard: page vs partial, its figures, a bad period, fixed query counts."""

from __future__ import annotations

from datetime import UTC, timedelta
from uuid import uuid4

import pytest
from django.urls import reverse
from django.utils import timezone

from decisioning.models import Decision
from tests.traces.factories import EventRecordFactory
from traces import TraceBuilder
from traces.counts import event_counts_rebuild
from traces.models import EventRecord
from traces.services import trace_record_many

pytestmark = pytest.mark.django_db

URL = reverse("home")


def test_dashboard_full_page(admin_client):
    """The home page is the dashboard, with a chart that has a text alternative."""
    EventRecordFactory(effective_at=timezone.now(), actor__actor_type="ai_agent")
    response = admin_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert '<svg class="activity-chart"' in html
    assert 'role="img"' in html
    assert "<desc" in html
    assert "Show the numbers as a table" in html
    assert 'class="series series-ai_agent"' in html


def test_dashboard_htmx_partial(admin_client):
    """Changing the period swaps #dashboard only."""
    response = admin_client.get(
        URL, {"period": "7d"}, headers={"HX-Request": "true", "HX-Target": "dashboard"}
    )
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="dashboard"')
    assert "Events per day by actor type" in html


def test_dashboard_counts_failures_high_risk_and_pending(admin_client):
    """The key figures: the period's failures and high-risk decisions, and pending decisions."""
    now = timezone.now()
    EventRecordFactory(effective_at=now, outcome="failure", description="Sync failed")
    EventRecordFactory(effective_at=now - timedelta(days=2), outcome="failure")
    EventRecordFactory(
        effective_at=now, risk_level="critical", has_decision=True, description="Big refund"
    )
    # High risk without a decision (a failed payment, say) is not a high-risk decision.
    EventRecordFactory(effective_at=now, risk_level="high", description="Card declined")
    waiting = EventRecordFactory(requires_approval=True, approval_status="pending")
    Decision.objects.create(target=waiting, decision_type="refund_approval")
    Decision.objects.create(target=waiting, decision_type="refund_approval", outcome="approved")
    response = admin_client.get(URL)
    summary = response.context["summary"]
    assert summary.failure_count == 1
    assert summary.high_risk_count == 1
    assert summary.pending_count == 1
    html = response.content.decode()
    assert "Sync failed" in html
    assert "Big refund" in html
    assert "Card declined" not in html


@pytest.mark.parametrize(("period", "label"), [("7d", "last 7 days"), ("30d", "last 30 days")])
def test_dashboard_cards_follow_the_period_and_say_so(admin_client, period, label):
    """Point 9: every card counts the chosen rolling window and names it; links keep it."""
    now = timezone.now()
    EventRecordFactory(effective_at=now - timedelta(days=2), outcome="failure")
    EventRecordFactory(effective_at=now - timedelta(days=3), risk_level="high", has_decision=True)
    # Just outside the rolling window: 7 x 24 hours plus one before the current hour's end.
    EventRecordFactory(
        effective_at=now - timedelta(days=int(period[:-1]), hours=1), outcome="failure"
    )
    response = admin_client.get(URL, {"period": period})
    summary = response.context["summary"]
    assert summary.failure_count == 1
    assert summary.high_risk_count == 1
    html = response.content.decode()
    assert f"failures, {label}" in html
    assert f"high-risk decisions, {label}" in html
    assert f"Failures, {label}" in html
    assert f"outcome=failure&amp;period={period}" in html
    assert "a rolling window, not from midnight" in html


@pytest.mark.parametrize("period", ["1y", "<script>", "0"])
def test_dashboard_bad_period_is_400(admin_client, period):
    """An unknown period shows an error, not a 500 and not a default silently."""
    response = admin_client.get(URL, {"period": period})
    assert response.status_code == 400
    assert "Choose one of the periods offered" in response.content.decode()


@pytest.mark.parametrize("period", ["24h", "7d", "30d"])
@pytest.mark.parametrize("rows", [1, 20])
def test_dashboard_query_count_is_constant(
    admin_client, django_assert_max_num_queries, rows, period
):
    """The dashboard's queries grow neither with the events nor with the period (9 in all)."""
    now = timezone.now()
    for i in range(rows):
        EventRecordFactory(
            effective_at=now - timedelta(minutes=i, days=i if period == "30d" else 0),
            outcome="failure",
            risk_level="high",
        )
    with django_assert_max_num_queries(9):
        response = admin_client.get(URL, {"period": period})
    assert response.context["summary"].chart.total == rows


def _record(when, actor, outcome="success"):
    builder = TraceBuilder("order.created", "Order placed").at(when).with_outcome(outcome)
    if actor == "ai_agent":
        builder.by_ai("pricing-ai", "Pricing")
    elif actor == "compute":
        builder.by_compute("job-1", "Nightly", service_name="warehouse")
    else:
        builder.by_user("u-1", "Jane")
    return builder.build()


def test_dashboard_periods_count_the_recorded_events(admin_client):
    """Each period counts exactly the events recorded in its buckets, by actor type and outcome."""
    now = timezone.now()
    trace_record_many(
        events=[
            _record(now - timedelta(minutes=5), "user"),
            _record(now - timedelta(days=3), "ai_agent", "failure"),
            _record(now - timedelta(days=20), "compute"),
            _record(now - timedelta(days=40), "user"),
            _record(now + timedelta(days=2), "user"),
        ]
    )
    totals = {}
    for period in ("24h", "7d", "30d"):
        summary = admin_client.get(URL, {"period": period}).context["summary"]
        totals[period] = summary.chart.total
        assert sum(row.count for row in summary.by_outcome) == summary.chart.total
        assert sum(row.count for row in summary.by_actor_type) == summary.chart.total
    assert totals == {"24h": 1, "7d": 2, "30d": 3}
    summary = admin_client.get(URL, {"period": "30d"}).context["summary"]
    assert {row.key: row.count for row in summary.by_actor_type} == {
        "user": 1,
        "ai_agent": 1,
        "compute": 1,
        "system": 0,
        "external": 0,
    }
    assert {row.key: row.count for row in summary.by_outcome if row.count} == {
        "success": 2,
        "failure": 1,
    }


def test_dashboard_buckets_split_at_utc_hours_and_days(admin_client):
    """Day bars are 24 hours ending with the current hour (a microsecond before: the bar before)."""
    now = timezone.now()
    edge = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    edge -= timedelta(days=1)
    trace_record_many(
        events=[
            _record(edge - timedelta(microseconds=1), "user"),
            _record(edge, "user"),
            _record(edge, "ai_agent"),
        ]
    )
    chart = admin_client.get(URL, {"period": "7d"}).context["summary"].chart
    assert [bar.total for bar in chart.bars[-2:]] == [1, 2]


def test_dashboard_shows_events_stored_around_the_services_after_a_rebuild(admin_client):
    """Rows written without the services are counted once the counts are rebuilt."""
    now = timezone.now()
    EventRecord.objects.bulk_create(
        [EventRecord(id=pk, root_id=pk, event_type="x.y", effective_at=now) for pk in [uuid4()]]
    )
    assert admin_client.get(URL).context["summary"].chart.total == 0
    event_counts_rebuild()
    assert admin_client.get(URL).context["summary"].chart.total == 1


def test_dashboard_counts_overdue_pending_decisions(admin_client):
    """Pending decisions past their due time are counted; later, undated or decided ones not."""
    now = timezone.now()
    waiting = EventRecordFactory(requires_approval=True, approval_status="pending")
    for due, outcome in [
        (now - timedelta(minutes=5), "pending"),
        (now - timedelta(days=2), "pending"),
        (now + timedelta(minutes=5), "pending"),
        (None, "pending"),
        (now - timedelta(days=1), "approved"),
        (now - timedelta(days=1), "deferred"),
    ]:
        Decision.objects.create(
            target=waiting, decision_type="refund_approval", due_at=due, outcome=outcome
        )
    response = admin_client.get(URL)
    assert response.context["summary"].overdue_count == 2
    assert '<span class="stat-value">2</span><span class="stat-label">overdue for review' in (
        response.content.decode()
    )
