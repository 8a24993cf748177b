"""OTLP spans to trace events: the mapping (protobuf and JSON), its refusals, and ingest."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from decision_trace.enums import ActorType, EventOutcome, ObjectType, RiskLevel
from decisioning.models import Decision, DecisionOutcome
from traces import DecisionTrace, TraceEvent, TraceValidationError
from traces.formats.exceptions import FormatError
from traces.formats.otlp import (
    MAX_SPANS,
    otlp_events,
    otlp_ingest,
    otlp_parse_json,
    otlp_parse_protobuf,
    span_event_id,
)
from traces.models import EventRecord
from traces.selectors import event_chain

T0_NS = 1_772_355_600_000_000_000  # 2026-03-01T09:00:00Z


def _agent_spans() -> list[Any]:
    """An agent run as the OpenTelemetry SDK records it: agent, tool, model call, failure."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "refund-service", "service.version": "1.4"})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("refund.agent", "0.1")
    with tracer.start_as_current_span(
        "invoke_agent Refund assistant",
        start_time=T0_NS,
        end_on_exit=False,
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "Refund assistant",
            "gen_ai.agent.id": "refund-ai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.provider.name": "openai",
            "decision.reasoning": "Parcel arrived 9 days late; policy R-3 allows a refund",
            "decision.alternatives": ["refuse", "voucher"],
            "decision.rejection_reasons": json.dumps({"refuse": "late delivery is ours"}),
            "decision.confidence": 0.92,
            "decision.risk_level": "high",
            "decision.requires_approval": True,
            "object.type": "order",
            "object.id": "ord-7",
            "shop.region": "eu",
        },
    ) as agent:
        with tracer.start_as_current_span(
            "execute_tool lookup_order",
            start_time=T0_NS + 1_000_000_000,
            end_on_exit=False,
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "lookup_order",
            },
        ) as tool:
            tool.end(end_time=T0_NS + 1_250_000_000)
        with tracer.start_as_current_span(
            "chat gpt-4o",
            start_time=T0_NS + 2_000_000_000,
            end_on_exit=False,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 1200,
                "gen_ai.usage.output_tokens": 85,
                "gen_ai.usage.cost": 0.0042,
            },
        ) as chat:
            chat.add_event(
                "gen_ai.evaluation.result",
                {"gen_ai.evaluation.name": "faithfulness", "gen_ai.evaluation.score.value": 0.8},
                timestamp=T0_NS + 3_000_000_000,
            )
            chat.set_status(Status(StatusCode.ERROR, "rate limited"))
            chat.end(end_time=T0_NS + 3_500_000_000)
        agent.end(end_time=T0_NS + 4_000_000_000)
    plain = provider.get_tracer("cron")
    with plain.start_as_current_span("nightly sync", start_time=T0_NS, end_on_exit=False) as sync:
        sync.end(end_time=T0_NS + 60_000_000_000)
    return list(exporter.get_finished_spans())


def _protobuf() -> bytes:
    return encode_spans(_agent_spans()).SerializeToString()


def _otlp_json(body: bytes) -> dict[str, Any]:
    """The OTLP/JSON form of a protobuf body: protobuf's JSON with hex ids."""
    document = json_format.MessageToDict(otlp_parse_protobuf(body))
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for name in ("traceId", "spanId", "parentSpanId"):
                    if name in span:
                        span[name] = base64.b64decode(span[name]).hex()
    return document


def _by_type(events) -> dict[str, Any]:
    return {event.event_type: event for event in events}


