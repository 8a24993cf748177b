"""The HTTP transport: the seed API over a Decision Trace server's ``/api/v1``.

Every request has a timeout and verifies TLS unless told otherwise. Connection
errors, 5xx and 429 answers are retried with exponential backoff and full
jitter (``Retry-After`` is honoured); a POST is retried with the same
``Idempotency-Key``, so the server stores it once. Bad input (400, 422, 409)
is a ``TraceValidationError`` with the server's message, the same words the
in-process client uses; anything else the server refuses is an ``ApiError``.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx

from decision_trace.approvals import MAX_WAIT_SECONDS, DecisionResult
from decision_trace.enums import ObjectType
from decision_trace.exceptions import (
    BAD_OFFSET,
    NO_OBJECT_KEY,
    NOT_A_LIST,
    ApiError,
    ConfigurationError,
    DecisionClaimedError,
    TraceValidationError,
)
from decision_trace.results import EventChain, EventList
from decision_trace.transport import QueryFilters, Receipt
from decision_trace.validation import (
    MAX_OFFSET,
    TraceJSONEncoder,
    aware,
    check_choice,
    check_event_id,
)
from decision_trace.values import TraceEvent
from decision_trace.version import __version__

__all__ = ["MAX_EVENTS_PER_REQUEST", "HttpTransport"]

logger = logging.getLogger("decision_trace")

MAX_EVENTS_PER_REQUEST: Final = 1_000
_MAX_PAGE: Final = 500
_MAX_RETRY_AFTER: Final = 300.0
_RETRYABLE_STATUS: Final = frozenset({429, 500, 502, 503, 504})
_PARAMETERS: Final = {
    "event_types": "event_type",
    "actor_types": "actor_type",
    "actor_ids": "actor",
    "object_types": "object_type",
    "object_ids": "object_id",
    "outcomes": "outcome",
    "tags": "tag",
    "risk_levels": "risk",
    "correlation_id": "correlation_id",
}
_NEEDS_OBJECT_TYPE = (
    "Over HTTP get_object_history() without object_type returns one page only "
    "(at most limit events, no cursor); pass object_type to page through a longer history."
)
_NO_APPROVAL_FILTER = (
    "Over HTTP requires_approval=False cannot be asked (the API filters events that need "
    "approval, approval=required); pass True or leave it out."
)


def _text(value: object) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return aware("datetime", value).isoformat()
    return str(value)


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), else ``None``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), _MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return min(max(0.0, when.timestamp() - current), _MAX_RETRY_AFTER)


class HttpTransport:
    """Talks to ``{base_url}/api/v1``; one ``httpx.Client`` (thread-safe pool) per transport.

    Args:
        base_url: the server's root (``https://traces.example.com``); a
            trailing ``/api/v1`` is accepted.
        token: the API token (``Authorization: Bearer``); ``None`` sends none.
        timeout: seconds for every call (connect, read, write, pool).
        verify: TLS verification: ``True`` (default), ``False`` or a CA bundle path.
        max_retries: attempts after the first for connection errors, 5xx and 429.
        backoff, max_backoff: the first retry delay and its cap, in seconds.
    """

    background_safe = True

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 10.0,
        verify: bool | str = True,
        max_retries: int = 8,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigurationError(
                f"base_url must be an http:// or https:// URL such as "
                f"'https://traces.example.com'; got {base_url!r}."
            )
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigurationError(f"timeout must be a number of seconds > 0; got {timeout!r}.")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(
                f"max_retries must be a whole number >= 0; got {max_retries!r}."
            )
        root = base_url.rstrip("/").removesuffix("/api/v1")
        self._root = root
        self.max_retries = max_retries
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        headers = {
            "Accept": "application/json",
            "User-Agent": f"decision-trace-sdk/{__version__}",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=f"{root}/api/v1/",
            headers=headers,
            timeout=httpx.Timeout(float(timeout)),
            verify=verify,
        )
        self._lock = threading.Lock()
        self._retried = 0

    def __repr__(self) -> str:
        return f"<HttpTransport {self._root}>"

    @property
    def destination(self) -> str:
        return self._root

    @property
    def retried(self) -> int:
        """Requests repeated after a connection error, a 5xx or a 429 (since creation)."""
        return self._retried

    def close(self) -> None:
        self._client.close()

    # The request loop ----------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        body: object = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """One call with retries; returns the first answer that is neither 5xx nor 429.

        Raises:
            ApiError: the server could not be reached, or kept failing, after
                every retry (``status`` 0 or the last status).
        """
        headers = {}
        content = None
        if isinstance(body, JsonBody):
            content = body.content
            headers["Content-Type"] = "application/json"
        elif body is not None:
            content = _json_bytes(body)
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        query = None if params is None else httpx.QueryParams(tuple(params))
        attempt = 0
        while True:
            status = 0
            wait: float | None = None
            try:
                response = self._client.request(
                    method,
                    path,
                    params=query,
                    content=content,
                    headers=headers,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                )
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code not in _RETRYABLE_STATUS:
                    return response
                status = response.status_code
                reason = f"HTTP {status} {_error_message(response)}"
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt >= self.max_retries:
                raise ApiError(
                    f"{method} {path} failed after {attempt + 1} attempt(s): {reason}",
                    status=status,
                    code="unavailable",
                )
            if wait is None:
                wait = random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))
            attempt += 1
            with self._lock:
                self._retried += 1
            logger.info(
                "decision_trace: %s %s: %s; retry %d in %.2f s", method, path, reason, attempt, wait
            )
            time.sleep(wait)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(
                f"The server's answer is not JSON (HTTP {response.status_code}).",
                status=response.status_code,
                code="bad_response",
            ) from exc

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code < 400:
            return self._json(response)
        raise _error(response)

    # Writing -------------------------------------------------------------

    def send(self, events: Sequence[TraceEvent], *, idempotency_key: str | None) -> list[Receipt]:
        """POST the events, at most 1,000 per request, in order; parents must come first."""
        return self.prepare(events)(idempotency_key)

    def prepare(self, events: Sequence[TraceEvent]) -> Callable[[str | None], list[Receipt]]:
        """Encode the events' request bodies now; the function returned POSTs them.

        The buffered sender encodes the next batch while the previous one is
        on the wire. The function takes the Idempotency-Key (``None``: a new one).
        """
        chunks = [
            (len(chunk), JsonBody(_json_bytes({"events": [event.to_dict() for event in chunk]})))
            for chunk in _chunks(events, MAX_EVENTS_PER_REQUEST)
        ]

        def post(idempotency_key: str | None) -> list[Receipt]:
            key = idempotency_key or uuid.uuid4().hex
            receipts: list[Receipt] = []
            for index, (count, body) in enumerate(chunks):
                chunk_key = key if len(chunks) == 1 else f"{key}-{index}"
                answer = self._ok(
                    self.request("POST", "events", body=body, idempotency_key=chunk_key)
                )
                receipts.extend(_receipts(answer, count))
            return receipts

        return post

    # Reading -------------------------------------------------------------

    def _params(self, filters: QueryFilters) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        for name, value in filters.items():
            if name == "start":
                params.append(("since", _text(value)))
            elif name == "end":
                params.append(("until", _text(value)))
            elif name == "requires_approval":
                if value is False:
                    raise TraceValidationError(_NO_APPROVAL_FILTER)
                params.append(("approval", "required"))
            elif name in ("correlation_id", "known_at"):
                params.append((name, _text(value)))
            elif isinstance(value, list):
                params.extend((_PARAMETERS[name], _text(item)) for item in value)
            else:
                raise TraceValidationError(NOT_A_LIST.format(field=name, got=type(value).__name__))
        return params

    def _page(
        self, path: str, params: list[tuple[str, str]], limit: int, cursor: str | None
    ) -> tuple[list[TraceEvent], str | None]:
        query = [*params, ("limit", _text(limit))]
        if cursor is not None:
            query.append(("cursor", cursor))
        answer = self._ok(self.request("GET", path, params=query))
        return _events(answer.get("results")), answer.get("next_cursor")

    def query(
        self, filters: QueryFilters, *, limit: int, cursor: str | None, offset: int | None
    ) -> EventList:
        params = self._params(filters)
        if offset:
            if (
                isinstance(offset, bool)
                or not isinstance(offset, int)
                or not 0 <= offset <= MAX_OFFSET
                or cursor is not None
            ):
                raise TraceValidationError(BAD_OFFSET.format(max_offset=MAX_OFFSET))
            # Skip whole pages exactly, so the page asked for keeps its cursor.
            skip = offset
            while skip:
                skipped, cursor = self._page("events", params, min(skip, _MAX_PAGE), cursor)
                skip -= len(skipped)
                if cursor is None:
                    return EventList([], None)
        events, next_cursor = self._page("events", params, limit, cursor)
        return EventList(events, next_cursor)

    def search(self, text: str, *, limit: int, filters: QueryFilters) -> list[TraceEvent]:
        params = [("q", _text(text)), *self._params(filters), ("limit", _text(limit))]
        answer = self._ok(self.request("GET", "search", params=params))
        return _events(answer.get("results"))

    def get_decision(self, decision_id: str, *, wait: float) -> DecisionResult | None:
        pk = check_event_id("decision id", decision_id)
        seconds = max(0, min(MAX_WAIT_SECONDS, math.ceil(wait)))
        # The server may hold the answer ``seconds``; the read timeout leaves room for that.
        read = self._client.timeout.read or 10.0
        response = self.request(
            "GET",
            f"decisions/{pk}",
            params=[("wait", str(seconds))],
            timeout=seconds + read,
        )
        if response.status_code == 404:
            return None
        return self._decision_of(response)

    def _decision_answer(self, response: httpx.Response, decision_id: str) -> DecisionResult:
        if response.status_code == 404:
            raise ApiError(
                f"No review decision has the id {decision_id!r}.", status=404, code="not_found"
            )
        if response.status_code == 409:
            error = _error_body(response)
            if error.get("code") == "decision_claimed":
                details = error.get("details")
                claim = details[0] if isinstance(details, list) and details else {}
                claim = claim if isinstance(claim, Mapping) else {}
                raise DecisionClaimedError(
                    _error_message(response),
                    by=_optional_text(claim.get("by")),
                    since=_optional_text(claim.get("since")),
                    expires_at=_optional_text(claim.get("expires_at")),
                )
        return self._decision_of(response)

    def _decision_of(self, response: httpx.Response) -> DecisionResult:
        """The decision resource of a successful answer (``_ok`` raises for the others)."""
        answer = self._ok(response)
        if not isinstance(answer, Mapping):
            raise ApiError(
                "The server's decision is not an object.",
                status=response.status_code,
                code="bad_response",
            )
        return DecisionResult.from_resource(answer)

    def claim_decision(self, decision_id: str, *, force: bool) -> DecisionResult:
        """POST ``decisions/{id}/claim``: claim or renew; ``force`` takes over another's claim."""
        pk = check_event_id("decision id", decision_id)
        response = self.request(
            "POST",
            f"decisions/{pk}/claim",
            body={"force": force},
            idempotency_key=uuid.uuid4().hex,
        )
        return self._decision_answer(response, decision_id)

    def release_decision(self, decision_id: str) -> DecisionResult:
        """DELETE ``decisions/{id}/claim``: release our claim (none: nothing changes)."""
        pk = check_event_id("decision id", decision_id)
        return self._decision_answer(self.request("DELETE", f"decisions/{pk}/claim"), decision_id)

    def get_event(self, event_id: str, *, known_at: datetime | None = None) -> TraceEvent | None:
        pk = check_event_id("event id", event_id)
        params = [] if known_at is None else [("known_at", _text(known_at))]
        response = self.request("GET", f"events/{pk}", params=params)
        if response.status_code == 404:
            return None
        return TraceEvent.from_dict(self._ok(response))

    def get_chain(self, event_id: str) -> EventChain:
        pk = check_event_id("event id", event_id)
        response = self.request("GET", f"events/{pk}/chain")
        if response.status_code == 404:
            return EventChain()
        results = self._ok(response).get("results") or []
        return EventChain(
            (int(item["depth"]), TraceEvent.from_dict(item["event"])) for item in results
        )

    def object_history(
        self,
        *,
        external_id: str | None,
        object_type: str | None,
        object_id: str | None,
        limit: int,
        cursor: str | None,
        known_at: datetime | None = None,
    ) -> EventList:
        key = object_id if object_id is not None else external_id
        if key is None:
            raise TraceValidationError(NO_OBJECT_KEY)
        known = [] if known_at is None else [("known_at", _text(known_at))]
        if object_type is None:
            return self._untyped_history(str(key), limit=limit, cursor=cursor, known=known)
        kind = check_choice("object_type", object_type, ObjectType).value
        path = f"objects/{quote(kind, safe='')}/{quote(str(key), safe='')}/history"
        try:
            events, next_cursor = self._page(path, known, limit, cursor)
        except ApiError as exc:
            if exc.status != 404:
                raise
            return EventList()  # an object no event touched, as in-process
        return EventList(events, next_cursor)

    def _untyped_history(
        self, key: str, *, limit: int, cursor: str | None, known: list[tuple[str, str]]
    ) -> EventList:
        """Every type's history of ``key``: the events touching it, read newest first, reversed.

        The API's history path names the type; without one the SDK reads
        ``/events?object_id=`` whole, so it needs the history to fit one page.
        """
        if cursor is not None:
            raise TraceValidationError(_NEEDS_OBJECT_TYPE)
        params = [("object_id", key), *known]
        events: list[TraceEvent] = []
        next_cursor: str | None = None
        while True:
            page, next_cursor = self._page("events", params, _MAX_PAGE, next_cursor)
            events.extend(page)
            if next_cursor is None:
                break
            if len(events) > limit:
                raise TraceValidationError(_NEEDS_OBJECT_TYPE)
        if len(events) > limit:
            raise TraceValidationError(_NEEDS_OBJECT_TYPE)
        return EventList(reversed(events), None)

    def stats(self) -> dict[str, Any]:
        totals = dict(self._ok(self.request("GET", "stats")))
        for name in ("first_event_at", "last_event_at"):
            value = totals.get(name)
            if isinstance(value, str):
                totals[name] = datetime.fromisoformat(value)
        return totals


