"""The approval gate: an AI agent proposes a price change, waits for a person, then acts.

Run from the project root after ``python manage.py migrate``::

    python examples/approval_gate.py --timeout 600

and approve (or reject) the proposal in the review queue (``make run``,
/review/) or over the API; or let a simulated reviewer answer after two
seconds::

    python examples/approval_gate.py --simulate approve

Against a running server, through the SDK (no Django needed; the simulated
reviewer then uses the token, which needs the decisions:decide scope)::

    DECISION_TRACE_URL=http://127.0.0.1:8000 DECISION_TRACE_TOKEN=dt_... \\
        python examples/approval_gate.py --simulate reject

The agent applies the change only when it was approved, and records the
applied change as a child of the approval (the reviewer's audit event), so
the chain reads: proposal -> approval -> change applied.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid

from _setup import setup

setup()

from decision_trace import DecisionTraceClient  # noqa: E402


def _simulated_reviewer(decision_id: str, verdict: str) -> None:
    """A person deciding two seconds later, in another connection."""
    time.sleep(2)
    reason = "Within the weekly promotion budget" if verdict == "approve" else "Too deep a cut"
    if os.environ.get("DECISION_TRACE_URL"):
        import httpx

        httpx.post(
            f"{os.environ['DECISION_TRACE_URL'].rstrip('/')}/api/v1/decisions/{decision_id}/actions",
            json={"action": verdict, "reason": reason},
            headers={"Authorization": f"Bearer {os.environ.get('DECISION_TRACE_TOKEN', '')}"},
            timeout=10,
        ).raise_for_status()
        return
    from django.contrib.auth import get_user_model
    from django.db import connection

    from decisioning.models import Decision
    from decisioning.review import decision_transition, review_groups_ensure

    try:
        groups = review_groups_ensure()
        reviewer, _ = get_user_model().objects.get_or_create(username="example-reviewer")
        reviewer.groups.add(groups["Admins"])
        reviewer = get_user_model().objects.get(pk=reviewer.pk)
        decision_transition(
            decision=Decision.objects.get(pk=decision_id),
            action=verdict,
            user=reviewer,
            reason=reason,
        )
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait")
    parser.add_argument("--simulate", choices=["approve", "reject"], help="a reviewer answers")
    options = parser.parse_args()

    client = DecisionTraceClient()
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    before, after = "49.99", "39.99"
    proposal = (
        client.trace("pricing.change_proposed", f"Lower the price of {sku} to {after}")
        .by_ai("pricing-ai", "Dynamic Pricing", model="gpt-4", confidence=0.74)
        .affecting_object(
            "product", sku, state_before={"price": before}, state_after={"price": after}
        )
        .because("Competitor dropped to 38.50; stock is 3x the weekly sales", risk_level="high")
    )
    decision_id = client.submit_for_approval(proposal)
    print(f"Proposed: {sku} {before} -> {after}; waiting for decision {decision_id}")
    if options.simulate:
        threading.Thread(
            target=_simulated_reviewer, args=(decision_id, options.simulate), daemon=True
        ).start()

    result = client.wait_for_decision(decision_id, timeout=options.timeout)
    print(f"Decision: {result.status} by {result.decided_by or '-'}: {result.reason or '-'}")
    if not result.approved:
        print("Not applied.")
        return
    chain = client.get_chain(proposal.event_id)
    approval = next(event for event in chain if event.event_type == "decision.approved")
    applied = (
        client.trace("pricing.price_changed", f"Price of {sku} changed to {after}")
        .by_ai("pricing-ai", "Dynamic Pricing", model="gpt-4")
        .affecting_object(
            "product", sku, state_before={"price": before}, state_after={"price": after}
        )
        .child_of(approval.id)
        .record()
    )
    print(f"Applied as event {applied}, child of the approval {approval.id}")
    for depth, event in client.get_chain(applied).walk():
        print(f"  {'  ' * depth}{event.event_type}: {event.description}")


if __name__ == "__main__":
    main()
