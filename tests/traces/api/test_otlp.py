"""POST /api/v1/otlp/v1/traces: real OpenTelemetry SDK spans to a live server, and refusals."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest
from django.test import override_settings
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from decisioning.models import Decision, DecisionOutcome
from tests.traces.api.conftest import ApiClient
from traces.formats.otlp import otlp_parse_protobuf, span_event_id
from traces.models import EventRecord

URL = "/api/v1/otlp/v1/traces"


def _run_agent(provider: TracerProvider) -> None:
    """An agent run with the GenAI conventions: agent, tool, model call (failing)."""
    tracer = provider.get_tracer("refund.agent", "0.1")
    with tracer.start_as_current_span(
        "invoke_agent Refund assistant",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "Refund assistant",
            "gen_ai.agent.id": "refund-ai",
            "gen_ai.request.model": "gpt-4o",
            "decision.reasoning": "Parcel 9 days late; policy R-3",
            "decision.alternatives": ["refuse", "voucher"],
            "decision.risk_level": "high",
            "decision.requires_approval": True,
            "object.type": "order",
            "object.id": "ord-7",
        },
    ):
        with tracer.start_as_current_span(
            "execute_tool lookup_order",
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"},
        ):
            pass
        with tracer.start_as_current_span(
            "chat gpt-4o",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 1200,
                "gen_ai.usage.output_tokens": 85,
            },
        ) as chat:
            chat.set_status(Status(StatusCode.ERROR, "rate limited"))


def _provider(exporter: Any, *, batch: bool) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "refund-service"}))
    provider.add_span_processor(
        BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    )
    return provider


@pytest.mark.django_db(transaction=True)
def test_otlp_sdk_spans_over_http_are_one_chain(live_server, root, token_for, client):
    """The real SDK and OTLP/HTTP exporter send spans; the API reads them back as one chain."""
    token = token_for(root, ["events:write", "events:read", "decisions:read"])
    exporter = OTLPSpanExporter(
        endpoint=f"{live_server.url}{URL}", headers={"Authorization": f"Bearer {token}"}
    )
    provider = _provider(exporter, batch=True)
    _run_agent(provider)
    assert provider.force_flush(timeout_millis=30_000)
    provider.shutdown()
    assert EventRecord.objects.count() == 3
    root_row = EventRecord.objects.get(depth=0)
    api = ApiClient(client, token)
    chain = api.get(f"/api/v1/events/{root_row.pk}/chain").json()["results"]
    assert [item["depth"] for item in chain] == [0, 1, 1]
    events = {item["event"]["data"]["event_type"]: item["event"] for item in chain}
    agent = events["gen_ai.invoke_agent"]
    assert agent["data"]["actor"]["type"] == "ai_agent"
    assert agent["data"]["actor"]["model"] == "gpt-4o"
    assert agent["data"]["decision"]["risk_level"] == "high"
    assert agent["data"]["objects"][0]["id"] == "ord-7"
    assert agent["approval"]["status"] == "pending"
    chat = events["gen_ai.chat"]
    assert (chat["data"]["outcome"], chat["data"]["error"]) == ("failure", "rate limited")
    assert chat["data"]["data"]["gen_ai"]["input_tokens"] == 1200
    assert {item["event"]["data"]["correlation_id"] for item in chain} == {
        agent["data"]["data"]["otel"]["trace_id"]
    }


def _body() -> tuple[bytes, list[Any]]:
    memory = InMemorySpanExporter()
    _run_agent(_provider(memory, batch=False))
    spans = list(memory.get_finished_spans())
    return encode_spans(spans).SerializeToString(), spans


def test_otlp_protobuf_resent_adds_nothing(api):
    """The same body twice: 200 both times (an empty protobuf answer); 3 events, 1 Decision."""
    body, _ = _body()
    for _ in range(2):
        response = api.client.post(
            URL, body, content_type="application/x-protobuf", headers=api._headers(None)
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "application/x-protobuf"
        ExportTraceServiceResponse.FromString(response.content)
    assert EventRecord.objects.count() == 3
    assert Decision.objects.get().outcome == DecisionOutcome.PENDING


def test_otlp_json_and_gzip(api):
    """OTLP/JSON (hex ids), gzip-compressed: stored like protobuf, answered with {}."""
    body, spans = _body()
    document = json_format.MessageToDict(otlp_parse_protobuf(body))
    for rs in document["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for name in ("traceId", "spanId", "parentSpanId"):
                    if name in span:
                        span[name] = base64.b64decode(span[name]).hex()
    response = api.client.post(
        URL,
        gzip.compress(json.dumps(document).encode()),
        content_type="application/json",
        headers={**api._headers(None), "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.json() == {}
    context = spans[0].get_span_context()
    expected = span_event_id(
        context.trace_id.to_bytes(16, "big"), context.span_id.to_bytes(8, "big")
    )
    assert EventRecord.objects.filter(pk=expected).exists()


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("application/x-protobuf", b"\x0a\xff\xff\xff\xff\x0f", 400, "bad_request"),
        ("application/json", b"{not json", 400, "bad_request"),
        (
            "application/json",
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
            400,
            "bad_request",
        ),
        ("application/json", b'{"resourceSpans": "x"}', 400, "bad_request"),
        ("text/plain", b"hello", 415, "unsupported_media_type"),
    ],
    ids=["bad protobuf", "bad json", "bad trace id", "wrong shape", "wrong media type"],
)
def test_otlp_malformed_is_refused_with_the_reason(api, content_type, body, status, code):
    """Malformed payloads: 4xx in the API's error shape, with the reason; nothing stored."""
    response = api.client.post(URL, body, content_type=content_type, headers=api._headers(None))
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert not EventRecord.objects.exists()


def test_otlp_one_bad_span_stores_nothing(api):
    """A request with one span the mapping refuses: 400, and none of the good spans stored."""
    body, _ = _body()
    request = otlp_parse_protobuf(body)
    request.resource_spans[0].scope_spans[0].spans[-1].end_time_unix_nano = 1
    response = api.client.post(
        URL,
        request.SerializeToString(),
        content_type="application/x-protobuf",
        headers=api._headers(None),
    )
    assert response.status_code == 400
    assert "endTimeUnixNano" in response.json()["error"]["message"]
    assert not EventRecord.objects.exists()


@override_settings(TRACES_API_MAX_BODY_BYTES=2_000)
def test_otlp_oversize_is_413(api):
    """A body over the limit, or a small gzip body that inflates past it: 413, nothing stored."""
    body, _ = _body()
    big = body * 3
    response = api.client.post(
        URL, big, content_type="application/x-protobuf", headers=api._headers(None)
    )
    assert response.status_code == 413
    bomb = gzip.compress(b"\x00" * 1_000_000)
    response = api.client.post(
        URL,
        bomb,
        content_type="application/x-protobuf",
        headers={**api._headers(None), "Content-Encoding": "gzip"},
    )
    assert response.status_code == 413
    assert not EventRecord.objects.exists()


def test_otlp_needs_a_token_with_events_write(client, make_user, token_for):
    """No token: 401 with a challenge; a read-only token: 403; nothing stored."""
    body, _ = _body()
    response = client.post(URL, body, content_type="application/x-protobuf")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    reader = make_user("superuser")
    read_only = ApiClient(client, token_for(reader, ["events:read"]))
    response = read_only.client.post(
        URL, body, content_type="application/x-protobuf", headers=read_only._headers(None)
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    assert not EventRecord.objects.exists()