def test_otlp_events_map_genai_agent_spans():
    """Trace id, parents, times, status, the agent, model, tokens, cost, decision, object."""
    events = _by_type(otlp_events(otlp_parse_protobuf(_protobuf())))
    agent, tool, chat = (
        events["gen_ai.invoke_agent"],
        events["gen_ai.execute_tool"],
        events["gen_ai.chat"],
    )
    trace_id = agent.data["otel"]["trace_id"]
    assert len(trace_id) == 32
    assert {agent.correlation_id, tool.correlation_id, chat.correlation_id} == {trace_id}
    assert agent.parent_event_id is None
    assert tool.parent_event_id == chat.parent_event_id == agent.id
    assert agent.id == span_event_id(
        bytes.fromhex(trace_id), bytes.fromhex(agent.data["otel"]["span_id"])
    )
    assert agent.timestamp == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert (agent.duration, tool.duration) == (4.0, 0.25)
    assert agent.description == "invoke_agent Refund assistant"
    assert agent.actor.type == ActorType.AI_AGENT
    assert (agent.actor.id, agent.actor.name) == ("refund-ai", "Refund assistant")
    assert (agent.actor.model, agent.actor.version) == ("gpt-4o", "1.4")
    assert agent.outcome == EventOutcome.SUCCESS
    assert (chat.outcome, chat.error) == (EventOutcome.FAILURE, "rate limited")
    assert chat.data["gen_ai"] == {
        "operation": "chat",
        "request_model": "gpt-4o",
        "response_model": "gpt-4o-2024-08-06",
        "input_tokens": 1200,
        "output_tokens": 85,
        "cost": 0.0042,
        "evaluations": [{"name": "faithfulness", "score.value": 0.8}],
    }
    assert tool.data["gen_ai"]["tool_name"] == "lookup_order"
    assert agent.data["attributes"] == {"shop.region": "eu"}
    assert agent.data["resource"]["service.name"] == "refund-service"
    assert agent.data["otel"]["scope"] == {"name": "refund.agent", "version": "0.1"}
    decision = agent.decision
    assert decision.reasoning.startswith("Parcel arrived 9 days late")
    assert decision.alternatives == ["refuse", "voucher"]
    assert decision.rejection_reasons == {"refuse": "late delivery is ours"}
    assert (decision.confidence, decision.risk_level) == (0.92, RiskLevel.HIGH)
    assert decision.requires_approval is True
    (obj,) = agent.objects
    assert (obj.type, obj.id) == (ObjectType.ORDER, "ord-7")
    assert "decision.reasoning" not in agent.data.get("attributes", {})
    assert agent.tags == ("otlp",)
    assert agent.source_system == "refund-service"


def test_otlp_events_without_gen_ai_are_by_the_service():
    """No gen_ai.* attribute: the service is a compute actor; the span name is the type."""
    sync = _by_type(otlp_events(otlp_parse_protobuf(_protobuf())))["nightly sync"]
    assert sync.actor.type == ActorType.COMPUTE
    assert (sync.actor.id, sync.actor.service_name) == ("refund-service", "refund-service")
    assert sync.decision is None
    assert sync.objects == ()
    assert sync.duration == 60.0


def test_otlp_json_and_protobuf_give_the_same_events():
    """The same request as OTLP/JSON (hex ids) maps to the same events."""
    body = _protobuf()
    from_json = otlp_events(otlp_parse_json(json.dumps(_otlp_json(body)).encode()))
    assert from_json == otlp_events(otlp_parse_protobuf(body))


def test_otlp_events_are_stable_and_a_span_sent_twice_counts_once():
    """Mapping the same body twice gives the same ids; a duplicated span is one event."""
    body = _protobuf()
    first = otlp_events(otlp_parse_protobuf(body))
    request = otlp_parse_protobuf(body)
    request.resource_spans.append(copy.deepcopy(request.resource_spans[0]))
    assert otlp_events(request) == first


def _json_span(**span: Any) -> bytes:
    base = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "s",
        "startTimeUnixNano": str(T0_NS),
        "endTimeUnixNano": str(T0_NS + 1),
    }
    base.update(span)
    base = {k: v for k, v in base.items() if v is not None}
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [base]}]}]}).encode()


def _attr(key: str, **value: Any) -> dict[str, Any]:
    return {"key": key, "value": value}


MALFORMED_JSON = {
    "not json": b"{resourceSpans",
    "not utf-8": b"\xff\xfe{}",
    "a list": b"[]",
    "spans not a list": json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": 3}]}]}).encode(),
    "trace id short": _json_span(traceId="abc"),
    "trace id not hex": _json_span(traceId="z" * 32),
    "trace id a number": _json_span(traceId=12),
    "trace id all zero": _json_span(traceId="0" * 32),
    "no span id": _json_span(spanId=None),
    "parent id short": _json_span(parentSpanId="ab"),
    "start not a number": _json_span(startTimeUnixNano="soon"),
    "end before start": _json_span(endTimeUnixNano=str(T0_NS - 1)),
    "time past year 9999": _json_span(startTimeUnixNano=str(2**63 - 1)),
    "negative time": _json_span(startTimeUnixNano="-5"),
    "NUL in the name": _json_span(name="a\x00b"),
    "lone surrogate": b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "\\ud800"}]}]}]}',
    "confidence above 1": _json_span(attributes=[_attr("decision.confidence", doubleValue=5)]),
    "unknown risk level": _json_span(attributes=[_attr("decision.risk_level", stringValue="x")]),
    "approval not a bool": _json_span(
        attributes=[_attr("decision.requires_approval", stringValue="yes")]
    ),
    "unknown object type": _json_span(
        attributes=[_attr("object.type", stringValue="planet"), _attr("object.id", stringValue="p")]
    ),
    "object without id": _json_span(attributes=[_attr("object.type", stringValue="order")]),
    "agent id too long": _json_span(attributes=[_attr("gen_ai.agent.id", stringValue="a" * 300)]),
}