@dataclass(frozen=True)
class JsonBody:
    """A request body already encoded as JSON."""

    content: bytes


def _json_bytes(body: object) -> bytes:
    return json.dumps(body, cls=TraceJSONEncoder, separators=(",", ":")).encode()


def _receipts(answer: object, count: int) -> list[Receipt]:
    """The receipts of a POST /events answer that lists the ``count`` events sent."""
    items = answer.get("events") if isinstance(answer, Mapping) else None
    if not isinstance(items, list) or len(items) != count:
        raise ApiError(
            "The server's answer to POST /events does not list the events sent.",
            status=200,
            code="bad_response",
        )
    return [
        Receipt(
            id=str(item.get("id")),
            duplicate=bool(item.get("duplicate")),
            decision_id=None if item.get("decision_id") is None else str(item["decision_id"]),
        )
        for item in items
    ]


def _chunks(events: Sequence[TraceEvent], size: int) -> Iterator[Sequence[TraceEvent]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


def _events(results: object) -> list[TraceEvent]:
    if not isinstance(results, list):
        raise ApiError(
            "The server's answer has no list of results.", status=200, code="bad_response"
        )
    return [TraceEvent.from_dict(item) for item in results]


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _error_body(response: httpx.Response) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, Mapping) else None
    return error if isinstance(error, Mapping) else {}


def _error_message(response: httpx.Response) -> str:
    message = _error_body(response).get("message")
    return str(message) if message else response.reason_phrase


def _error(response: httpx.Response) -> Exception:
    """The exception for a 4xx answer: bad input is a ``TraceValidationError``."""
    error = _error_body(response)
    code = str(error.get("code") or response.reason_phrase or "error")
    message = str(error.get("message") or f"HTTP {response.status_code}")
    details = error.get("details")
    if response.status_code in {400, 409, 413, 422}:
        if isinstance(details, list) and details:
            texts = [
                str(detail.get("message"))
                for detail in details
                if isinstance(detail, Mapping) and detail.get("message")
            ]
            if texts:
                message = " ".join(dict.fromkeys(texts))
        return TraceValidationError(message)
    return ApiError(
        f"HTTP {response.status_code} {code}: {message}", status=response.status_code, code=code
    )
