"""The event page's read: objects and their state changes, the chain, correlated events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.db.models import QuerySet

from decisioning.models import Decision
from traces.evidence.corrections import EventVersion, event_versions_apply
from traces.models import EventRecord, TrackedObjectRecord
from traces.selectors import events_visible
from traces.ui.charts import ChainNode, chain_layout

__all__ = [
    "CHAIN_LIMIT",
    "CORRELATED_LIMIT",
    "Alternative",
    "EventDetail",
    "FieldChange",
    "ObjectState",
    "approval_decisions_attach",
    "as_state",
    "event_detail",
    "state_changes",
]

CHAIN_LIMIT = 200
CORRELATED_LIMIT = 20


ChangeKind = Literal["added", "removed", "changed", "same"]


@dataclass(frozen=True)
class FieldChange:
    """One key of an object's state: its value before and after, and what happened to it."""

    key: str
    before: str
    after: str
    kind: ChangeKind


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# Amounts shown with the state's currency ("56.99 EUR"): these keys, and keys ending so.
MONEY_KEYS = frozenset({"price", "amount", "total", "subtotal", "refund", "cost"})
MONEY_SUFFIXES = ("_price", "_amount", "_total", "_cost")


def _is_money(key: str) -> bool:
    return key in MONEY_KEYS or key.endswith(MONEY_SUFFIXES)


def _with_currency(state: dict[str, Any]) -> dict[str, Any]:
    currency = state.get("currency")
    if not isinstance(currency, str) or not currency:
        return state
    return {
        key: f"{value} {currency}"
        if _is_money(str(key)) and isinstance(value, int | float | str) and value != ""
        else value
        for key, value in state.items()
    }


def as_state(state: Any) -> dict[str, Any]:
    """A recorded state as a dict (None is empty; any other value is one key, ``value``)."""
    if state is None:
        return {}
    return state if isinstance(state, dict) else {"value": state}


def state_changes(
    before: Any, after: Any, *, known: dict[str, Any] | None = None
) -> list[FieldChange]:
    """Compare two recorded states key by key (a non-dict state is one key, ``value``).

    ``known``: the object's state as its earlier events left it. When the event
    recorded no state before, each field's before-value is taken from there,
    and only the fields the event recorded are compared (an event that records
    part of the state after removes nothing).
    """
    if before is None and after is None:
        return []
    old, new = as_state(before), as_state(after)
    if before is None and known:
        old = {key: known[key] for key in new if key in known}
    if "currency" not in old and "currency" in new:
        old = {**old, "currency": new["currency"]} if old else old
    old, new = _with_currency(old), _with_currency(new)
    changes = []
    for key in dict.fromkeys([*old, *new]):
        if key == "currency" and key not in new:
            continue
        if key in old and key in new:
            kind: ChangeKind = "same" if old[key] == new[key] else "changed"
        else:
            kind = "added" if key in new else "removed"
        changes.append(
            FieldChange(
                key=str(key),
                before=_as_text(old[key]) if key in old else "",
                after=_as_text(new[key]) if key in new else "",
                kind=kind,
            )
        )
    return changes


@dataclass(frozen=True)
class Alternative:
    """An option the decision considered, with why it was not taken."""

    option: str
    detail: str
    rejection: str


@dataclass(frozen=True)
class ObjectState:
    obj: TrackedObjectRecord
    changes: list[FieldChange]


@dataclass(frozen=True)
class EventDetail:
    event: EventRecord
    objects: list[ObjectState]
    alternatives: list[Alternative]
    context_rows: list[tuple[str, str]]
    constraints: list[str]
    chain: list[ChainNode]
    chain_truncated: bool
    parent: EventRecord | None
    children: list[EventRecord]
    correlated: list[EventRecord]
    decisions: list[Decision]
    span_seconds: float
    versions: list[EventVersion]

    @property
    def decision_reason(self) -> str:
        """The latest decision's reason (why a proposal was rejected), "" when none."""
        return self.decisions[-1].reason if self.decisions else ""


def _alternatives(alternatives: Any, rejection_reasons: Any) -> list[Alternative]:
    reasons = rejection_reasons if isinstance(rejection_reasons, dict) else {}
    items = alternatives if isinstance(alternatives, list) else []
    result, seen = [], set()
    for item in items:
        if isinstance(item, dict):
            name = item.get("action") or item.get("option") or item.get("name")
            option = _as_text(name) if name is not None else _as_text(item)
            detail = _as_text(item.get("reason") or item.get("description") or "")
        else:
            option, detail = _as_text(item), ""
        seen.add(option)
        result.append(Alternative(option, detail, _as_text(reasons.get(option, ""))))
    result.extend(
        Alternative(str(key), "", _as_text(reason))
        for key, reason in reasons.items()
        if str(key) not in seen
    )
    return result


