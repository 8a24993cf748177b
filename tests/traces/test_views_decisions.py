"""The decisions list: page vs partial, by target, bad input, query counts."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from decisioning.models import Decision
from tests.traces.factories import EventRecordFactory
from traces.models import EventRecord

pytestmark = pytest.mark.django_db

URL = reverse("traces:decision_list")


def _decision(event, **fields) -> Decision:
    return Decision.objects.create(
        target_content_type=ContentType.objects.get_for_model(EventRecord),
        target_id=str(event.pk),
        decision_type=fields.pop("decision_type", "refund_approval"),
        **fields,
    )


def test_decision_list_full_page(admin_client, admin_user):
    """Each decision shows its outcome, who decided, why, and the event it is about."""
    event = EventRecordFactory(description="Refund of 99.99")
    _decision(event, outcome="approved", decided_by=admin_user, reason="Photo shows the defect")
    html = admin_client.get(URL).content.decode()
    assert "<html" in html
    assert "Approved" in html
    assert "Photo shows the defect" in html
    assert "Refund of 99.99" in html
    assert admin_user.get_username() in html


def test_decision_list_htmx_partial(admin_client):
    """Filtering swaps #decisions only."""
    response = admin_client.get(URL, headers={"HX-Request": "true", "HX-Target": "decisions"})
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="decisions"')


def test_decision_list_about_one_target_is_chronological(admin_client):
    """About one event, decisions read oldest first; others are left out."""
    event = EventRecordFactory()
    now = timezone.now()
    _decision(event, reason="first", effective_at=now - timedelta(hours=2), outcome="deferred")
    _decision(event, reason="second", effective_at=now - timedelta(hours=1), outcome="escalated")
    _decision(EventRecordFactory(), reason="unrelated")
    response = admin_client.get(URL, {"target": str(event.pk)})
    reasons = [decision.reason for decision in response.context["page"].items]
    assert reasons == ["first", "second"]


@pytest.mark.parametrize(
    "params", [{"target": "not-a-uuid"}, {"outcome": "maybe"}, {"decision_type": "d" * 101}]
)
def test_decision_list_bad_input_is_400(admin_client, params):
    """Bad filters show the errors, not a list."""
    response = admin_client.get(URL, params)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Some filters need fixing" in html
    (field,) = params
    assert f'<a href="#id_{field}">' in html  # the error leads to its field


def test_decision_list_forged_cursor_is_400(admin_client):
    """A forged cursor is a 400."""
    assert admin_client.get(URL, {"cursor": "nope"}).status_code == 400


def test_decision_list_unknown_target_is_empty(admin_client):
    """A well-formed id nobody decided about lists nothing."""
    response = admin_client.get(URL, {"target": str(uuid.uuid4())})
    assert response.status_code == 200
    assert "No decisions" in response.content.decode()


@pytest.mark.parametrize("rows", [1, 20])
def test_decision_list_query_count_is_constant(
    admin_client, admin_user, django_assert_max_num_queries, rows
):
    """Decided-by and the target event (with its actor) are joined or prefetched."""
    for _ in range(rows):
        _decision(EventRecordFactory(), decided_by=admin_user, outcome="approved")
    with django_assert_max_num_queries(7):
        response = admin_client.get(URL)
    assert len(response.context["page"].items) == rows
