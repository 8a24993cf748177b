"""W3C Trace Context (``traceparent``/``tracestate``) between services.

A ``traceparent`` carries a 16-byte trace id and an 8-byte parent id. Here the
trace id is the correlation id and the parent is the event the callee's events
become children of. An event id is a 16-byte UUID, too long for the parent
field, so the full id and the correlation id's text travel in ``tracestate``
under the keys ``dt`` and ``dtc``; the ``traceparent`` parent id is the event
id's last 8 bytes, which is how the callee checks the two belong together. A
``traceparent`` from another system (no ``dt``) gives the correlation id only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Mapping, MutableMapping
from contextlib import ContextDecorator
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Self

from decision_trace.validation import ID_LENGTH

__all__ = ["TRACEPARENT", "TRACESTATE", "TraceContext", "extract_context", "inject_context"]

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_TRACESTATE_MAX = 512
_KEY_EVENT = "dt"
_KEY_CORRELATION = "dtc"


class TraceContext(ContextDecorator):
    """A caller's correlation id and parent event; ``with`` makes it current.

    Inside the block, events that name no parent become children of
    ``parent_event_id`` and events with no correlation id take
    ``correlation_id``. Usable as a decorator too.
    """

    def __init__(
        self,
        correlation_id: str | None = None,
        parent_event_id: str | None = None,
        *,
        var: ContextVar[TraceContext | None] | None = None,
    ) -> None:
        self.correlation_id = correlation_id
        self.parent_event_id = parent_event_id
        self._var = var
        self._tokens: list[Token[TraceContext | None]] = []

    def __repr__(self) -> str:
        return f"<TraceContext correlation={self.correlation_id!r} parent={self.parent_event_id!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TraceContext):
            return NotImplemented
        return (self.correlation_id, self.parent_event_id) == (
            other.correlation_id,
            other.parent_event_id,
        )

    def __hash__(self) -> int:
        return hash((self.correlation_id, self.parent_event_id))

    def __enter__(self) -> Self:
        if self._var is None:
            raise RuntimeError("Only a context from client.extract() can be entered.")
        self._tokens.append(self._var.set(self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._var is not None
        self._var.reset(self._tokens.pop())


def _trace_id(correlation_id: str | None) -> str:
    if correlation_id is None:
        return uuid.uuid4().hex
    compact = correlation_id.replace("-", "").lower()
    if _HEX32.fullmatch(compact) and compact != "0" * 32:
        return compact
    return hashlib.sha256(correlation_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def inject_context(headers: MutableMapping[str, str], context: TraceContext) -> None:
    """Set ``traceparent`` and put this SDK's keys first in ``tracestate``."""
    event_hex = uuid.UUID(context.parent_event_id).hex if context.parent_event_id else None
    parent = event_hex[16:] if event_hex else uuid.uuid4().hex[16:]
    headers[TRACEPARENT] = f"00-{_trace_id(context.correlation_id)}-{parent}-01"
    members = []
    if event_hex:
        members.append(f"{_KEY_EVENT}={event_hex}")
    if context.correlation_id is not None:
        encoded = base64.urlsafe_b64encode(context.correlation_id.encode()).decode().rstrip("=")
        if len(encoded) <= 240:
            members.append(f"{_KEY_CORRELATION}={encoded}")
    existing = _header(headers, TRACESTATE)
    if existing:
        members.extend(
            member.strip()
            for member in existing.split(",")
            if member.strip()
            and member.split("=", 1)[0].strip() not in {_KEY_EVENT, _KEY_CORRELATION}
        )
    for key in [key for key in headers if key.lower() == TRACESTATE]:
        del headers[key]
    value = ""
    for member in members:
        candidate = f"{value},{member}" if value else member
        if len(candidate) > _TRACESTATE_MAX:
            break
        value = candidate
    if value:
        headers[TRACESTATE] = value


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value if isinstance(value, str) else None


def extract_context(
    headers: Mapping[str, str], var: ContextVar[TraceContext | None]
) -> TraceContext:
    """The context in ``headers``; an absent or malformed ``traceparent`` gives an empty one."""
    raw = (_header(headers, TRACEPARENT) or "").strip().lower()
    match = _TRACEPARENT.fullmatch(raw)
    if (
        match is None
        or match.group(1) == "ff"
        or (match.group(1) == "00" and match.group(5))
        or match.group(2) == "0" * 32
        or match.group(3) == "0" * 16
    ):
        return TraceContext(var=var)
    trace_id, parent_id = match.group(2), match.group(3)
    state = _tracestate(_header(headers, TRACESTATE) or "")
    parent_event_id = None
    event_hex = state.get(_KEY_EVENT, "").lower()
    if _HEX32.fullmatch(event_hex) and event_hex[16:] == parent_id:
        parent_event_id = str(uuid.UUID(event_hex))
    correlation = _decode_correlation(state.get(_KEY_CORRELATION))
    if correlation is None or _trace_id(correlation) != trace_id:
        correlation = trace_id
    return TraceContext(correlation_id=correlation, parent_event_id=parent_event_id, var=var)


def _tracestate(text: str) -> dict[str, str]:
    members: dict[str, str] = {}
    for member in text[:_TRACESTATE_MAX].split(","):
        key, sep, value = member.strip().partition("=")
        if sep and key not in members:
            members[key] = value
    return members


def _decode_correlation(encoded: str | None) -> str | None:
    if not encoded:
        return None
    try:
        text = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not text.strip() or len(text) > ID_LENGTH or "\x00" in text:
        return None
    return text
