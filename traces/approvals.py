"""The approval gate's wait: re-read a decision until it is final or the time is up.

Why polling and not PostgreSQL's LISTEN/NOTIFY: the same code runs on SQLite
(which has no notifications) and on PostgreSQL; a read of one row by its
primary key every 0.25 s costs far less than a request, holds no lock and no
transaction open between reads, and sees a decision taken by any process or
connection within 0.25 s. (LISTEN would also pin one PostgreSQL connection
per waiter for the whole wait.)
"""

from __future__ import annotations

import time
import uuid

from django.db import OperationalError

from decisioning.models import Decision, DecisionOutcome
from decisioning.transitions import is_final

__all__ = ["MAX_WAIT_SECONDS", "WAIT_POLL_SECONDS", "decision_wait"]

MAX_WAIT_SECONDS = 60
WAIT_POLL_SECONDS = 0.25


def decision_wait(
    decision_id: uuid.UUID | str, *, seconds: float, using: str | None = None
) -> str | None:
    """Wait up to ``seconds`` for the decision to be approved or rejected; returns its outcome.

    Returns at once when it already is, and ``None`` when no live decision has the id.
    """
    deadline = time.monotonic() + max(0.0, min(float(seconds), MAX_WAIT_SECONDS))
    rows = (
        Decision.objects.db_manager(using).filter(pk=decision_id).values_list("outcome", flat=True)
    )
    outcome: str | None = DecisionOutcome.PENDING.value
    while True:
        try:
            outcome = rows.first()
        except OperationalError as exc:
            # SQLite without WAL (an in-memory shared cache) refuses a read while
            # another connection writes the table: that is "not decided yet".
            if "locked" not in str(exc):
                raise
        left = deadline - time.monotonic()
        if outcome is None or is_final(outcome) or left <= 0:
            return outcome
        time.sleep(min(WAIT_POLL_SECONDS, left))
