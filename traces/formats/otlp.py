"""OpenTelemetry spans in: OTLP trace requests (protobuf or JSON) to trace events.

An agent instrumented with OpenTelemetry's GenAI conventions sends its spans
unchanged; each span becomes one event:

- trace id -> correlation id; span id -> a stable event id (a UUID derived from
  trace and span id, so a re-sent span is the same event); parent span ->
  parent event (when the parent is neither in the request nor stored, the link
  is kept in ``data.otel.parent_span_id`` and the event starts a chain);
- start and end -> effective time and duration; status ERROR -> outcome
  failure with the status message as error, otherwise success;
- ``gen_ai.agent.name`` (id: ``gen_ai.agent.id`` or the name) -> an AI agent actor
  when any ``gen_ai.*`` attribute is present, with ``gen_ai.request.model`` (or
  the response model) as its model and ``gen_ai.agent.version`` (or the
  resource's ``service.version``) as its version; otherwise ``service.name`` ->
  a compute actor;
- event type: the ``event.type`` attribute, else ``gen_ai.<operation name>``
  (``gen_ai.invoke_agent``, ``gen_ai.execute_tool``, ``gen_ai.chat``), else the
  span name; description: the span name;
- ``data``: ``otel`` (ids, kind, scope), ``gen_ai`` (operation, provider, agent,
  models, token counts, cost, tool, evaluation results from
  ``gen_ai.evaluation.result`` span events), ``attributes`` (every other span
  attribute), ``resource`` (the resource's attributes), ``events`` (other span events);
- ``decision.reasoning``, ``decision.alternatives``, ``decision.rejection_reasons``,
  ``decision.confidence``, ``decision.risk_level``, ``decision.requires_approval``,
  ``decision.action`` -> the event's DecisionTrace; ``object.type`` + ``object.id``
  (and ``object.external_id``, ``object.name``) -> a tracked object.

OTLP/JSON differs from protobuf's JSON mapping in one point: trace and span
ids are hex, not base64. They are turned into bytes first, then protobuf's own
parser reads the rest, so both encodings meet in the same message.
"""

from __future__ import annotations

import binascii
import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import router
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from decision_trace.enums import EventOutcome
from decision_trace.exceptions import DUPLICATE_EVENT, TraceValidationError
from decision_trace.validation import NAME_LENGTH, TYPE_LENGTH
from decision_trace.values import Actor, DecisionTrace, TraceEvent, TrackedObject
from traces.formats.exceptions import FormatError
from traces.models import EventRecord
from traces.services import trace_record_many

__all__ = [
    "MAX_SPANS",
    "OTLP_SOURCE_TAG",
    "otlp_events",
    "otlp_ingest",
    "otlp_parse_json",
    "otlp_parse_protobuf",
    "span_event_id",
]

MAX_SPANS = 1_000
OTLP_SOURCE_TAG = "otlp"
# Event ids of spans: uuid5 of "<trace id hex>/<span id hex>" in this namespace.
_NAMESPACE = uuid.UUID("a3c1e2f0-6b1d-4c59-8a5e-0f3f5d7f2b64")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ID_FIELDS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}
_KINDS = {
    Span.SPAN_KIND_INTERNAL: "internal",
    Span.SPAN_KIND_SERVER: "server",
    Span.SPAN_KIND_CLIENT: "client",
    Span.SPAN_KIND_PRODUCER: "producer",
    Span.SPAN_KIND_CONSUMER: "consumer",
}
_EVALUATION = "gen_ai.evaluation.result"
# gen_ai attributes that become named entries of data.gen_ai (the rest keep their key).
_GEN_AI_NAMES = {
    "gen_ai.operation.name": "operation",
    "gen_ai.provider.name": "provider",
    "gen_ai.system": "provider",
    "gen_ai.agent.id": "agent_id",
    "gen_ai.agent.name": "agent_name",
    "gen_ai.agent.version": "agent_version",
    "gen_ai.request.model": "request_model",
    "gen_ai.response.model": "response_model",
    "gen_ai.usage.input_tokens": "input_tokens",
    "gen_ai.usage.output_tokens": "output_tokens",
    "gen_ai.usage.cost": "cost",
    "gen_ai.tool.name": "tool_name",
    "gen_ai.tool.call.id": "tool_call_id",
    "gen_ai.conversation.id": "conversation_id",
}
_DECISION_KEYS = {
    "decision.reasoning",
    "decision.alternatives",
    "decision.rejection_reasons",
    "decision.confidence",
    "decision.risk_level",
    "decision.requires_approval",
    "decision.action",
}
_OBJECT_KEYS = {"object.type", "object.id", "object.external_id", "object.name"}


