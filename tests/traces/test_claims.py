"""Claims on queue items and separation of duties, in the UI and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from decisioning.exceptions import SEPARATION_OF_DUTIES
from decisioning.models import Decision
from tests.traces.factories import proposal_record
from traces.models import EventRecord

pytestmark = pytest.mark.django_db

QUEUE = reverse("traces:review_queue")


def _claim(client, decision):
    return client.post(reverse("traces:decision_claim", args=[decision.pk]), {"next": QUEUE})


def test_claim_shows_in_the_queue_and_the_audit_trail(client, make_user):
    """A claim: 'Being reviewed by X', and a decision.claimed event under the proposal."""
    alice = make_user("admin", username="alice")
    event, decision = proposal_record()
    client.force_login(alice)
    assert _claim(client, decision).status_code == 302
    decision.refresh_from_db()
    assert decision.claimed_by == alice
    claimed = EventRecord.objects.get(event_type="decision.claimed")
    assert (claimed.parent_id, claimed.actor.actor_id) == (event.pk, "alice")
    bob = make_user("admin", username="bob")
    client.force_login(bob)
    assert "Being reviewed by alice since" in client.get(QUEUE).content.decode()


def test_others_act_only_after_confirming(client, make_user):
    alice = make_user("admin", username="alice")
    _, decision = proposal_record()
    client.force_login(alice)
    _claim(client, decision)
    client.force_login(make_user("admin", username="bob"))
    url = reverse("traces:decision_review", args=[decision.pk])
    form = {"action": "approve", "request_token": "t" * 32, "next": QUEUE}
    refused = client.post(url, form, headers={"HX-Request": "true"})
    assert refused.status_code == 409
    assert "Being reviewed by alice" in refused.content.decode()
    assert Decision.objects.get(pk=decision.pk).outcome == "pending"
    done = client.post(url, {**form, "confirm_claim": "1"})
    assert done.status_code == 302
    assert Decision.objects.get(pk=decision.pk).outcome == "approved"


def test_an_expired_claim_does_not_block(client, make_user, settings):
    alice = make_user("admin", username="alice")
    _, decision = proposal_record()
    Decision.objects.filter(pk=decision.pk).update(
        claimed_by=alice, claimed_at=timezone.now() - timedelta(minutes=16)
    )
    client.force_login(make_user("admin", username="bob"))
    url = reverse("traces:decision_review", args=[decision.pk])
    response = client.post(url, {"action": "approve", "request_token": "u" * 32})
    assert response.status_code == 302
    assert Decision.objects.get(pk=decision.pk).outcome == "approved"


def test_claiming_a_final_decision_is_refused(client, make_user):
    _, decision = proposal_record()
    Decision.objects.filter(pk=decision.pk).update(outcome="approved")
    client.force_login(make_user("admin"))
    assert _claim(client, decision).status_code == 403


@pytest.mark.parametrize("decision_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_claim_unknown_decision(client, make_user, decision_id):
    client.force_login(make_user("admin"))
    response = client.post(f"/traces/decisions/{decision_id}/claim/")
    assert response.status_code == 404


def test_separation_of_duties_in_the_ui(client, make_user):
    """The proposer cannot approve their own proposal: 403 with the clear message."""
    sam = make_user("admin", username="sam")
    _, decision = proposal_record(actor_type="user", actor_id="sam")
    assert decision.proposed_by == "sam"
    client.force_login(sam)
    url = reverse("traces:decision_review", args=[decision.pk])
    response = client.post(
        url, {"action": "approve", "request_token": "v" * 32}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 403
    assert "someone else must approve it" in response.content.decode()
    assert Decision.objects.get(pk=decision.pk).outcome == "pending"


def test_separation_of_duties_can_be_switched_off(client, make_user, settings):
    settings.DECISIONING_SEPARATION_OF_DUTIES = False
    sam = make_user("admin", username="sam")
    _, decision = proposal_record(actor_type="user", actor_id="sam")
    client.force_login(sam)
    url = reverse("traces:decision_review", args=[decision.pk])
    assert client.post(url, {"action": "approve", "request_token": "w" * 32}).status_code == 302


def test_separation_of_duties_in_the_api(client, make_user):
    from traces.api.models import Scope
    from traces.api.tokens import service_token_create

    sam = make_user("superuser", username="sam")
    _, decision = proposal_record(actor_type="user", actor_id="sam")
    token = service_token_create(owner=sam, name="t", scopes=[s.value for s in Scope]).text
    response = client.post(
        f"/api/v1/decisions/{decision.pk}/actions",
        {"action": "approve"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == SEPARATION_OF_DUTIES
    # Rejecting one's own proposal is allowed: only approval needs a second person.
    response = client.post(
        f"/api/v1/decisions/{decision.pk}/actions",
        {"action": "reject", "reason": "withdrawn"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
