"""The dashboard: page vs partial, its figures, a bad period, fixed query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from decisioning.models import Decision
from tests.traces.factories import EventRecordFactory

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
    """The key figures count the last 24 hours' failures and high risks, and pending decisions."""
    now = timezone.now()
    EventRecordFactory(effective_at=now, outcome="failure", description="Sync failed")
    EventRecordFactory(effective_at=now - timedelta(days=2), outcome="failure")
    EventRecordFactory(effective_at=now, risk_level="critical", description="Big refund")
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


@pytest.mark.parametrize("period", ["1y", "<script>", "0"])
def test_dashboard_bad_period_is_400(admin_client, period):
    """An unknown period shows an error, not a 500 and not a default silently."""
    response = admin_client.get(URL, {"period": period})
    assert response.status_code == 400
    assert "Choose one of the periods offered" in response.content.decode()


@pytest.mark.parametrize("rows", [1, 20])
def test_dashboard_query_count_is_constant(admin_client, django_assert_max_num_queries, rows):
    """The dashboard's queries do not grow with the number of events."""
    now = timezone.now()
    for i in range(rows):
        EventRecordFactory(
            effective_at=now - timedelta(minutes=i),
            outcome="failure",
            risk_level="high",
        )
    with django_assert_max_num_queries(9):
        response = admin_client.get(URL)
    assert response.context["summary"].failure_count == rows