@pytest.mark.parametrize("body", MALFORMED_JSON.values(), ids=MALFORMED_JSON.keys())
def test_otlp_malformed_json_is_a_format_error(body):
    """Wrong, missing, hostile, out-of-range: a FormatError with the reason, never another error."""
    with pytest.raises(FormatError) as error:
        otlp_events(otlp_parse_json(body))
    assert str(error.value)


@pytest.mark.parametrize(
    "body", [b"\x0a\xff\xff\xff\xff\x0f", b"\x12", b"garbage that is not protobuf \xff"]
)
def test_otlp_malformed_protobuf_is_a_format_error(body):
    """Bytes that are not an ExportTraceServiceRequest: a FormatError."""
    with pytest.raises(FormatError):
        otlp_events(otlp_parse_protobuf(body))


def test_otlp_events_refuse_more_than_max_spans():
    """More than MAX_SPANS spans in one request: refused as a whole."""
    spans = [
        {
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": f"{i + 1:016x}",
            "name": "s",
            "startTimeUnixNano": str(T0_NS),
        }
        for i in range(MAX_SPANS + 1)
    ]
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).encode()
    with pytest.raises(FormatError, match=f"at most {MAX_SPANS} spans"):
        otlp_events(otlp_parse_json(body))


@pytest.mark.django_db
def test_otlp_ingest_stores_one_chain_and_resent_spans_add_nothing():
    """The spans become one chain; sending them again stores nothing new."""
    body = _protobuf()
    events = otlp_events(otlp_parse_protobuf(body))
    assert len(otlp_ingest(events=events)) == 4
    root = _by_type(events)["gen_ai.invoke_agent"]
    chain = event_chain(root.id)
    assert (chain[0][0], chain[0][1].event_type) == (0, "gen_ai.invoke_agent")
    assert sorted(depth for depth, _ in chain) == [0, 1, 1]
    decision = Decision.objects.get(target_id=root.id)
    assert decision.outcome == DecisionOutcome.PENDING
    assert otlp_ingest(events=otlp_events(otlp_parse_protobuf(body))) == []
    assert EventRecord.objects.count() == 4
    assert Decision.objects.count() == 1


@pytest.mark.django_db
def test_otlp_ingest_child_before_its_parent_starts_its_own_chain():
    """A span whose parent was not sent (yet): stored as a root, the parent span id kept."""
    events = _by_type(otlp_events(otlp_parse_protobuf(_protobuf())))
    tool = events["gen_ai.execute_tool"]
    (stored_id,) = otlp_ingest(events=[tool])
    row = EventRecord.objects.get(pk=stored_id)
    assert row.parent_id is None
    assert (
        row.data["otel"]["parent_span_id"] == events["gen_ai.invoke_agent"].data["otel"]["span_id"]
    )
    # The rest arrives later: the parent and the other child link up; nothing is stored twice.
    assert len(otlp_ingest(events=list(events.values()))) == 3
    chat = EventRecord.objects.get(pk=events["gen_ai.chat"].id)
    assert str(chat.parent_id) == events["gen_ai.invoke_agent"].id


@pytest.mark.django_db
def test_otlp_ingest_nothing_partial():
    """One event the services refuse (a decision type too long for approval): nothing stored."""
    events = otlp_events(otlp_parse_protobuf(_protobuf()))
    bad = TraceEvent(
        event_type="gen_ai.chat",
        decision=DecisionTrace(reasoning="r", action="a" * 200, requires_approval=True),
    )
    with pytest.raises(TraceValidationError, match="decision type"):
        otlp_ingest(events=[*events, bad])
    assert not EventRecord.objects.exists()
    assert not Decision.objects.exists()
