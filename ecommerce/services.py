"""Writes for the demo store: load it (``demo_store_seed``) and remove it (``demo_store_reset``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import connection, transaction

from decisioning.review import decision_transition, review_groups_ensure
from ecommerce.demo import DEMO_SOURCE, DEMO_STAFF, DemoReview, DemoStore
from ecommerce.exceptions import DEMO_EXISTS, DemoStoreExistsError
from ecommerce.selectors import demo_event_count
from traces.selectors import event_decisions, root_event_ids
from traces.services import trace_delete, trace_record_many

__all__ = ["DemoSummary", "demo_staff_ensure", "demo_store_reset", "demo_store_seed"]

# Events per trace_record_many() call: large enough for set-based inserts to pay off.
BATCH_SIZE = 5_000
# Roots per trace_delete() call: keeps each statement's id list well under the
# databases' parameter limits (SQLite 32,766; PostgreSQL 65,535).
_DELETE_ROOTS = 500
# Key of the PostgreSQL advisory lock that lets one demo load run at a time.
_DEMO_LOCK = 0x44454D4F  # "DEMO"


@dataclass(frozen=True)
class DemoSummary:
    """What ``demo_store_seed`` stored."""

    events: int
    orders: int
    removed: int
    counts: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)


def demo_staff_ensure() -> dict[str, AbstractUser]:
    """The named reviewers of the demo (``DEMO_STAFF``), created if missing, in their groups.

    They get no usable password: they appear in the review history and
    cannot log in. Returns the users by username.
    """
    groups = review_groups_ensure()
    user_model = get_user_model()
    users: dict[str, AbstractUser] = {}
    for staff in DEMO_STAFF:
        user, created = user_model.objects.get_or_create(
            username=staff.username,
            defaults={
                "first_name": staff.first_name,
                "last_name": staff.last_name,
                "email": f"{staff.username}@shop.example",
                "is_staff": True,
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        group: Group = groups[staff.group]
        user.groups.add(group)
        users[staff.username] = user
    return users


@transaction.atomic
def demo_store_seed(
    *,
    seed: int,
    days: int,
    scale: float,
    now: datetime,
    reset: bool = False,
    progress: Callable[[float, int], None] | None = None,
) -> DemoSummary:
    """Load the demo store into the default database, in one transaction.

    The events go in batches through ``traces.services.trace_record_many``;
    then the named admins (``DEMO_STAFF``) decide part of the pending
    decisions through ``decisioning.review.decision_transition``, at the
    simulated times, so the review history is real.

    Args:
        seed, days, scale, now: as ``DemoStore`` takes them.
        reset: remove a demo store loaded earlier first (``demo_store_reset``).
        progress: called after each batch with (fraction of the period done,
            events stored so far).

    Returns:
        A ``DemoSummary``.

    Raises:
        DemoStoreOptionError: an option is out of range.
        DemoStoreExistsError: the demo store is already loaded and ``reset``
            is false.
        Nothing is written when anything is raised (or the run is interrupted).
    """
    store = DemoStore(seed=seed, days=days, scale=scale, now=now)
    _demo_lock()
    removed = demo_store_reset() if reset else 0
    existing = demo_event_count()
    if existing:
        raise DemoStoreExistsError(DEMO_EXISTS.format(events=existing))
    users = demo_staff_ensure()
    stored = 0
    for batch, done in store.batches(BATCH_SIZE):
        trace_record_many(events=batch)
        stored += len(batch)
        if progress is not None:
            progress(done, stored)
    _reviews_apply(store.reviews, users)
    return DemoSummary(
        events=stored,
        orders=store.orders_placed,
        removed=removed,
        counts=dict(sorted(store.counts.items(), key=lambda item: -item[1])),
        decisions=_decision_counts(store.approvals, store.reviews),
    )


def _demo_lock() -> None:
    """Wait for any other demo load or reset to commit, so the next check sees its result.

    PostgreSQL: a transaction-level advisory lock. SQLite needs none: its
    transactions take the write lock when they begin (``transaction_mode``
    IMMEDIATE in the settings), which serialises the loads already.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DEMO_LOCK])


def _reviews_apply(reviews: Iterable[DemoReview], users: dict[str, AbstractUser]) -> None:
    reviews = list(reviews)
    decisions = event_decisions(event_ids=[review.event_id for review in reviews])
    for review in reviews:
        result = decision_transition(
            decision=decisions[review.event_id],
            action=review.action,
            user=users[review.username],
            reason=review.reason,
            now=review.at,
        )
        decisions[review.event_id] = result.decision


def _decision_counts(approvals: int, reviews: list[DemoReview]) -> dict[str, int]:
    final = {review.event_id: review.action for review in reviews}
    outcome = {"approve": "approved", "reject": "rejected", "escalate": "escalated"}
    counts = {"pending": approvals - len(final)}
    for action in final.values():
        name = outcome.get(action, "deferred")
        counts[name] = counts.get(name, 0) + 1
    return counts


@transaction.atomic
def demo_store_reset() -> int:
    """Remove the demo store's events (with their descendants, objects, tags and Decisions).

    The Decisions' review history and the audit events of the reviews go too
    (trace_delete takes them): they are part of the demo. Users and groups
    stay. Returns the number of events removed (0 when none was loaded).
    """
    _demo_lock()
    roots = root_event_ids(source_system=DEMO_SOURCE)
    removed = 0
    for start in range(0, len(roots), _DELETE_ROOTS):
        removed += trace_delete(event_ids=roots[start : start + _DELETE_ROOTS])
    return removed
