"""A real HTTP server on a real port that speaks the events part of the /api/v1 contract.

It keeps events in memory, honours ``Idempotency-Key`` (same key and body:
the stored answer again with ``Idempotent-Replayed: true``), answers an
identical event again as a duplicate, and holds events whose decision asks
for approval (``decision_id`` in the answer). ``faults`` is a list of what the
next POSTs meet, in order: ``500``, ``429`` (with ``Retry-After``), ``drop``
(the batch is stored, then the connection closes without an answer), ``422``,
``garbage`` (a 201 whose body is not JSON) or ``short`` (a 201 that lists no
events); after the list is used up every POST succeeds.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["ContractServer", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ContractServer:
    """Start with ``start()`` (or as a context manager); ``url`` is its root."""

    def __init__(
        self,
        *,
        port: int = 0,
        token: str = "test-token",
        faults: list[str] | None = None,
        retry_after: str = "1",
    ) -> None:
        self.port = port
        self.token = token
        self.faults = list(faults or [])
        self.retry_after = retry_after
        self.lock = threading.Lock()
        self.events: dict[str, dict[str, Any]] = {}
        self.decisions: dict[str, str] = {}
        self.stored = Counter[str]()  # event id -> times stored (must stay 1)
        self.posts: list[tuple[str | None, int, str]] = []  # (key, events, what happened)
        self.replays: dict[str, tuple[int, bytes, bytes]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.events_in_flight = 0  # POST /events being answered now
        self.most_events_in_flight = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ContractServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ContractServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def next_fault(self) -> str | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None

    # The contract --------------------------------------------------------

    def post_events(self, body: Any) -> tuple[int, dict[str, Any]]:
        items = body.get("events") if isinstance(body, dict) and "events" in body else [body]
        if not isinstance(items, list) or not items or len(items) > 1000:
            return 422, _error("validation_error", "events must list 1 to 1000 events.")
        answers = []
        created = False
        with self.lock:
            for index, item in enumerate(items):
                if not isinstance(item, dict) or not item.get("id"):
                    return 422, _error(
                        "validation_error",
                        "Invalid event.",
                        [{"index": index, "field": "id", "message": "id is required."}],
                    )
                event_id = str(item["id"])
                parent = (item.get("data") or {}).get("parent_event_id")
                known = {str(i.get("id")) for i in items[:index]} | set(self.events)
                if parent and parent not in known:
                    return 422, _error(
                        "validation_error",
                        "Invalid event.",
                        [
                            {
                                "index": index,
                                "field": "data.parent_event_id",
                                "message": f"child_of({parent}): no stored event has that id; "
                                "record the parent first.",
                            }
                        ],
                    )
            for item in items:
                event_id = str(item["id"])
                if event_id in self.events:
                    answers.append(
                        {
                            "id": event_id,
                            "duplicate": True,
                            "decision_id": self.decisions.get(event_id),
                        }
                    )
                    continue
                created = True
                self.events[event_id] = {
                    **item,
                    "recorded_at": datetime.now(UTC).isoformat(),
                }
                self.stored[event_id] += 1
                decision = (item.get("data") or {}).get("decision") or {}
                if decision.get("requires_approval"):
                    self.decisions[event_id] = str(uuid.uuid4())
                answers.append(
                    {
                        "id": event_id,
                        "duplicate": False,
                        "decision_id": self.decisions.get(event_id),
                    }
                )
        status = 201 if created else 200
        return status, {"events": answers} if "events" in body else answers[0]

    def resource(self, event_id: str) -> dict[str, Any]:
        event = dict(self.events[event_id])
        decision_id = self.decisions.get(event_id)
        event["approval"] = (
            None
            if decision_id is None
            else {
                "decision_id": decision_id,
                "status": "pending",
                "decided_by": None,
                "decided_at": None,
                "reason": "",
                "rule": None,
            }
        )
        return event


def _error(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _handler(server: ContractServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read the server's counters instead."""

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), headers)

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {server.token}":
                return True
            self._json(
                401,
                _error("unauthorized", "A valid token is required."),
                {"WWW-Authenticate": "Bearer"},
            )
            return False

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            key = self.headers.get("Idempotency-Key")
            server.requests.append(("POST", self.path, dict(self.headers)))
            if not self._authorised():
                return
            if urlsplit(self.path).path != "/api/v1/events":
                self._json(404, _error("not_found", "No such endpoint."))
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._json(400, _error("bad_request", "The body is not JSON."))
                return
            count = len(body.get("events", [])) if isinstance(body, dict) else 0
            if key is not None and key in server.replays:
                status, stored_raw, answer = server.replays[key]
                if stored_raw != raw:
                    server.posts.append((key, count, "mismatch"))
                    self._json(422, _error("idempotency_key_mismatch", "Other request."))
                    return
                server.posts.append((key, count, "replayed"))
                self._send(status, answer, {"Idempotent-Replayed": "true"})
                return
            fault = server.next_fault()
            if fault in {"garbage", "short"}:
                server.posts.append((key, count, fault))
                payload = b"<html>oops</html>" if fault == "garbage" else b'{"events": []}'
                self._send(201, payload)
                return
            if fault == "500":
                server.posts.append((key, count, "500"))
                self._json(500, _error("server_error", "Boom."))
                return
            if fault == "429":
                server.posts.append((key, count, "429"))
                self._json(
                    429, _error("rate_limited", "Slow down."), {"Retry-After": server.retry_after}
                )
                return
            if fault == "422":
                server.posts.append((key, count, "422"))
                self._json(
                    422,
                    _error(
                        "validation_error",
                        "Invalid event.",
                        [{"index": 0, "field": "data.actor.id", "message": "actor id is bad."}],
                    ),
                )
                return
            with server.lock:
                server.events_in_flight += 1
                server.most_events_in_flight = max(
                    server.most_events_in_flight, server.events_in_flight
                )
            try:
                if fault == "slow":  # answered normally, a while later
                    time.sleep(0.2)
                status, answer = server.post_events(body)
            finally:
                with server.lock:
                    server.events_in_flight -= 1
            encoded = json.dumps(answer).encode()
            if key is not None and status < 300:
                server.replays[key] = (status, raw, encoded)
            if fault == "drop":
                server.posts.append((key, count, "dropped"))
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            server.posts.append((key, count, str(status)))
            self._send(status, encoded)

        def do_GET(self) -> None:
            server.requests.append(("GET", self.path, dict(self.headers)))
            if not self._authorised():
                return
            parts = urlsplit(self.path)
            path = parts.path.removeprefix("/api/v1/").strip("/").split("/")
            query = parse_qs(parts.query)
            with server.lock:
                if path == ["events"]:
                    ordered = sorted(
                        server.events,
                        key=lambda i: (server.events[i]["timestamp"], i),
                        reverse=True,
                    )
                    types = query.get("event_type")
                    if types:
                        ordered = [
                            i for i in ordered if server.events[i]["data"]["event_type"] in types
                        ]
                    keys = query.get("object_id")
                    if keys:
                        ordered = [
                            i
                            for i in ordered
                            if any(
                                key in (obj["id"], obj.get("external_id"))
                                for obj in server.events[i]["data"]["objects"]
                                for key in keys
                            )
                        ]
                    limit = int(query.get("limit", ["50"])[0])
                    self._json(
                        200,
                        {
                            "results": [server.resource(i) for i in ordered[:limit]],
                            "next_cursor": None,
                            "next": None,
                        },
                    )
                elif len(path) == 2 and path[0] == "events":
                    if path[1] in server.events:
                        self._json(200, server.resource(path[1]))
                    else:
                        self._json(404, _error("not_found", "No such event."))
                elif path == ["stats"]:
                    self._json(
                        200,
                        {
                            "total_events": len(server.events),
                            "first_event_at": min(
                                (e["timestamp"] for e in server.events.values()), default=None
                            ),
                        },
                    )
                else:
                    self._json(404, _error("not_found", "No such endpoint."))

    return Handler
