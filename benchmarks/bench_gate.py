"""Concurrent approval-gate waiters on gunicorn, and the latency of other requests meanwhile.

    DATABASE_URL=postgres://... python benchmarks/bench_gate.py [--threads 16] [--waiters 8,16]

Starts ``gunicorn config.wsgi`` with 2 gthread workers of ``--threads``
threads each on a free port, makes pending decisions, then for each waiter
count holds that many ``GET /api/v1/decisions/{id}?wait=10`` open at once
and meanwhile times 20 ``GET /api/v1/decisions/{id}`` (no wait) one after
another: their median and worst latency show whether other requests starve.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from django_start import ROOT, django_start

WAIT = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--waiters", default="8,16,24,30")
    options = parser.parse_args()
    environ = {"DEBUG": "1", "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghij"}
    django_start(
        settings="config.settings",
        sqlite_path=Path(ROOT, "var", "bench_gate.sqlite3"),
        fresh=True,
        environ=environ,
        migrate=True,
    )
    import logging

    import httpx
    from django.contrib.auth import get_user_model

    from traces import DecisionTraceClient
    from traces.api.models import Scope
    from traces.api.tokens import service_token_create

    logging.getLogger("httpx").setLevel(logging.WARNING)
    owner = get_user_model().objects.create_superuser("bench-gate", "b@example.com", "pw")
    token = service_token_create(
        owner=owner, name="bench", scopes=[s.value for s in Scope], rate_limit=100_000
    ).text
    client = DecisionTraceClient()
    counts = [int(n) for n in options.waiters.split(",")]
    ids = [
        client.submit_for_approval(client.trace("bench.gate", f"waiter {i}"))
        for i in range(max(counts) + 1)
    ]
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            str(options.threads),
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **environ, "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "0"},
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/decisions/{ids[-1]}", headers=headers, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        print(f"gunicorn: 2 gthread workers x {options.threads} threads; waiters hold {WAIT} s")
        print(f"{'waiters':>8} {'others median ms':>17} {'others worst ms':>16} {'waiters ok':>11}")
        for count in counts:
            done: list[int] = []

            def wait(decision_id: str, done: list[int] = done) -> None:
                response = httpx.get(
                    f"{base}/decisions/{decision_id}",
                    params={"wait": WAIT},
                    headers=headers,
                    timeout=WAIT + 30,
                )
                done.append(response.status_code)

            threads = [threading.Thread(target=wait, args=(i,)) for i in ids[:count]]
            for thread in threads:
                thread.start()
            time.sleep(1)
            latencies = []
            for _ in range(20):
                started = time.perf_counter()
                httpx.get(f"{base}/decisions/{ids[-1]}", headers=headers, timeout=WAIT + 30)
                latencies.append((time.perf_counter() - started) * 1000)
            for thread in threads:
                thread.join()
            ok = sum(1 for status in done if status == 200)
            print(
                f"{count:>8} {statistics.median(latencies):>17.1f} {max(latencies):>16.1f} "
                f"{ok:>5}/{count:<5}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
