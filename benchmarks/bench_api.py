"""Benchmark the HTTP API against in-process recording, on the same database.

    python benchmarks/bench_api.py --events 100000

Without ``DATABASE_URL`` it uses a throw-away SQLite file,
``var/bench_api.sqlite3`` (``--sqlite-path`` to change it); with
``DATABASE_URL`` it uses that database. It stores N events first (through
``record_many()``, reused when the database already holds N), then in one run:

* in process: ``record()`` for ``--singles`` events, ``record_many()`` in
  batches of 100 and of 1,000;
* over HTTP: gunicorn with 2 workers on 127.0.0.1 serves ``config.wsgi``
  (production settings, ``DEBUG`` off) and a client in a separate process
  sends the same numbers of events as single ``POST /api/v1/events`` and as
  batches of 100 and 1,000, ``--connections`` requests in flight at a time
  (default 2, one per worker; the standard library's ``http.client``, a load
  generator as light as it gets), then times ``GET /api/v1/events``
  unfiltered and by actor type, one request at a time.

Both sides are warmed up first (an untimed small round of each).

``--rounds R`` repeats the in-process part and the HTTP part in turn R times
against the one server and prints each round's ratios and their medians: on
a shared machine the load moves within minutes, and a round's two halves
see about the same load. GET latencies are medians twice: measured by the client (request sent to
answer read) and server-side, the worker's time per request from gunicorn's
access log (``%(D)s``, written to ``bench_api_access.log`` next to the SQLite
file). Prints a table and the ratios the issue sets as targets.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILL_BATCH = 5_000
ACTOR_TYPES = ["user", "ai_agent", "compute", "system", "external"]
WORKERS = 2  # gunicorn's workers, as the issue sets the benchmark
EVENT_TYPES = ["order.created", "order.paid", "price.changed", "refund.issued", "stock.adjusted"]


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events stored first (N)")
    parser.add_argument("--fresh", action="store_true", help="delete the SQLite file first")
    parser.add_argument("--sqlite-path", default=str(ROOT / "var" / "bench_api.sqlite3"))
    parser.add_argument("--singles", type=int, default=300, help="single events each way")
    parser.add_argument("--batches", type=int, default=5, help="batches of 1,000 each way")
    parser.add_argument("--gets", type=int, default=50, help="GET requests per measure")
    parser.add_argument(
        "--connections",
        type=int,
        default=WORKERS,
        help=f"POSTs in flight at a time, one client thread each (default {WORKERS}, the workers)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="in process then over HTTP, this many times (0: only store the events)",
    )
    parser.add_argument(
        "--salt", type=int, default=time.time_ns(), help="makes this run's event ids new"
    )
    parser.add_argument("--client", nargs=2, metavar=("URL", "TOKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 0:
        parser.error("--rounds must be 0 or more")
    if args.connections < 1:
        parser.error("--connections must be 1 or more")
    return args


def _payload(rng: random.Random, index: int) -> dict[str, Any]:
    """One ``TraceEvent.to_dict()``-shaped event (the in-process runs build the same)."""
    import uuid
    from datetime import UTC, datetime, timedelta

    actor_type = rng.choice(ACTOR_TYPES)
    when = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=index * 7 + rng.randint(0, 6))
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": when.isoformat(),
        "duration": round(rng.random(), 3),
        "data": {
            "event_type": rng.choice(EVENT_TYPES),
            "description": f"Benchmark event {index} for customer {rng.randint(1, 5000)}",
            "actor": {"id": f"{actor_type}-{rng.randint(1, 50)}", "type": actor_type},
            "objects": [{"id": f"ord-{rng.randint(1, 20000)}", "type": "order"}],
            "decision": {"reasoning": "margin above threshold", "confidence": 0.8},
            "tags": ["bench"],
        },
    }


def _payloads(seed: int, count: int, start: int, salt: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(f"{seed}-{salt}")
    return [_payload(rng, start + i) for i in range(count)]


# The client: a separate process, speaking HTTP only.


def _post_all(url: str, headers: dict[str, str], bodies: list[Any], connections: int) -> float:
    """POST every body, ``connections`` requests in flight at a time; the seconds it took.

    Each connection is a thread with its own keep-alive connection and takes
    every ``connections``-th body, as that many callers would. The requests go
    through the standard library's ``http.client``: a load generator that
    costs the machine (two cores shared with the server) as little as it can,
    as ``wrk`` or ``ab`` would; the SDK's own figures are in ``bench_sdk.py``.
    """
    import threading
    from http.client import HTTPConnection
    from urllib.parse import urlsplit

    address = urlsplit(url)
    request_headers = {**headers, "Content-Type": "application/json"}
    failures: list[str] = []

    def post_share(share: list[bytes]) -> None:
        http = HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=120)
        try:
            for body in share:
                http.request("POST", "/api/v1/events", body=body, headers=request_headers)
                response = http.getresponse()
                answer = response.read()
                if response.status not in (200, 201):
                    failures.append(f"{response.status} {answer[:300]!r}")
                    return
        finally:
            http.close()

    encoded = [json.dumps(body).encode() for body in bodies]
    threads = [
        threading.Thread(target=post_share, args=(encoded[n::connections],))
        for n in range(connections)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"POST failed: {failures[0]}")
    return elapsed


def _client(url: str, token: str, args: argparse.Namespace) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    report: dict[str, float] = {}
    singles = _payloads(101, args.singles, 10_000_000, args.salt)
    report["http_single"] = len(singles) / _post_all(url, headers, singles, args.connections)
    for size, seed in ((100, 102), (1_000, 103)):
        batches = [
            {"events": _payloads(seed * 1000 + b, size, 20_000_000 + b * size, args.salt)}
            for b in range(args.batches * 1_000 // size)
        ]
        elapsed = _post_all(url, headers, batches, args.connections)
        report[f"http_batch_{size}"] = size * len(batches) / elapsed
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        for name, query in (("get_unfiltered", {}), ("get_actor_type", {"actor_type": "ai_agent"})):
            timings = []
            for _ in range(args.gets):
                started = time.perf_counter()
                response = http.get("/api/v1/events", params={"limit": 50, **query})
                timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200 or len(response.json()["results"]) != 50:
                    raise SystemExit(f"GET failed: {response.status_code} {response.text[:300]}")
            report[f"{name}_ms"] = statistics.median(timings)
    print(json.dumps(report))


# The parent: the database, the in-process figures, gunicorn, the client process.


def _setup(args: argparse.Namespace) -> dict[str, str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-never-used-to-serve-anything")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    if not os.environ.get("DATABASE_URL"):
        path = Path(args.sqlite_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if args.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["SQLITE_PATH"] = str(path)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return dict(os.environ)


def _events(payloads: list[dict[str, Any]]) -> list[Any]:
    from traces import TraceEvent

    return [TraceEvent.from_dict(payload) for payload in payloads]


def _fill(total: int) -> int:
    from traces import DecisionTraceClient
    from traces.models import EventRecord

    client = DecisionTraceClient()
    have = EventRecord.objects.count()
    start = have
    while have < total:
        size = min(FILL_BATCH, total - have)
        client.record_many(_events(_payloads(have, size, start + have, salt=-1)))
        have += size
    return EventRecord.objects.count()


def _in_process(args: argparse.Namespace) -> dict[str, float]:
    from traces.services import trace_record, trace_record_many

    report = {}
    singles = _events(_payloads(201, args.singles, 30_000_000, args.salt))
    started = time.perf_counter()
    for event in singles:
        trace_record(event=event)
    report["record"] = len(singles) / (time.perf_counter() - started)
    for size, seed in ((100, 202), (1_000, 203)):
        batches = [
            _events(_payloads(seed * 1000 + b, size, 40_000_000 + b * size, args.salt))
            for b in range(args.batches * 1_000 // size)
        ]
        started = time.perf_counter()
        for batch in batches:
            trace_record_many(events=batch)
        report[f"record_many_{size}"] = sum(map(len, batches)) / (time.perf_counter() - started)
    return report


def _token() -> str:
    from django.contrib.auth import get_user_model

    from traces.api.models import Scope
    from traces.api.tokens import service_token_create

    user_model = get_user_model()
    user = user_model.objects.filter(username="bench-api").first() or (
        user_model.objects.create_superuser("bench-api", "bench@example.com", "bench-api-pass")
    )
    return service_token_create(
        owner=user, name="bench", scopes=[s.value for s in Scope], rate_limit=10**9
    ).text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# gunicorn's access log, one line per request: method, path, query, status and
# the time the worker spent on it (microseconds, %(D)s): the server-side time.
ACCESS_FORMAT = "%(m)s %(U)s %(q)s %(s)s %(D)s"


def _serve(env: dict[str, str], access_log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-w",
            str(WORKERS),
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            ACCESS_FORMAT,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, url
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def _server_side(access_log: Path) -> dict[str, float]:
    """Median server-side milliseconds per kind of request, from gunicorn's access log."""
    timings: dict[str, list[float]] = {}
    for line in access_log.read_text().splitlines():
        method, path, query, status, micros = line.split(" ")
        if path != "/api/v1/events" or status not in ("200", "201"):
            continue
        if method == "GET":
            kind = "get_actor_type" if "actor_type=" in query else "get_unfiltered"
        else:
            kind = "post"
        timings.setdefault(kind, []).append(int(micros) / 1000)
    return {f"{kind}_server_ms": statistics.median(values) for kind, values in timings.items()}


