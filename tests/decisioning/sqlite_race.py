"""The SQLite race, run in a fresh process against a SQLite *file*.

The test database on SQLite is in memory with a shared cache, where concurrent
writers fail at once instead of waiting; production uses a file in WAL mode
with IMMEDIATE transactions and a busy timeout. This script builds such a file
(path in argv[1]), calls one idempotent function from eight threads at once
and prints what happened as JSON for ``test_decorators`` to check.

Usage: ``python -m tests.decisioning.sqlite_race /tmp/x/db.sqlite3``
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

THREADS = 8


def main(path: str) -> None:
    os.environ["SQLITE_PATH"] = path
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from decisioning import OperationInFlightError, idempotent
    from decisioning.models import IdempotencyKey
    from tests.testapp.models import Order

    call_command("migrate", run_syncdb=True, verbosity=0)
    barrier = threading.Barrier(THREADS)
    bodies: list[str] = []

    @idempotent(key_func=lambda number: f"sqlite-race:{number}")
    def place_order(number: str) -> Order:
        bodies.append(number)
        time.sleep(0.2)
        return Order.objects.create(number=number)

    def worker() -> tuple[str, int | None]:
        try:
            barrier.wait()
            try:
                return "result", place_order("R-1").pk
            except OperationInFlightError:
                return "in_flight", None
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = [future.result() for future in [pool.submit(worker) for _ in range(THREADS)]]
    key = IdempotencyKey.objects.get(key="sqlite-race:R-1")
    print(
        json.dumps(
            {
                "bodies": len(bodies),
                "orders": list(Order.objects.values_list("pk", flat=True)),
                "outcomes": outcomes,
                "status": key.status,
                "attempts": key.attempts,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
