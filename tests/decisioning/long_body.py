"""A long ``@idempotent`` body and two other callers, timed (issue 20, point 5).

One thread runs a body that sleeps ``BODY_SECONDS`` inside its transaction;
while it runs, a second thread calls the same key and a third writes an
unrelated row. Prints, as JSON, how long each took and what happened, for
``test_decorators`` to check on a SQLite *file* (WAL, IMMEDIATE, busy timeout:
what production uses); the PostgreSQL test calls ``run()`` in process.

Usage: ``python -m tests.decisioning.long_body /tmp/x/db.sqlite3``
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

BODY_SECONDS = 1.5


def main(path: str) -> None:
    os.environ["SQLITE_PATH"] = path
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    print(json.dumps(run()))


def run() -> dict[str, object]:
    """Run the three callers against the default database; return what happened."""
    from django.db import connection

    from decisioning import OperationInFlightError, idempotent
    from decisioning.models import IdempotencyKey
    from tests.testapp.models import Order

    started = threading.Event()
    report: dict[str, object] = {}

    @idempotent(key_func=lambda number: f"long-body:{number}")
    def slow_order(number: str) -> int:
        order = Order.objects.create(number=number)
        started.set()
        time.sleep(BODY_SECONDS)
        return order.pk

    def run_body() -> None:
        try:
            report["body_result"] = slow_order("L-1")
        finally:
            connection.close()

    def same_key() -> None:
        started.wait()
        begin = time.monotonic()
        try:
            slow_order("L-1")
            report["same_key"] = "ran"
        except OperationInFlightError:
            report["same_key"] = "in_flight"
        finally:
            report["same_key_seconds"] = time.monotonic() - begin
            connection.close()

    def other_writer() -> None:
        started.wait()
        begin = time.monotonic()
        try:
            Order.objects.create(number="other")
            report["other_writer"] = "written"
        finally:
            report["other_writer_seconds"] = time.monotonic() - begin
            connection.close()

    threads = [threading.Thread(target=target) for target in (run_body, same_key, other_writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    key = IdempotencyKey.objects.get(key="long-body:L-1")
    report["status"] = key.status
    report["orders"] = sorted(Order.objects.values_list("number", flat=True))
    report["body_seconds"] = BODY_SECONDS
    return report


if __name__ == "__main__":
    main(sys.argv[1])