def _client_run(args: argparse.Namespace, env: dict[str, str], url: str, token: str, salt: int):
    completed = subprocess.run(
        [
            sys.executable,
            __file__,
            f"--singles={args.singles}",
            f"--batches={args.batches}",
            f"--gets={args.gets}",
            f"--connections={args.connections}",
            f"--salt={salt}",
            "--client",
            url,
            token,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"client failed: {completed.stdout}{completed.stderr}")
    report: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return report


ROWS = [
    ("record() events/s (in process)", "record"),
    ("single POST events/s", "http_single"),
    ("record_many() x100 events/s", "record_many_100"),
    ("POST batch of 100 events/s", "http_batch_100"),
    ("record_many() x1000 events/s", "record_many_1000"),
    ("POST batch of 1,000 events/s", "http_batch_1000"),
    ("GET /api/v1/events median ms (client)", "get_unfiltered_ms"),
    ("GET /api/v1/events?actor_type median ms (client)", "get_actor_type_ms"),
]
RATIOS = [
    ("single POST / record() (target 50%)", "http_single", "record"),
    ("batch of 100 / record_many() (target 60%)", "http_batch_100", "record_many_100"),
    ("batch of 1,000 / record_many() (target 60%)", "http_batch_1000", "record_many_1000"),
]


def main() -> None:
    args = _parse()
    if args.client:
        _client(args.client[0], args.client[1], args)
        return
    env = _setup(args)
    from django.db import connection

    stored = _fill(args.events)
    print(f"database: {connection.vendor}; events stored before the run: {stored:,}")
    if args.rounds == 0:
        return  # --rounds 0: only fill the database
    token = _token()
    connection.close()
    access_log = Path(args.sqlite_path).parent / "bench_api_access.log"
    access_log.parent.mkdir(parents=True, exist_ok=True)
    access_log.unlink(missing_ok=True)
    server, url = _serve(env, access_log)
    rounds = []
    try:
        # Untimed warm-up of both sides (a process's first calls compile statements
        # and fill caches; unwarmed, the first round's in-process figures were 35 %
        # lower than the next rounds').
        warm_up = argparse.Namespace(**{**vars(args), "singles": 50, "batches": 1})
        _in_process(argparse.Namespace(**{**vars(warm_up), "salt": args.salt - 1}))
        connection.close()
        _client_run(warm_up, env, url, token, args.salt - 1)
        for number in range(args.rounds):
            # In process, then over HTTP, round after round: a load that changes
            # during the run moves both sides of each round's ratio alike.
            salt = args.salt + number * 7919
            loads = [os.getloadavg()[0]]
            figures = _in_process(argparse.Namespace(**{**vars(args), "salt": salt}))
            connection.close()
            figures.update(_client_run(args, env, url, token, salt))
            loads.append(os.getloadavg()[0])
            rounds.append(figures)
            print(
                f"round {number + 1}: load average {loads[0]:.1f} -> {loads[1]:.1f}; "
                + "; ".join(
                    f"{label.split(' (')[0]} {figures[top] / figures[bottom]:.0%}"
                    f" ({figures[top]:,.0f} / {figures[bottom]:,.0f} events/s)"
                    for label, top, bottom in RATIOS
                ),
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    server_side = _server_side(access_log)
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(f"median of {len(rounds)} round(s):")
    for label, key in ROWS:
        print(f"  {label:50} {median[key]:12,.1f}")
    for kind, label in (
        ("get_unfiltered", "GET /api/v1/events"),
        ("get_actor_type", "GET ?actor_type"),
    ):
        server_ms = server_side[f"{kind}_server_ms"]
        print(f"  {label + ' median ms (server, all rounds)':50} {server_ms:12,.1f}")
    for label, top, bottom in RATIOS:
        ratios = [r[top] / r[bottom] for r in rounds]
        print(f"  {label:50} {statistics.median(ratios):12.0%}")


if __name__ == "__main__":
    main()
