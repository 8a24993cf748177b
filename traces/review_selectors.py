"""Reads for the review pages: the queue, its tabs and filters, and one decision's page.

The queue is ``decisioning.Decision`` rows, live ones only, in one outcome
(a tab: pending, deferred or escalated), oldest first, one keyset page at a
time over the ``decision_queue_idx`` index. Filters on the originating event
(its risk, its actor's type) are a correlated ``EXISTS`` that probes the
event's primary key once per decision, so a page costs the same whatever the
number of events. A page of rows costs a fixed number of queries: the
decisions, their events (actor joined), and one query per other target model.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.db import NotSupportedError, connections
from django.db.models import Exists, Func, Model, OuterRef, QuerySet, UUIDField

from decision_trace.enums import ObjectType
from decision_trace.exceptions import InvalidCursorError, TraceValidationError
from decision_trace.validation import aware
from decisioning.models import Decision, DecisionAction, DecisionOutcome, DecisionTransition
from decisioning.permissions import REVIEW_PERMISSIONS
from decisioning.selectors import decision_allowed_actions, decision_history, decision_targets
from decisioning.services import decision_request_token_new
from traces.audit import DECISION_OBJECT_MODEL, decision_event_id
from traces.models import EventRecord, TrackedObjectRecord
from traces.pagination import Cursor, Page, check_page_limit, keyset_page
from traces.ui.common import PENDING_COUNT_CAP, distinct_indexed_values

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

__all__ = [
    "DECISION_TYPE_LIMIT",
    "QUEUE_OUTCOMES",
    "REVIEW_PAGE_SIZE",
    "DecisionDetail",
    "HistoryStep",
    "QueueCursor",
    "ReviewItem",
    "decision_detail",
    "decisions_about_events",
    "review_decision_types",
    "review_item",
    "review_not_overdue",
    "review_overdue",
    "review_overdue_only",
    "review_page",
    "review_queue_page",
    "review_tab_counts",
    "user_can_review",
]

# The queue's tabs, in the order the page shows them.
QUEUE_OUTCOMES = (DecisionOutcome.PENDING, DecisionOutcome.DEFERRED, DecisionOutcome.ESCALATED)
DECISION_TYPE_LIMIT = 200
REVIEW_PAGE_SIZE = 25

AnyUser = AbstractBaseUser | AnonymousUser


def _has_perm(user: AnyUser, permission: str) -> bool:
    # The user model's permissions (PermissionsMixin); an anonymous user has none.
    return isinstance(user, PermissionsMixin) and user.has_perm(permission)


def user_can_review(user: AnyUser) -> bool:
    """Whether ``user`` holds any review permission (so may try an action at all)."""
    return user.is_active and any(_has_perm(user, p) for p in REVIEW_PERMISSIONS)


class _TargetEventPk(Func):
    """``Decision.target_id`` (text) as an ``EventRecord`` primary key, to join on it.

    PostgreSQL: the text cast to ``uuid`` when it has a UUID's shape (32 hex
    digits in either case, with or without the four hyphens), NULL otherwise,
    so a stray id never makes the cast fail. SQLite: the same text lowered and
    without hyphens, the 32 hex digits Django stores for a ``UUIDField``. A
    target id that is no event's id matches no event.
    """

    output_field = UUIDField()

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> _AsSqlType:
        raise NotSupportedError(f"event ids are not implemented for {connection.vendor}")

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "REPLACE(LOWER(%(expressions)s), '-', '')"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        hex_ = "[0-9a-fA-F]"
        shape = f"^{hex_}{{8}}-?{hex_}{{4}}-?{hex_}{{4}}-?{hex_}{{4}}-?{hex_}{{12}}$"
        template = f"CASE WHEN %(expressions)s ~ '{shape}' THEN CAST(%(expressions)s AS uuid) END"
        return super().as_sql(compiler, connection, template=template, **extra)


def decisions_about_events(
    queryset: QuerySet[Decision], events: QuerySet[EventRecord]
) -> QuerySet[Decision]:
    """The decisions whose target is an event in ``events`` (one primary-key probe per decision)."""
    event_type = ContentType.objects.get_for_model(EventRecord)
    matching = events.filter(pk=_TargetEventPk(OuterRef("target_id")))
    return queryset.filter(target_content_type=event_type).filter(Exists(matching))


def review_tab_counts(cap: int = PENDING_COUNT_CAP) -> dict[str, int]:
    """How many live decisions each tab holds (pending, deferred, escalated), in one query.

    Each counted up to ``cap`` (pages show ``1000+``, ``capped_count``): at most
    ``cap`` entries of the queue's index per tab, however long the queue (a full
    count of 200,000 pending decisions took 22 ms on PostgreSQL).
    """
    counts = dict.fromkeys((outcome.value for outcome in QUEUE_OUTCOMES), 0)
    parts, params = [], []
    for outcome in counts:
        capped = Decision.objects.filter(outcome=outcome).order_by().values("pk")[:cap]
        sql, part_params = capped.query.sql_with_params()
        parts.append(f"SELECT %s, COUNT(*) FROM ({sql}) capped")
        params += [outcome, *part_params]
    with connections[Decision.objects.db].cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        counts.update({outcome: int(n) for outcome, n in cursor.fetchall()})
    return counts


def review_decision_types(limit: int = DECISION_TYPE_LIMIT) -> list[str]:
    """The decision types ever recorded, alphabetically (the type filter's suggestions).

    One probe of the ``decision_type`` index per type, whatever the number of
    decisions; a type with nothing open now simply filters to an empty tab.
    """
    return distinct_indexed_values(Decision, "decision_type", limit=limit)


@dataclass(frozen=True)
class ReviewItem:
    """One decision as the queue and the decision page show it, with what ``user`` may do.

    ``event`` is the originating trace event (actor joined) when the decision
    is about one; ``target`` is any other target row (None if gone);
    ``request_token`` is a fresh resubmission token for its action form.
    """

    decision: Decision
    event: EventRecord | None
    target: Model | None
    actions: tuple[DecisionAction, ...]
    request_token: str

    @property
    def reasoning(self) -> str:
        """Why it is proposed: the event's reasoning, or the decision's own reason."""
        if self.event is not None and self.event.reasoning:
            return self.event.reasoning
        return self.decision.reason


def _review_items(decisions: Sequence[Decision], *, user: AnyUser) -> list[ReviewItem]:
    event_ids = {decision.pk: decision_event_id(decision) for decision in decisions}
    wanted = {event_id for event_id in event_ids.values() if event_id is not None}
    events = {}
    if wanted:
        rows = EventRecord.objects.for_display().filter(pk__in=wanted)
        events = {event.pk: event for event in rows}
    others = [decision for decision in decisions if event_ids[decision.pk] is None]
    targets = decision_targets(decisions=others) if others else {}
    return [
        ReviewItem(
            decision=decision,
            event=events.get(event_id) if (event_id := event_ids[decision.pk]) else None,
            target=targets.get(decision.pk),
            actions=decision_allowed_actions(decision=decision, user=user),
            request_token=decision_request_token_new(),
        )
        for decision in decisions
    ]


def review_item(decision: Decision, *, user: AnyUser) -> ReviewItem:
    """One decision's ``ReviewItem`` (its event or target loaded: one query)."""
    return _review_items([decision], user=user)[0]


OVERDUE_BLOCK_SIZE = 20


# The queue's one order: overdue first, earliest due first (keyset on
# (due_at, id)), then the others oldest first (keyset on (effective_at, id)).
# Both are read over the decision_queue_due_idx / decision_queue_idx indexes.
def review_overdue_only(queryset: QuerySet[Decision], *, now: datetime) -> QuerySet[Decision]:
    """The decisions of ``queryset`` past their due time at ``now``."""
    return queryset.filter(due_at__lt=now)


def review_not_overdue(queryset: QuerySet[Decision], *, now: datetime) -> QuerySet[Decision]:
    """The others: due later, or without a due time."""
    return queryset.exclude(due_at__lt=now)


def _overdue_page(
    queryset: QuerySet[Decision], *, now: datetime, cursor: Cursor | None, limit: int
) -> Page[Decision]:
    return keyset_page(
        review_overdue_only(queryset, now=now),
        cursor=cursor,
        limit=limit,
        newest_first=False,
        time_field="due_at",
    )


def review_overdue(
    queryset: QuerySet[Decision], *, user: AnyUser, now: datetime, limit: int = OVERDUE_BLOCK_SIZE
) -> tuple[list[ReviewItem], int]:
    """The most overdue decisions of ``queryset`` (earliest due first) and how many are overdue.

    The queue page shows these first, above its keyset list of the others
    (``review_not_overdue``): the same order as ``review_queue_page``.
    """
    total = review_overdue_only(queryset, now=now).count()
    if not total:
        return [], 0
    page = _overdue_page(
        queryset.select_related("decided_by", "target_content_type", "claimed_by"),
        now=now,
        cursor=None,
        limit=limit,
    )
    return _review_items(page.items, user=user), total


def review_page(
    queryset: QuerySet[Decision],
    *,
    user: AnyUser,
    cursor: str | Cursor | None = None,
    limit: int = REVIEW_PAGE_SIZE,
) -> Page[ReviewItem]:
    """One keyset page of ``queryset``, oldest first, as ``ReviewItem`` rows for ``user``.

    Raises:
        InvalidCursorError: ``cursor`` was not produced by this list.
    """
    page = keyset_page(
        queryset.select_related("decided_by", "target_content_type", "claimed_by"),
        cursor=cursor,
        limit=limit,
        newest_first=False,
    )
    return Page(items=_review_items(page.items, user=user), next_cursor=page.next_cursor)


_QUEUE_TOKEN_LENGTH = 400
Segment = Literal["overdue", "rest"]


@dataclass(frozen=True)
class QueueCursor:
    """A position in the overdue-first queue: the time that split it, the part, the last row.

    The split time is the first page's ``now``, kept for every later page, so a
    decision that falls due while someone pages is neither skipped nor repeated.
    ``position`` None is the start of the part.
    """

    split_at: datetime
    segment: Segment
    position: Cursor | None

    def encode(self) -> str:
        position = self.position.encode() if self.position is not None else "-"
        raw = f"{self.split_at.isoformat()}|{self.segment}|{position}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: object) -> QueueCursor:
        """Raises ``InvalidCursorError`` for anything this class did not encode."""
        if not isinstance(token, str) or not token or len(token) > _QUEUE_TOKEN_LENGTH:
            raise InvalidCursorError()
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            when, segment, position = raw.split("|")
            split_at = datetime.fromisoformat(when)
            if split_at.tzinfo is None:
                raise ValueError("naive")
            split_at = aware("cursor", split_at)
        except (ValueError, binascii.Error, UnicodeDecodeError, TraceValidationError) as exc:
            raise InvalidCursorError() from exc
        if segment == "overdue":
            return cls(split_at, "overdue", Cursor.decode(position))
        if segment == "rest":
            return cls(split_at, "rest", None if position == "-" else Cursor.decode(position))
        raise InvalidCursorError()


def review_queue_page(
    queryset: QuerySet[Decision],
    *,
    now: datetime,
    cursor: str | None = None,
    limit: int = REVIEW_PAGE_SIZE,
) -> Page[Decision]:
    """One keyset page of the queue in its order: overdue first (earliest due), then oldest.

    The same two parts as the queue page (``review_overdue`` above,
    ``review_not_overdue`` below), paged as one list: a page costs one or two
    queries (the end of the overdue part and the start of the rest).

    Raises:
        InvalidCursorError: ``cursor`` was not produced by this list.
        TraceValidationError: ``limit`` is out of range.
    """
    check_page_limit(limit)
    position = QueueCursor.decode(cursor) if cursor is not None else None
    split_at = position.split_at if position is not None else now
    rows: list[Decision] = []
    rest_from: Cursor | None = None
    if position is None or position.segment == "overdue":
        overdue = _overdue_page(
            queryset,
            now=split_at,
            cursor=position.position if position is not None else None,
            limit=limit,
        )
        if overdue.next_cursor is not None:
            last = Cursor.decode(overdue.next_cursor)
            return Page(overdue.items, QueueCursor(split_at, "overdue", last).encode())
        rows = overdue.items
    else:
        rest_from = position.position
    others = review_not_overdue(queryset, now=split_at)
    if len(rows) == limit:
        more = others.exists()
        return Page(rows, QueueCursor(split_at, "rest", None).encode() if more else None)
    rest = keyset_page(others, cursor=rest_from, limit=limit - len(rows), newest_first=False)
    next_cursor = None
    if rest.next_cursor is not None:
        next_cursor = QueueCursor(split_at, "rest", Cursor.decode(rest.next_cursor)).encode()
    return Page(rows + rest.items, next_cursor)


@dataclass(frozen=True)
class HistoryStep:
    """One review step of a decision, with the trace event that records it (if found)."""

    transition: DecisionTransition
    audit_event_id: Any


@dataclass(frozen=True)
class DecisionDetail:
    """Everything the decision page shows."""

    item: ReviewItem
    history: list[HistoryStep]
    context_rows: list[tuple[str, str]]
    evidence: Any


def _audit_events(decision: Decision) -> dict[Any, Any]:
    """Transition id -> the id of the trace event that recorded it."""
    recorded = TrackedObjectRecord.objects.filter(
        object_id=str(decision.pk),
        object_type=ObjectType.CUSTOM.value,
        metadata__model=DECISION_OBJECT_MODEL,
    ).values("event_id")
    return {
        data.get("transition_id"): pk
        for pk, data in EventRecord.objects.filter(pk__in=recorded).values_list("pk", "data")
        if isinstance(data, dict)
    }


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _rows(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [(str(key), _text(item)) for key, item in value.items()]
    return [("value", _text(value))] if value not in (None, "", [], {}) else []


def decision_detail(decision: Decision, *, user: AnyUser) -> DecisionDetail:
    """The decision with its event or target, full review history and audit events.

    Four queries: the target, the history (who is joined), the audit events
    and the permission check's (cached) lookups.
    """
    audit = _audit_events(decision)
    history = [
        HistoryStep(transition=step, audit_event_id=audit.get(step.pk))
        for step in decision_history(decision=decision)
    ]
    return DecisionDetail(
        item=review_item(decision, user=user),
        history=history,
        context_rows=_rows(decision.context),
        evidence=decision.evidence,
    )
