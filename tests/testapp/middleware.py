"""Test-only middleware: the live server's writes one at a time on in-memory SQLite.

Without ``DATABASE_URL`` the tests run on an in-memory SQLite database, and
the live server's request threads all share the test's one connection to it
(Django's ``LiveServerThread``: another connection would see another, empty
database). Two requests at once on one ``sqlite3`` connection interleave
their statements: the SDK's buffered client sends two batches side by side,
and one request's ``RELEASE SAVEPOINT`` failed with "SQL statements in
progress" while the other read. A served app opens a connection per thread
to a database file, where SQLite (and ``config.sqlite``'s writer lock)
orders them; here the writing requests take turns instead. Reads do not
wait: the approval gate's waiting GET lasts until another request's POST
decides (a lock around every request held that POST until the wait ended).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse

_TURN = threading.RLock()
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def shared_sqlite_one_write_at_a_time(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        if (
            request.method in _READS
            or connection.vendor != "sqlite"
            or not connection.is_in_memory_db()
        ):
            return get_response(request)
        with _TURN:
            return get_response(request)

    return middleware