def _decisions_about(events: QuerySet[Any] | list[str]) -> QuerySet[Decision]:
    return Decision.objects.filter(
        target_content_type__app_label=EventRecord._meta.app_label,
        target_content_type__model=EventRecord._meta.model_name,
        target_id__in=events,
    )


def approval_decisions_attach(events: Sequence[EventRecord]) -> None:
    """Give each event its approval Decision as ``event.approval_decision`` (None when it
    needs none, or has none yet), the decider joined: one query for a whole list, none
    when no event of it needs approval.

    Events are append-only: a decision taken after the event was stored changes the
    Decision (and the event's ``approval_status`` mirror), never the event's other
    columns, so who decided and why are read from the Decision. With several decisions
    about one event, the latest proposed one.
    """
    wanted: dict[str, EventRecord] = {}
    for event in events:
        vars(event)["approval_decision"] = None
        if event.requires_approval:
            wanted[str(event.pk)] = event
    if not wanted:
        return
    decisions = (
        _decisions_about(list(wanted))
        .select_related("decided_by")
        .defer("context", "evidence")
        .order_by("effective_at", "recorded_at")
    )
    for decision in decisions:
        vars(wanted[decision.target_id])["approval_decision"] = decision


def event_detail(
    event: EventRecord, *, with_decisions: bool = True, known_at: datetime | None = None
) -> EventDetail:
    """Everything the event page shows, in six queries whatever the chain's size.

    ``with_decisions=False`` (a user who may not see decisions) leaves the
    decisions about the event out, unread, and the review trail's events out
    of the chain, the children and the correlated events (``events_visible``).

    The event shows as its current version (the last correction recorded by
    ``known_at``), with its versions; with ``known_at`` the chain and the
    correlated events are those recorded by then. The chain is capped at
    ``CHAIN_LIMIT`` events (oldest first) and the correlated events outside the
    chain at ``CORRELATED_LIMIT``.
    """
    versions = event_versions_apply(event, known_at=known_at)
    known = events_visible(EventRecord.objects.all(), with_decisions=with_decisions)
    if known_at is not None:
        known = known.recorded_before(known_at)
    objects = [
        ObjectState(obj, state_changes(obj.state_before, obj.state_after))
        # The view's for_display() prefetch (ordered by position), else one query.
        for obj in event.tracked_objects.all()
    ]
    chain_rows = list(
        known.in_chain(event.root_id).select_related("actor").oldest_first()[: CHAIN_LIMIT + 1]
    )
    truncated = len(chain_rows) > CHAIN_LIMIT
    chain_rows = chain_rows[:CHAIN_LIMIT]
    if all(row.pk != event.pk for row in chain_rows):
        chain_rows.append(event)
    chain, span = chain_layout(chain_rows, event)
    by_id = {row.pk: row for row in chain_rows}

    correlated: list[EventRecord] = []
    if event.correlation_id:
        correlated = list(
            known.in_correlation(event.correlation_id)
            .exclude(root_id=event.root_id)
            .select_related("actor")
            .oldest_first()[:CORRELATED_LIMIT]
        )

    context = event.context
    context_rows = (
        [(str(key), _as_text(value)) for key, value in context.items()]
        if isinstance(context, dict)
        else [("value", _as_text(context))]
        if context
        else []
    )
    constraints = event.constraints
    constraint_list = (
        [_as_text(item) for item in constraints]
        if isinstance(constraints, list)
        else [_as_text(constraints)]
        if constraints
        else []
    )
    decisions = (
        list(
            _decisions_about([str(event.pk)]).select_related("decided_by").order_by("effective_at")
        )
        if with_decisions
        else []
    )
    return EventDetail(
        event=event,
        objects=objects,
        alternatives=_alternatives(event.alternatives, event.rejection_reasons),
        context_rows=context_rows,
        constraints=constraint_list,
        chain=chain,
        chain_truncated=truncated,
        parent=by_id.get(event.parent_id) if event.parent_id is not None else None,
        children=[row for row in chain_rows if row.parent_id == event.pk],
        correlated=correlated,
        decisions=decisions,
        span_seconds=span,
        versions=versions,
    )
