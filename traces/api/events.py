"""``/api/v1/events``, ``/objects``, ``/actors``, ``/search`` and ``/stats``."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.http import urlencode
from ninja import Router

from decision_trace.exceptions import DUPLICATE_EVENT, InvalidCursorError
from decision_trace.validation import ID_LENGTH, TraceJSONEncoder, check_choice, check_text
from decisioning.models import Decision
from traces import ActorType, ObjectType, TraceEvent, TraceValidationError
from traces.api.auth import ApiPrincipal, require
from traces.api.conf import get_max_batch
from traces.api.errors import ApiError
from traces.api.exports import FILE_RESPONSES, FORMAT_PARAMETER, export_format_of, file_response
from traces.api.filters import REPEATABLE, ApiEventFilterSet
from traces.api.http_idempotency import ApiAnswer, run_idempotent
from traces.api.models import Scope
from traces.api.payloads import Problem, event_from_payload, parse_json, surrogates_possible
from traces.api.resources import event_resources, event_values
from traces.api.schemas import (
    ActorOut,
    ChainOut,
    ErrorOut,
    EventOut,
    EventPageOut,
    EventWriteBatchOut,
    EventWriteOut,
    SearchOut,
)
from traces.evidence.verification import event_proof
from traces.feedback import FeedbackError, event_feedback_record
from traces.filters import TIME_PRESETS, KnownAtForm
from traces.formats.exports import event_export
from traces.mapping import actor_from_record, event_from_values
from traces.models import ActorRecord, EventRecord
from traces.pagination import MAX_PAGE_SIZE, keyset_page
from traces.search import search_match_limit, search_ranked_ids
from traces.selectors import (
    actor_event_stats,
    actor_shown,
    can_view_decisions,
    event_chain,
    event_stats,
    events_visible,
    tracked_object_values,
)
from traces.services import trace_record_receipts

__all__ = ["ERRORS", "PAGE_PARAMETERS", "event_feedback", "next_link", "page_of", "router"]

router = Router(tags=["events"])

DEFAULT_LIMIT = 50
ERRORS: dict[int, Any] = dict.fromkeys((400, 401, 403, 404, 409, 413, 422, 429), ErrorOut)
_FILTER_PARAMETERS = (
    ("actor_type", "Actor type (repeatable): user, ai_agent, compute, system, external."),
    ("actor", "Actor id (repeatable)."),
    ("event_type", "Event type or prefix like order.* (repeatable)."),
    ("object_type", "Object type (with object_id)."),
    ("object_id", "Object id or external id (repeatable)."),
    ("outcome", "Outcome (repeatable)."),
    ("risk", "Risk level (repeatable)."),
    ("tag", "Tag (repeatable; any of them)."),
    ("approval", "required, or a decision status."),
    ("since", "From this time (ISO 8601 with offset), inclusive."),
    ("until", "Until this time (ISO 8601 with offset), exclusive."),
    ("q", "Words in the description or reasoning."),
    ("period", "A preset look-back window."),
    ("correlation_id", "Events of one flow."),
    (
        "known_at",
        "As known at this time (ISO 8601 with offset): events and corrections recorded later "
        "are left out.",
    ),
)


def _parameter(name: str, description: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if name in REPEATABLE:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "schema": {"type": "array", "items": schema},
            "style": "form",
            "explode": True,
        }
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


PAGE_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 50},
    },
    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
]
FILTER_PARAMETERS = [_parameter(name, text) for name, text in _FILTER_PARAMETERS]
_TEXT = {"type": "string"}
_OPTIONAL_TEXT = {"type": ["string", "null"]}
_OBJECT = {"type": "object"}
EVENT_IN = {
    "type": "object",
    "required": ["id", "timestamp", "data"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "timestamp": {"type": "string", "format": "date-time"},
        "duration": {"type": "number", "minimum": 0},
        "data": {
            "type": "object",
            "required": ["event_type"],
            "additionalProperties": False,
            "properties": {
                "event_type": _TEXT,
                "description": _TEXT,
                "actor": {
                    "type": ["object", "null"],
                    "required": ["id", "type"],
                    "properties": {"id": _TEXT, "type": _TEXT, "name": _TEXT, "metadata": _OBJECT},
                },
                "decision": {"type": ["object", "null"]},
                "objects": {"type": "array", "items": _OBJECT},
                "outcome": _TEXT,
                "outcome_details": _OBJECT,
                "error": _OPTIONAL_TEXT,
                "data": _OBJECT,
                "tags": {"type": "array", "items": _TEXT},
                "parent_event_id": _OPTIONAL_TEXT,
                "correlation_id": _OPTIONAL_TEXT,
                "source_system": _OPTIONAL_TEXT,
                "source_ip": _OPTIONAL_TEXT,
            },
        },
    },
}
EVENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        EVENT_IN,
                        {
                            "type": "object",
                            "required": ["events"],
                            "additionalProperties": False,
                            "properties": {
                                "events": {
                                    "type": "array",
                                    "items": EVENT_IN,
                                }
                            },
                        },
                    ]
                }
            }
        },
    }
}


def limit_of(request: HttpRequest, *, default: int = DEFAULT_LIMIT) -> int:
    raw = request.GET.get("limit")
    if raw is None or raw == "":
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ApiError(
            400,
            "bad_parameter",
            f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}.",
            [{"field": "limit", "message": f"limit must be 1 to {MAX_PAGE_SIZE}."}],
        )
    return limit


def next_link(request: HttpRequest, next_cursor: str | None) -> str | None:
    if next_cursor is None:
        return None
    query = [
        (key, value) for key, values in request.GET.lists() if key != "cursor" for value in values
    ]
    query.append(("cursor", next_cursor))
    return request.build_absolute_uri(f"{request.path}?{urlencode(query)}")


def page_of(
    request: HttpRequest, queryset: Any, *, newest_first: bool = True
) -> tuple[list[Any], str | None]:
    cursor = request.GET.get("cursor") or None
    try:
        page = keyset_page(
            queryset, cursor=cursor, limit=limit_of(request), newest_first=newest_first
        )
    except (InvalidCursorError, OverflowError) as exc:
        raise ApiError(
            400,
            "bad_cursor",
            "The page cursor is not valid; start again from the first page.",
            [{"field": "cursor", "message": str(exc)}],
        ) from None
    return page.items, page.next_cursor


def _with_decisions(principal: ApiPrincipal) -> bool:
    return Scope.DECISIONS_READ.value in principal.scopes and can_view_decisions(principal.user)


def _visible(queryset: Any, principal: ApiPrincipal) -> Any:
    """The events this caller may read (the pages' rule, ``events_visible``).

    Without access to decisions the review trail's audit events are left out
    too: each one tells a decision's outcome, reason and decider.
    """
    return events_visible(queryset, with_decisions=_with_decisions(principal))


def filtered_events(
    request: HttpRequest, principal: ApiPrincipal, *, without: tuple[str, ...] = ()
) -> Any:
    """``EventRecord`` rows matching the request's filters; 400 listing bad parameters.

    ``without``: parameters left out (``/search`` ranks by ``q`` itself).

    Filtering by approval status needs what reading decisions needs (403
    otherwise, as on the timeline): the answer would tell their outcomes.
    """
    if request.GET.get("approval") and not _with_decisions(principal):
        raise ApiError(
            403,
            "permission_denied",
            "Filtering by approval status needs the decisions:read scope and a user "
            "who may view decisions.",
        )
    data = request.GET.copy()
    for name in without:
        data.pop(name, None)
    filterset = ApiEventFilterSet(data, queryset=_visible(EventRecord.objects.all(), principal))
    if not filterset.is_valid():
        details = [
            {"field": field, "message": str(message)}
            for field, messages in filterset.errors.items()
            for message in messages
        ]
        raise ApiError(400, "bad_parameter", "Some filter parameters are not valid.", details)
    for name in ("since", "until", "known_at"):
        raw = request.GET.get(name)
        if raw and filterset.form.cleaned_data.get(name) is not None and _is_naive(raw):
            raise ApiError(
                400,
                "bad_parameter",
                f"{name} needs a UTC offset, e.g. 2026-12-07T09:30:00+00:00.",
                [{"field": name, "message": "A time without a UTC offset is ambiguous."}],
            )
    try:
        return filterset.qs
    except TraceValidationError as exc:
        raise ApiError(400, "bad_parameter", str(exc)) from None


def _is_naive(raw: str) -> bool:
    try:
        return datetime.fromisoformat(raw).tzinfo is None
    except ValueError:
        return False


@router.get(
    "/events",
    response={200: EventPageOut, **ERRORS},
    openapi_extra={
        "parameters": [*FILTER_PARAMETERS, *PAGE_PARAMETERS, FORMAT_PARAMETER],
        "responses": FILE_RESPONSES,
    },
)
def events_list(request: HttpRequest) -> HttpResponseBase:
    """Events matching every filter, newest first, one keyset page at a time (or a file)."""
    principal = require(request, Scope.EVENTS_READ)
    known_at = known_at_of(request)
    export_format = export_format_of(request)
    if export_format is not None:
        chunks = event_export(
            filtered_events(request, principal),
            export_format=export_format,
            with_decisions=_with_decisions(principal),
        )
        return file_response(chunks, export_format, "events")
    rows, next_cursor = page_of(request, event_values(filtered_events(request, principal)))
    return JsonResponse(
        {
            "results": event_resources(
                rows, with_decisions=_with_decisions(principal), known_at=known_at
            ),
            "next_cursor": next_cursor,
            "next": next_link(request, next_cursor),
        }
    )


def _event_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ApiError(404, "not_found", "No event has this id.") from None


def known_at_of(request: HttpRequest) -> datetime | None:
    """``?known_at=`` (ISO 8601 with an offset), in UTC; a 400 naming it when it is not one."""
    raw = request.GET.get("known_at")
    if not raw:
        return None
    form = KnownAtForm({"known_at": raw})
    if not form.is_valid() or _is_naive(raw):
        raise ApiError(
            400,
            "bad_parameter",
            "known_at must be a time with a UTC offset, e.g. 2026-12-07T09:30:00+00:00.",
            [{"field": "known_at", "message": "Not a time with a UTC offset in range."}],
        )
    known_at: datetime = form.cleaned_data["known_at"].astimezone(UTC)
    return known_at


KNOWN_AT_PARAMETER = [_parameter("known_at", "As known at this time (ISO 8601 with offset).")]


@router.get(
    "/events/{event_id}",
    response={200: EventOut, **ERRORS},
    openapi_extra={"parameters": KNOWN_AT_PARAMETER},
)
def event_detail(request: HttpRequest, event_id: str) -> JsonResponse:
    """One event, as its current version (or as known at ``known_at``)."""
    principal = require(request, Scope.EVENTS_READ)
    known_at = known_at_of(request)
    events = _visible(EventRecord.objects.filter(pk=_event_id(event_id)), principal)
    if known_at is not None:
        events = events.recorded_before(known_at)
    rows = list(event_values(events))
    if not rows:
        raise ApiError(404, "not_found", "No event has this id.")
    resources = event_resources(rows, with_decisions=_with_decisions(principal), known_at=known_at)
    return JsonResponse(resources[0])


@router.get(
    "/events/{event_id}/proof",
    response={200: dict[str, Any], **ERRORS},
    openapi_extra={
        "parameters": [
            {
                "name": "size",
                "in": "query",
                "required": False,
                "description": "The size of a checkpoint you kept; the latest one by default.",
                "schema": {"type": "integer", "minimum": 1},
            }
        ]
    },
)
def event_proof_view(request: HttpRequest, event_id: str) -> JsonResponse:
    """The event's inclusion proof in the evidence log, against a signed checkpoint.

    ``decision_trace.evidence.event_proof_verify`` checks it offline.
    """
    principal = require(request, Scope.EVENTS_READ)
    pk = _event_id(event_id)
    raw = request.GET.get("size")
    size = None
    if raw:
        if not raw.isdigit() or len(raw) > 18 or int(raw) < 1:
            raise ApiError(
                400,
                "bad_parameter",
                "size must be a checkpoint's size, a whole number from 1.",
                [{"field": "size", "message": "Not a checkpoint size."}],
            )
        size = int(raw)
    if not _visible(EventRecord.objects.filter(pk=pk), principal).exists():
        raise ApiError(404, "not_found", "No event has this id.")
    proof = event_proof(pk, size=size)
    if proof is None:
        raise ApiError(
            404,
            "not_found",
            "No proof yet: the event is not sealed into that checkpoint (sealing runs "
            "seconds after a commit), or no checkpoint has that size.",
        )
    return JsonResponse(proof.to_dict())


@router.get("/events/{event_id}/chain", response={200: ChainOut, **ERRORS})
def event_chain_view(request: HttpRequest, event_id: str) -> JsonResponse:
    """The whole tree the event belongs to: root first, each event before its children."""
    principal = require(request, Scope.EVENTS_READ)
    pk = _event_id(event_id)
    pairs = event_chain(pk, values=False)
    if not pairs:
        raise ApiError(404, "not_found", "No event has this id.")
    ids = [row.pk for _, row in pairs]
    visible = _visible(EventRecord.objects.filter(pk__in=ids), principal)
    by_id = {row["id"]: row for row in event_values(visible)}
    if pk not in by_id:
        raise ApiError(404, "not_found", "No event has this id.")
    pairs = [(depth, row) for depth, row in pairs if row.pk in by_id]
    resources = event_resources(
        [by_id[row.pk] for _, row in pairs], with_decisions=_with_decisions(principal)
    )
    return JsonResponse(
        {
            "results": [
                {"depth": depth, "event": event}
                for (depth, _), event in zip(pairs, resources, strict=True)
            ]
        }
    )


@router.get(
    "/objects/{object_type}/{object_id}/history",
    response={200: EventPageOut, **ERRORS},
    openapi_extra={
        "parameters": [*PAGE_PARAMETERS, *KNOWN_AT_PARAMETER, FORMAT_PARAMETER],
        "responses": FILE_RESPONSES,
    },
)
def object_history_view(request: HttpRequest, object_type: str, object_id: str) -> HttpResponseBase:
    """Every event that touched the object (by id or external id), oldest first (or a file)."""
    principal = require(request, Scope.EVENTS_READ)
    try:
        check_choice("object_type", object_type, ObjectType)
        check_text("object_id", object_id, max_length=ID_LENGTH, required=True)
    except TraceValidationError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    known_at = known_at_of(request)
    queryset = _visible(EventRecord.objects.touching([object_id], [object_type]), principal)
    if known_at is not None:
        queryset = queryset.recorded_before(known_at)
    export_format = export_format_of(request)
    if export_format is not None:
        chunks = event_export(
            queryset,
            export_format=export_format,
            newest_first=False,
            with_decisions=_with_decisions(principal),
        )
        return file_response(chunks, export_format, f"history-{object_type}")
    rows, next_cursor = page_of(request, event_values(queryset), newest_first=False)
    return JsonResponse(
        {
            "results": event_resources(
                rows, with_decisions=_with_decisions(principal), known_at=known_at
            ),
            "next_cursor": next_cursor,
            "next": next_link(request, next_cursor),
        }
    )


ACTOR_PERIOD_PARAMETER = {
    "name": "period",
    "in": "query",
    "required": False,
    "description": "Count only this look-back window (default: the actor's whole history).",
    "schema": {"type": "string", "enum": list(TIME_PRESETS)},
}


@router.get(
    "/actors/{actor_type}/{actor_id}",
    response={200: ActorOut, **ERRORS},
    openapi_extra={"parameters": [ACTOR_PERIOD_PARAMETER]},
)
def actor_detail(request: HttpRequest, actor_type: str, actor_id: str) -> JsonResponse:
    """The actor and a summary of its latest events (at most ``ACTOR_STATS_LIMIT``).

    ``summary.capped`` is true when the actor has more events (in the period)
    than were counted.
    """
    principal = require(request, Scope.EVENTS_READ)
    period = request.GET.get("period") or None
    if period is not None and period not in TIME_PRESETS:
        raise ApiError(400, "bad_parameter", f"period must be one of {', '.join(TIME_PRESETS)}.")
    if actor_type not in {member.value for member in ActorType} or "\x00" in actor_id:
        raise ApiError(404, "not_found", "No actor has this type and id.")
    record = ActorRecord.objects.filter(actor_type=actor_type, actor_id=actor_id).first()
    if record is None or not actor_shown(record, with_decisions=_with_decisions(principal)):
        raise ApiError(404, "not_found", "No actor has this type and id.")
    since = None if period is None else timezone.now() - TIME_PRESETS[period][1]
    summary = actor_event_stats(record, since=since, with_decisions=_with_decisions(principal))
    return JsonResponse(
        {"actor": actor_from_record(record).to_dict(), "summary": {**summary, "period": period}},
        encoder=TraceJSONEncoder,
    )


@router.get(
    "/search",
    response={200: SearchOut, **ERRORS},
    openapi_extra={
        "parameters": [*FILTER_PARAMETERS, *PAGE_PARAMETERS[:1], FORMAT_PARAMETER],
        "responses": FILE_RESPONSES,
    },
)
def search(request: HttpRequest) -> HttpResponseBase:
    """Full-text search, best match first, within the ``/events`` filters.

    Ranked among the 10,000 most recent matches (1,000 with a phrase:
    ``search_match_limit``) within the 200,000 events recorded last
    (``SEARCH_RANK_WINDOW``), as the web UI's best match.

    As a file (``format=csv|jsonl``): every match, newest first.
    """
    principal = require(request, Scope.EVENTS_READ)
    known_at = known_at_of(request)
    export_format = export_format_of(request)
    if export_format is not None:
        chunks = event_export(
            filtered_events(request, principal),
            export_format=export_format,
            with_decisions=_with_decisions(principal),
        )
        return file_response(chunks, export_format, "search")
    # The other filters restrict the ranking; q itself is what is ranked (as a filter
    # too it added a second, unbounded search of the most recent matches: 337 ms at 10M).
    restrict = filtered_events(request, principal, without=("q",))
    try:
        text = request.GET.get("q", "")
        ids = search_ranked_ids(
            text,
            restrict if restrict.query.has_filters() else None,
            limit=limit_of(request),
            match_limit=search_match_limit(text),
        )
    except TraceValidationError as exc:
        raise ApiError(400, "bad_parameter", str(exc)) from None
    rows = (
        {row["id"]: row for row in event_values(EventRecord.objects.filter(pk__in=ids))}
        if ids
        else {}
    )
    ordered = [rows[pk] for pk in ids if pk in rows]
    return JsonResponse(
        {
            "results": event_resources(
                ordered, with_decisions=_with_decisions(principal), known_at=known_at
            )
        }
    )


@router.get("/stats", response={200: dict[str, Any], **ERRORS})
def stats(request: HttpRequest) -> JsonResponse:
    """Totals by actor type, outcome, risk and event type: ``DecisionTraceClient().stats()``."""
    principal = require(request, Scope.EVENTS_READ)
    return JsonResponse(
        event_stats(with_decisions=_with_decisions(principal)), encoder=TraceJSONEncoder
    )


# Recording


def _payloads(body: Any) -> tuple[list[Any], bool]:
    if isinstance(body, dict) and "events" in body and "data" not in body:
        extra = [key for key in body if key != "events"]
        if extra:
            raise ApiError(
                422,
                "validation_error",
                'A batch is {"events": [...]} and nothing else.',
                [
                    {"index": None, "field": key, "message": f"Unknown field {key!r}."}
                    for key in extra
                ],
            )
        events = body["events"]
        limit = get_max_batch()
        if not isinstance(events, list) or not 1 <= len(events) <= limit:
            raise ApiError(
                422,
                "validation_error",
                f"events must be a list of 1 to {limit} events.",
                [{"index": None, "field": "events", "message": f"1 to {limit} events."}],
            )
        return events, True
    return [body], False


def _comparable(event: TraceEvent) -> str:
    data = event.to_dict()
    # The actor's name and details are upserted by later events; its identity is what counts.
    actor = data["data"]["actor"]
    if actor is not None:
        data["data"]["actor"] = {"id": actor["id"], "type": actor["type"]}
    return json.dumps(data, cls=TraceJSONEncoder, sort_keys=True)


def _stored_events(ids: list[str]) -> dict[str, TraceEvent]:
    # Usually none is stored: a bare primary-key probe first, whole rows only for those found.
    found = list(
        EventRecord.objects.filter(pk__in=[uuid.UUID(i) for i in ids])
        .order_by()
        .values_list("pk", flat=True)
    )
    if not found:
        return {}
    rows = list(event_values(EventRecord.objects.filter(pk__in=found)))
    objects = tracked_object_values([row["id"] for row in rows])
    return {str(row["id"]): event_from_values(row, objects[row["id"]]) for row in rows}


def _same(sent: TraceEvent, payload: dict[str, Any], stored: TraceEvent) -> bool:
    decision = payload.get("data", {}).get("decision")
    if sent.decision is not None and stored.decision is not None and "id" not in (decision or {}):
        # No decision id sent: the first request got a random one; compare the rest.
        sent = dataclasses.replace(
            sent, decision=dataclasses.replace(sent.decision, id=stored.decision.id)
        )
    return _comparable(sent) == _comparable(stored)


def _events_of(payloads: list[Any], *, surrogates: bool) -> list[TraceEvent]:
    """Every payload as a ``TraceEvent``; 422 with every problem (index and field) otherwise."""
    events: list[TraceEvent] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, payload in enumerate(payloads):
        event, found = event_from_payload(payload, surrogates=surrogates)
        problems += [{"index": index, **problem} for problem in found]
        if event is not None:
            if event.id in seen:
                problems.append(
                    {"index": index, "field": "id", "message": DUPLICATE_EVENT.format(got=event.id)}
                )
            seen[event.id] = index
            events.append(event)
    if problems:
        raise ApiError(
            422, "validation_error", "Some events are not valid; nothing was stored.", problems
        )
    return events


def _record_held(events: list[TraceEvent]) -> dict[str, str]:
    """Store ``events``; ``{event id: its pending Decision's id}`` for those held for approval."""
    return {
        event_id: decision_id
        for event_id, decision_id in trace_record_receipts(events=events)
        if decision_id is not None
    }


def _record_new(events: list[TraceEvent]) -> dict[str, str]:
    try:
        return _record_held(events)
    except TraceValidationError as exc:
        raise ApiError(
            422, "validation_error", str(exc), [{"index": None, "field": "", "message": str(exc)}]
        ) from None


def _record_with_stored(
    events: list[TraceEvent], payloads: list[Any]
) -> tuple[dict[str, TraceEvent], dict[str, str]]:
    """Leave out the events already stored (409 if one differs); the held ones' decisions."""
    stored = _stored_events([event.id for event in events])
    conflicts = [
        {
            "index": index,
            "field": "id",
            "message": f"An event with id {event.id} is stored with other content.",
        }
        for index, (event, payload) in enumerate(zip(events, payloads, strict=True))
        if event.id in stored and not _same(event, payload, stored[event.id])
    ]
    if conflicts:
        raise ApiError(
            409, "event_conflict", "An event id is already stored with other content.", conflicts
        )
    held = _record_new([event for event in events if event.id not in stored])
    if stored:
        # A duplicate may have been held when it was first recorded.
        held.update(
            (target_id, str(pk))
            for target_id, pk in Decision.objects.filter(
                target_content_type=ContentType.objects.get_for_model(EventRecord),
                target_id__in=list(stored),
            ).values_list("target_id", "id")
        )
    return stored, held


def _record(payloads: list[Any], *, surrogates: bool) -> tuple[list[dict[str, Any]], bool]:
    events = _events_of(payloads, surrogates=surrogates)
    stored: dict[str, TraceEvent] = {}
    try:
        # Usually every event is new: store them at once, without looking first.
        # Any refusal (an id already stored among them) rolls this write back
        # (its transaction, or its savepoint under an Idempotency-Key), and the
        # events are looked up and sorted out in one transaction.
        held = _record_held(events)
    except TraceValidationError:
        with transaction.atomic():
            stored, held = _record_with_stored(events, payloads)
    answers = [
        {"id": event.id, "duplicate": event.id in stored, "decision_id": held.get(event.id)}
        for event in events
    ]
    return answers, len(stored) < len(events)


@router.post(
    "/events",
    response={
        200: EventWriteOut | EventWriteBatchOut,
        201: EventWriteOut | EventWriteBatchOut,
        **ERRORS,
    },
    openapi_extra=EVENT_BODY,
)
def events_create(request: HttpRequest) -> JsonResponse:
    """Record one event or a batch: all or nothing; identical re-sends are duplicates (200)."""
    principal = require(request, Scope.EVENTS_WRITE)

    def run() -> ApiAnswer:
        payloads, batch = _payloads(parse_json(request))
        answers, created = _record(payloads, surrogates=surrogates_possible(request.body))
        body = {"events": answers} if batch else answers[0]
        return (201 if created else 200), body

    # _record is all or nothing on its own: no outer transaction without a key.
    return run_idempotent(request, principal, run, atomic_without_key=False)


FEEDBACK_FIELDS = frozenset({"label", "note", "corrected_value"})
FEEDBACK_FORBIDDEN = "Giving feedback needs the permission to view decisions (a review group)."


@router.post("/events/{event_id}/feedback", response={201: dict[str, Any], **ERRORS})
def event_feedback(request: HttpRequest, event_id: str) -> JsonResponse:
    """Label an event correct, incorrect or unsure as the token's owner (a child event).

    Body: ``{"label": "correct"|"incorrect"|"unsure", "note": str, "corrected_value": str}``
    (note and corrected value optional). The same service as the web UI's form.
    """
    principal = require(request, Scope.EVENTS_WRITE)
    if not can_view_decisions(principal.user):
        raise ApiError(403, "permission_denied", FEEDBACK_FORBIDDEN)

    def run() -> ApiAnswer:
        body = parse_json(request)
        if not isinstance(body, dict):
            raise ApiError(422, "validation_error", "Send a JSON object.")
        problems: list[Problem] = [
            {"field": str(name), "message": "Unknown field."}
            for name in body
            if name not in FEEDBACK_FIELDS
        ]
        problems += [
            {"field": name, "message": "Must be a string."}
            for name in FEEDBACK_FIELDS
            if name in body and not isinstance(body[name], str)
        ]
        if problems:
            raise ApiError(422, "validation_error", "The feedback is not valid.", details=problems)
        event = EventRecord.objects.filter(pk=_event_id(event_id)).first()
        if event is None:
            raise ApiError(404, "not_found", "No event has this id.")
        try:
            child = event_feedback_record(
                event=event,
                user=principal.user,
                label=body.get("label", ""),
                note=body.get("note", ""),
                corrected_value=body.get("corrected_value", ""),
            )
        except FeedbackError as exc:
            raise ApiError(
                422, "validation_error", str(exc), details=[{"field": "", "message": str(exc)}]
            ) from None
        return 201, {
            "id": str(child.pk),
            "event_id": str(event.pk),
            "label": child.data["label"],
            "note": child.data["note"],
            "corrected_value": child.data["corrected_value"],
            "by": principal.user.get_username(),
            "at": child.effective_at.isoformat(),
        }

    return run_idempotent(request, principal, run)