# Parsing -----------------------------------------------------------------------------


def otlp_parse_protobuf(body: bytes) -> ExportTraceServiceRequest:
    """An OTLP/HTTP protobuf body as its message.

    Raises:
        FormatError: the body is not an ``ExportTraceServiceRequest``.
    """
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError) as exc:
        raise FormatError(f"the body is not an OTLP protobuf trace request ({exc})") from None
    return request


def _hex_ids(document: object) -> None:
    """Turn OTLP/JSON's hex ids into the base64 protobuf's JSON parser expects, in place."""
    if not isinstance(document, dict):
        return
    for resource_spans in _dicts(document.get("resourceSpans")):
        for scope_spans in _dicts(resource_spans.get("scopeSpans")):
            for index, span in enumerate(_dicts(scope_spans.get("spans"))):
                for link in [span, *_dicts(span.get("links"))]:
                    for name, size in _ID_FIELDS.items():
                        value = link.get(name)
                        if value is None or value == "":
                            continue
                        if not isinstance(value, str) or len(value) != 2 * size:
                            raise FormatError(
                                f"{name} must be {2 * size} hex digits; got {str(value)[:40]!r}",
                                f"span {index}",
                            )
                        try:
                            raw = bytes.fromhex(value)
                        except ValueError:
                            raise FormatError(
                                f"{name} must be hex digits; got {value!r}", f"span {index}"
                            ) from None
                        link[name] = binascii.b2a_base64(raw, newline=False).decode()


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def otlp_parse_json(body: bytes) -> ExportTraceServiceRequest:
    """An OTLP/HTTP JSON body (hex ids) as its message.

    Raises:
        FormatError: the body is not JSON or not an OTLP trace request.
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FormatError(f"the body is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise FormatError("the body must be a JSON object with resourceSpans")
    _hex_ids(document)
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, UnicodeError) as exc:
        raise FormatError(f"not an OTLP trace request: {exc}") from None
    return request


# Values ------------------------------------------------------------------------------


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else str(number)
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return None


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def _time(nanos: int, what: str, location: str) -> datetime:
    try:
        return _EPOCH + timedelta(microseconds=nanos // 1_000)
    except OverflowError:
        raise FormatError(f"{what} {nanos} is out of range", location) from None


def span_event_id(trace_id: bytes, span_id: bytes) -> str:
    """The event id of a span: the same span always gets the same id."""
    return str(uuid.uuid5(_NAMESPACE, f"{trace_id.hex()}/{span_id.hex()}"))


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _json_or(value: Any, expected: type) -> Any:
    """An attribute that carries a list or dict may arrive as JSON text."""
    if isinstance(value, str) and expected is not str:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return value
        return parsed if isinstance(parsed, expected) else value
    return value


def _decision(attributes: Mapping[str, Any], decision_id: str) -> DecisionTrace | None:
    if not _DECISION_KEYS & attributes.keys():
        return None
    alternatives = _json_or(attributes.get("decision.alternatives", []), list)
    return DecisionTrace(
        id=decision_id,
        action=_text(attributes.get("decision.action")),
        reasoning=_text(attributes.get("decision.reasoning")) or "",
        alternatives=alternatives if isinstance(alternatives, list) else [alternatives],
        rejection_reasons=_json_or(attributes.get("decision.rejection_reasons", {}), dict),
        confidence=attributes.get("decision.confidence"),
        risk_level=attributes.get("decision.risk_level"),
        requires_approval=attributes.get("decision.requires_approval", False),
    )


def _objects(attributes: Mapping[str, Any]) -> tuple[TrackedObject, ...]:
    if "object.type" not in attributes and "object.id" not in attributes:
        return ()
    object_id: Any = attributes.get("object.id")
    object_type: Any = attributes.get("object.type")
    return (
        TrackedObject(
            id=object_id,
            type=object_type,
            external_id=_text(attributes.get("object.external_id")),
            name=_text(attributes.get("object.name")),
        ),
    )


def _actor(attributes: Mapping[str, Any], resource: Mapping[str, Any]) -> Actor | None:
    service = _text(resource.get("service.name"))
    if any(key.startswith("gen_ai.") for key in attributes):
        name = _text(attributes.get("gen_ai.agent.name")) or service or "agent"
        agent_id = _text(attributes.get("gen_ai.agent.id")) or name
        return Actor.ai_agent(
            agent_id,
            name[:NAME_LENGTH],
            model=_text(attributes.get("gen_ai.request.model"))
            or _text(attributes.get("gen_ai.response.model")),
            version=_text(attributes.get("gen_ai.agent.version"))
            or _text(resource.get("service.version")),
        )
    if service is None:
        return None
    return Actor.compute(service, service[:NAME_LENGTH], service_name=service[:NAME_LENGTH])


def _event_type(span: Span, attributes: Mapping[str, Any]) -> str:
    explicit = _text(attributes.get("event.type"))
    if explicit:
        return explicit
    operation = _text(attributes.get("gen_ai.operation.name"))
    if operation:
        return f"gen_ai.{operation}"[:TYPE_LENGTH]
    # A span name may hold anything; the query wildcard is the one character refused.
    return (span.name.strip() or "otel.span").replace("*", "_")[:TYPE_LENGTH]


def _data(
    span: Span,
    attributes: Mapping[str, Any],
    resource: Mapping[str, Any],
    scope: Mapping[str, Any],
    parent_span_id: str | None,
) -> dict[str, Any]:
    gen_ai: dict[str, Any] = {}
    other: dict[str, Any] = {}
    for key, value in attributes.items():
        if key in _DECISION_KEYS or key in _OBJECT_KEYS or key == "event.type":
            continue
        if key in _GEN_AI_NAMES:
            gen_ai[_GEN_AI_NAMES[key]] = value
        elif key.startswith("gen_ai."):
            gen_ai[key.removeprefix("gen_ai.")] = value
        else:
            other[key] = value
    events: list[dict[str, Any]] = []
    evaluations: list[dict[str, Any]] = []
    for span_event in span.events:
        item = {
            "name": span_event.name,
            "time": _time(span_event.time_unix_nano, "event time", "span event").isoformat(),
            "attributes": _attributes(span_event.attributes),
        }
        (evaluations if span_event.name == _EVALUATION else events).append(item)
    if evaluations:
        gen_ai["evaluations"] = [
            {
                key.removeprefix("gen_ai.evaluation."): value
                for key, value in e["attributes"].items()
            }
            for e in evaluations
        ]
    data: dict[str, Any] = {
        "otel": {
            "trace_id": span.trace_id.hex(),
            "span_id": span.span_id.hex(),
            "parent_span_id": parent_span_id,
            "kind": _KINDS.get(span.kind, "unspecified"),
            "scope": dict(scope),
        },
        "resource": dict(resource),
    }
    if gen_ai:
        data["gen_ai"] = gen_ai
    if other:
        data["attributes"] = other
    if events:
        data["events"] = events
    return data


def _span_event(
    span: Span,
    location: str,
    resource: Mapping[str, Any],
    scope: Mapping[str, Any],
) -> TraceEvent:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        raise FormatError("traceId must be 16 bytes, not all zero", location)
    if len(span.span_id) != 8 or not any(span.span_id):
        raise FormatError("spanId must be 8 bytes, not all zero", location)
    if span.parent_span_id and len(span.parent_span_id) != 8:
        raise FormatError("parentSpanId must be 8 bytes or empty", location)
    start = _time(span.start_time_unix_nano, "startTimeUnixNano", location)
    if span.end_time_unix_nano and span.end_time_unix_nano < span.start_time_unix_nano:
        raise FormatError("endTimeUnixNano is before startTimeUnixNano", location)
    end = span.end_time_unix_nano or span.start_time_unix_nano
    attributes = _attributes(span.attributes)
    failed = span.status.code == Status.STATUS_CODE_ERROR
    parent = span.parent_span_id.hex() if span.parent_span_id else None
    try:
        return TraceEvent(
            id=span_event_id(span.trace_id, span.span_id),
            timestamp=start,
            duration=(end - span.start_time_unix_nano) / 1e9,
            event_type=_event_type(span, attributes),
            description=span.name,
            actor=_actor(attributes, resource),
            # The span's ids, so that a re-sent span maps to an equal event.
            decision=_decision(attributes, (span.trace_id + span.span_id).hex()),
            objects=_objects(attributes),
            outcome=EventOutcome.FAILURE if failed else EventOutcome.SUCCESS,
            error=(span.status.message or "error") if failed else None,
            data=_data(span, attributes, resource, scope, parent),
            tags=(OTLP_SOURCE_TAG,),
            parent_event_id=span_event_id(span.trace_id, span.parent_span_id) if parent else None,
            correlation_id=span.trace_id.hex(),
            source_system=_text(resource.get("service.name")),
        )
    except FormatError:
        raise
    except TraceValidationError as exc:
        raise FormatError(str(exc), location) from exc


def otlp_events(request: ExportTraceServiceRequest) -> list[TraceEvent]:
    """The events of every span in ``request``, in order (a span sent twice counts once).

    Raises:
        FormatError: a span cannot be an event (bad ids or times, attributes the
            event refuses), or there are more than ``MAX_SPANS`` spans; the
            message says which span.
    """
    events: dict[str, TraceEvent] = {}
    count = 0
    for r, resource_spans in enumerate(request.resource_spans):
        resource = _attributes(resource_spans.resource.attributes)
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            scope = {"name": scope_spans.scope.name, "version": scope_spans.scope.version}
            for i, span in enumerate(scope_spans.spans):
                count += 1
                if count > MAX_SPANS:
                    raise FormatError(f"at most {MAX_SPANS} spans go in one request")
                location = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]"
                event = _span_event(span, location, resource, scope)
                events.setdefault(event.id, event)
    return list(events.values())


# Storing -----------------------------------------------------------------------------


def _without_missing_parents(events: Sequence[TraceEvent], db: str) -> list[TraceEvent]:
    """Events whose parent span is neither in the batch nor stored start a chain of their own.

    Exporters send a span when it ends, children before parents, and may split
    a trace over requests; the parent span id stays in ``data.otel``.
    """
    batch = {event.id for event in events}
    outside = {
        e.parent_event_id for e in events if e.parent_event_id and e.parent_event_id not in batch
    }
    stored = {
        str(pk)
        for pk in EventRecord.objects.using(db)
        .filter(pk__in=[uuid.UUID(i) for i in outside])
        .values_list("pk", flat=True)
    }
    result = []
    for event in events:
        parent = event.parent_event_id
        if parent is not None and parent not in batch and parent not in stored:
            event = TraceEvent(**{**_fields(event), "parent_event_id": None})
        result.append(event)
    return result


def _fields(event: TraceEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in event.__dataclass_fields__}


def otlp_ingest(*, events: Sequence[TraceEvent], using: str | None = None) -> list[str]:
    """Store the span events not stored yet, through ``trace_record_many``; returns their ids.

    Re-sent spans (ids already stored) are skipped, so an exporter's retry adds
    nothing. Everything is written in one transaction or nothing is.

    Raises:
        TraceValidationError: the events cannot be stored; nothing was written.
    """
    db = using or router.db_for_write(EventRecord)
    for _attempt in range(2):
        stored = {
            str(pk)
            for pk in EventRecord.objects.using(db)
            .filter(pk__in=[uuid.UUID(event.id) for event in events])
            .values_list("pk", flat=True)
        }
        new = _without_missing_parents([e for e in events if e.id not in stored], db)
        try:
            return trace_record_many(events=new, using=db)
        except TraceValidationError as exc:
            # Another request stored one of these spans meanwhile: look again, once.
            if not str(exc).startswith(DUPLICATE_EVENT.split("{")[0]):
                raise
    raise TraceValidationError("The spans were being stored by another request; send them again.")
