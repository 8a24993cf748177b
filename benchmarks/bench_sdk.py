"""The buffered SDK's cost to the caller per ``record()`` (plain Python: no Django, no server).

Run from the project root::

    python benchmarks/bench_sdk.py --events 20000

A buffered client (``batch=True``, batches of 500) sends to a sink: a tiny
HTTP server in a child process that answers ``POST /api/v1/events`` as the
API does (no database; the Django server is not needed for this figure). So
``record()`` builds the event and enqueues it while the client's sender
thread encodes and posts batches in the same process, as it would in a real
service. Three figures, each the median of ``--repeat`` runs of ``--events``
calls, every run ending once the sink has acknowledged every event:

- ``record()`` of a ready builder (build the ``TraceEvent``, enqueue it);
- a typical event described and recorded in one go:
  ``trace(...).by_user(...).affecting_order(...).because(...).with_tags(...).record()``;
- ``EcommerceClient.order_created(...)`` with two lines, an actor and ``record()``.

The target (issue 14) is at most 50 microseconds per call in buffered mode.

End to end, in one run: ``--serve`` stores the events with ``record_many()``
in this process, then starts gunicorn (2 workers) on the same database and
runs ``--url`` in a client process against it, and prints both and the ratio;
each side first stores twice ``--batch-size`` events untimed (a warm-up).
Or step by step (``README.md`` has both commands): ``--url URL --token T`` records
``--events`` typical events with a buffered client to a running server and
prints events/s until the last batch was acknowledged; ``--in-process``
stores the same events with ``record_many()`` in this process (the project's
settings and database), for the ratio the issue asks (at least 60 %).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from decision_trace import DecisionTraceClient, TraceBuilder
from decision_trace.ecommerce import EcommerceClient

TARGET_MICROSECONDS = 50.0


_SINK = textwrap.dedent(
    """
    import json, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Sink(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            answer = json.dumps({"events": [
                {"id": e["id"], "duplicate": False, "decision_id": None} for e in body["events"]
            ]}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink)
    print("ready", flush=True)
    server.serve_forever()
    """
)


@contextmanager
def _sink() -> Iterator[str]:
    """The sink's URL, for as long as the block runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, "-c", _SINK, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(10)


_URL = ""


def _options(events: int) -> dict[str, object]:
    return {"batch": True, "batch_size": 500, "flush_interval": 0.2, "max_queue_size": events + 1}


def _finish(client: DecisionTraceClient, started: float, events: int) -> float:
    """Seconds the calls took; checks every event was delivered."""
    elapsed = time.perf_counter() - started
    assert client.close(timeout=60)
    stats = client.delivery_stats()
    assert (stats.sent, stats.dropped) == (events, 0), stats
    return elapsed


def _per_call(events: int, repeat: int, run: Callable[[int], float]) -> float:
    """Median microseconds per call over ``repeat`` runs (after one warm-up run)."""
    run(min(events, 1000))
    return statistics.median(run(events) / events * 1e6 for _ in range(repeat))


def _record_ready_builder(events: int) -> float:
    client = DecisionTraceClient(_URL, "t", **_options(events))
    builders = [
        client.trace("order.created", "Order placed").by_user("cust-1", "Jane")
        for _ in range(events)
    ]
    started = time.perf_counter()
    for builder in builders:
        builder.record()
    return _finish(client, started, events)


def _typical_event(events: int) -> float:
    client = DecisionTraceClient(_URL, "t", **_options(events))
    started = time.perf_counter()
    for n in range(events):
        client.trace("order.cancelled", "Order cancelled by customer").by_user(
            "cust-123", "John Doe"
        ).affecting_order("ord-456", {"status": "cancelled"}).because(
            "Customer found better price elsewhere",
            context={"competitor": "competitor.com", "n": n},
        ).with_tags("cancellation", "price-sensitive").record()
    return _finish(client, started, events)


def _order_created(events: int) -> float:
    client = EcommerceClient(_URL, "t", **_options(events))
    items = [
        {"sku": "WIDGET-001", "qty": 2, "price": "74.99"},
        {"sku": "GADGET", "qty": 1, "price": 5},
    ]
    started = time.perf_counter()
    for n in range(events):
        client.order_created(f"ord-{n}", "cust-1", "154.98", items).by_user(
            "cust-1", "Jane", role="customer"
        ).record()
    return _finish(client, started, events)


def _describe(client: DecisionTraceClient, n: int) -> TraceBuilder:
    """The typical event of the end-to-end runs (the same in-process and over HTTP)."""
    return (
        client.trace("order.cancelled", f"Order ord-{n} cancelled by customer")
        .by_user(f"cust-{n % 500}", "John Doe")
        .affecting_order(f"ord-{n}", {"status": "cancelled"})
        .because("Customer found better price elsewhere", context={"competitor": "c.com"})
        .with_tags("cancellation")
    )


def _end_to_end(url: str, token: str, events: int, batch_size: int) -> dict[str, float]:
    """Buffered SDK to a real server: events/s until the last batch was acknowledged."""
    client = DecisionTraceClient(
        url,
        token,
        batch=True,
        batch_size=batch_size,
        flush_interval=0.2,
        max_queue_size=events + 1,
    )
    started = time.perf_counter()
    for n in range(events):
        _describe(client, n).record()
    queued = time.perf_counter()
    assert client.close(timeout=600)
    done = time.perf_counter()
    stats = client.delivery_stats()
    assert (stats.sent, stats.dropped) == (events, 0), stats
    return {
        "events_per_second": events / (done - started),
        "microseconds_per_call": (queued - started) / events * 1e6,
        "retried": stats.retried,
    }


def _in_process(events: int, batch_size: int) -> dict[str, float]:
    """``record_many()`` in this process, in batches of ``batch_size`` (needs the project)."""
    import os
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from traces import DecisionTraceClient as InProcessClient

    client = InProcessClient()
    started = time.perf_counter()
    for first in range(0, events, batch_size):
        client.record_many(
            [_describe(client, n) for n in range(first, min(events, first + batch_size))]
        )
    return {"events_per_second": events / (time.perf_counter() - started)}


def _served(events: int, batch_size: int) -> dict[str, float]:
    """Both end-to-end figures in one run: in process first, then gunicorn and a client process.

    The project's settings (production: ``DEBUG`` off) and database: ``DATABASE_URL``, or
    a throw-away SQLite file ``var/bench_sdk.sqlite3``.
    """
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-never-used-to-serve-anything")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    if not os.environ.get("DATABASE_URL"):
        (root / "var").mkdir(exist_ok=True)
        os.environ.setdefault("SQLITE_PATH", str(root / "var" / "bench_sdk.sqlite3"))
    sys.path.insert(0, str(root))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from traces.api.models import Scope
    from traces.api.tokens import service_token_create

    call_command("migrate", verbosity=0)
    user_model = get_user_model()
    user = user_model.objects.filter(username="bench-sdk").first() or (
        user_model.objects.create_superuser("bench-sdk", "bench@example.com", "bench-sdk-pass")
    )
    token = service_token_create(
        owner=user, name="bench-sdk", scopes=[s.value for s in Scope], rate_limit=10**9
    ).text
    # Untimed warm-up of both sides first (a process's first batches compile
    # statements and load the API's modules: a cold worker took 0.8 s over its
    # first batch of 500, against 0.09-0.2 s later).
    _in_process(2 * batch_size, batch_size)
    load_before = os.getloadavg()[0]
    local = _in_process(events, batch_size)
    connection.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        for count in (2 * batch_size, events):  # the warm-up, then the measure
            client = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    f"--url=http://127.0.0.1:{port}",
                    f"--token={token}",
                    f"--events={count}",
                    f"--batch-size={batch_size}",
                ],
                capture_output=True,
                text=True,
                timeout=3600,
                check=True,
            )
    finally:
        server.terminate()
        server.wait(30)
    remote = json.loads(client.stdout.strip().splitlines()[-1])
    return {
        "database": connection.vendor,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "in_process_events_per_second": local["events_per_second"],
        "http_events_per_second": remote["events_per_second"],
        "ratio": remote["events_per_second"] / local["events_per_second"],
        "retried": remote["retried"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--url", help="end to end: a running server (with --token)")
    parser.add_argument("--token", default="")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="end to end: record_many() in this process (the project's settings and database)",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="end to end in one run: record_many() here, then gunicorn (2 workers) and a client",
    )
    args = parser.parse_args(argv)
    if args.serve:
        figures = _served(args.events, args.batch_size)
        print(json.dumps({"events": args.events, "batch_size": args.batch_size, **figures}))
        return
    if args.url or args.in_process:
        if args.in_process:
            figures = _in_process(args.events, args.batch_size)
        else:
            figures = _end_to_end(args.url, args.token, args.events, args.batch_size)
        print(json.dumps({"events": args.events, "batch_size": args.batch_size, **figures}))
        return
    global _URL
    with _sink() as _URL:
        figures = {
            "record() of a ready builder": _per_call(
                args.events, args.repeat, _record_ready_builder
            ),
            "trace()...record(), typical event": _per_call(
                args.events, args.repeat, _typical_event
            ),
            "order_created()...record()": _per_call(args.events, args.repeat, _order_created),
        }
    if args.json:
        print(json.dumps({"events": args.events, "microseconds_per_call": figures}))
        return
    print(f"buffered SDK, caller's cost per call ({args.events:,} calls, median of {args.repeat})")
    for name, micros in figures.items():
        verdict = "ok" if micros <= TARGET_MICROSECONDS else "ABOVE TARGET"
        print(f"  {name:<38} {micros:8.1f} µs  (target <= {TARGET_MICROSECONDS:.0f}: {verdict})")


if __name__ == "__main__":
    main()
