"""``POST /api/v1/otlp/v1/traces``: OpenTelemetry spans over OTLP/HTTP (protobuf or JSON).

An exporter sends ``ExportTraceServiceRequest`` bodies as ``application/x-protobuf``
or ``application/json`` (optionally gzip-compressed), with a service token that
holds ``events:write``. The spans become events (``traces.formats.otlp``) stored
in one transaction through ``trace_record_many``: all of them or none. A span
sent again is the same event and is not stored twice. The answer is OTLP's
empty ``ExportTraceServiceResponse`` in the request's encoding; refusals use the
API's error shape: 400 malformed (with the reason), 401, 403, 413 (the body,
or the body once decompressed, is over ``TRACES_API_MAX_BODY_BYTES``), 415.
"""

from __future__ import annotations

import zlib

from django.http import HttpRequest, HttpResponse
from ninja import Router
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from decision_trace.exceptions import TraceValidationError
from traces.api.auth import require
from traces.api.conf import get_max_body_bytes
from traces.api.errors import ApiError
from traces.api.events import ERRORS
from traces.api.models import Scope
from traces.api.schemas import ErrorOut
from traces.formats.exceptions import FormatError
from traces.formats.otlp import otlp_events, otlp_ingest, otlp_parse_json, otlp_parse_protobuf

__all__ = ["router"]

router = Router(tags=["otlp"])

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def _body(request: HttpRequest) -> bytes:
    body = request.body
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise ApiError(415, "unsupported_encoding", "Content-Encoding must be gzip or identity.")
    limit = get_max_body_bytes()
    inflater = zlib.decompressobj(wbits=31)
    try:
        # Bounded: a small body that inflates past the limit is refused, not inflated.
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ApiError(400, "bad_request", f"The gzip body cannot be read: {exc}.") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise ApiError(
            413, "payload_too_large", f"The body may be at most {limit} bytes once decompressed."
        )
    if not inflater.eof:
        raise ApiError(400, "bad_request", "The gzip body is cut short.")
    return data


def _request(request: HttpRequest) -> tuple[ExportTraceServiceRequest, str]:
    content_type = request.content_type or ""
    if content_type not in (PROTOBUF, JSON):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Send OTLP as {PROTOBUF} or {JSON}; got {content_type[:60]!r}.",
        )
    body = _body(request)
    parse = otlp_parse_protobuf if content_type == PROTOBUF else otlp_parse_json
    try:
        return parse(body), content_type
    except FormatError as exc:
        raise ApiError(400, "bad_request", f"The OTLP request is malformed: {exc}") from None


@router.post(
    "/otlp/v1/traces",
    response={200: None, **ERRORS, 415: ErrorOut},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
                JSON: {"schema": {"type": "object"}},
            },
        }
    },
)
def otlp_traces(request: HttpRequest) -> HttpResponse:
    """Store the spans of an OTLP trace request; re-sent spans are not stored twice."""
    require(request, Scope.EVENTS_WRITE)
    message, content_type = _request(request)
    try:
        events = otlp_events(message)
        otlp_ingest(events=events)
    except FormatError as exc:
        raise ApiError(400, "bad_request", f"The OTLP request is malformed: {exc}") from None
    except TraceValidationError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    answer = ExportTraceServiceResponse()
    if content_type == PROTOBUF:
        return HttpResponse(answer.SerializeToString(), content_type=PROTOBUF)
    return HttpResponse(b"{}", content_type=JSON)
