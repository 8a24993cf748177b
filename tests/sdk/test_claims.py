"""``client.claim_decision`` / ``client.release_decision`` over HTTP against a live server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from decision_trace import DecisionTraceClient as SdkClient
from decision_trace.exceptions import (
    ApiError,
    ConfigurationError,
    DecisionClaimedError,
    TraceValidationError,
)
from decisioning.models import Decision
from decisioning.review import decision_transition
from traces import DecisionTraceClient
from traces.api.models import Scope
from traces.api.tokens import service_token_create

pytestmark = pytest.mark.django_db(transaction=True)

SCOPES = [scope.value for scope in Scope]


@pytest.fixture
def reviewers(
    live_server: Any, django_user_model: Any, make_user: Any
) -> Iterator[tuple[Any, ...]]:
    """Two SDK clients of two reviewers on the live server, and the first one's user."""
    ann = django_user_model.objects.create_superuser("ann", "ann@example.com", "pw")
    bea = make_user("admin", username="bea")
    first = SdkClient(
        live_server.url, service_token_create(owner=ann, name="a", scopes=SCOPES).text
    )
    second = SdkClient(
        live_server.url, service_token_create(owner=bea, name="b", scopes=SCOPES).text
    )
    yield first, second, ann
    first.close()
    second.close()


def test_claim_release_and_conflict(reviewers):
    """Claim, see it, be refused by another reviewer with who/since, force, release."""
    ann, bea, _ = reviewers
    decision_id = ann.submit_for_approval(ann.trace("refund.requested", "big refund"))
    claimed = ann.claim_decision(decision_id)
    assert claimed.claim is not None
    assert claimed.claim.by == "ann"
    since = datetime.fromisoformat(claimed.claim.since)
    assert datetime.fromisoformat(claimed.claim.expires_at) - since == timedelta(minutes=15)
    assert ann.wait_for_decision(decision_id, timeout=0).claim == claimed.claim
    with pytest.raises(DecisionClaimedError) as refused:
        bea.claim_decision(decision_id)
    assert (refused.value.by, refused.value.since) == ("ann", claimed.claim.since)
    assert refused.value.status == 409
    assert "Being reviewed by ann" in str(refused.value)
    with pytest.raises(DecisionClaimedError):
        bea.release_decision(decision_id)
    taken = bea.claim_decision(decision_id, force=True)
    assert taken.claim is not None
    assert taken.claim.by == "bea"
    assert bea.release_decision(decision_id).claim is None
    assert Decision.objects.get(pk=decision_id).claimed_by is None


def test_claim_errors(reviewers):
    """Unknown, malformed and final decisions, and a non-bool force: clear exceptions."""
    ann, _, user = reviewers
    decision_id = ann.submit_for_approval(ann.trace("refund.requested", "x"))
    with pytest.raises(ApiError) as unknown:
        ann.claim_decision("0d6c5e43-4a9e-4bb0-9d5a-1f6f9f2d1a01")
    assert unknown.value.status == 404
    with pytest.raises(ApiError):
        ann.release_decision("0d6c5e43-4a9e-4bb0-9d5a-1f6f9f2d1a01")
    for bad in ("not-an-id", "\x00", "x" * 500):
        with pytest.raises(TraceValidationError):
            ann.claim_decision(bad)
    with pytest.raises(TraceValidationError):
        ann.claim_decision(decision_id, force="yes")  # type: ignore[arg-type]
    decision_transition(
        decision=Decision.objects.get(pk=decision_id), action="approve", user=user, reason="ok"
    )
    with pytest.raises(TraceValidationError, match="final"):
        ann.claim_decision(decision_id)


def test_in_process_client_cannot_claim():
    """Inside the project the client has no reviewer: a ConfigurationError that says so."""
    client = DecisionTraceClient()
    decision_id = client.submit_for_approval(client.trace("refund.requested", "x"))
    with pytest.raises(ConfigurationError, match="HTTP API"):
        client.claim_decision(decision_id)
