"""The driver's cursor for statements that run on every write (see ``driver_cursor``)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from psycopg import Cursor

__all__ = ["driver_cursor", "own_cursor", "write_statements"]

# The cursor of each connection object's open write_statements block.
_OPEN: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _logged(connection: Any) -> bool:
    return bool(connection.queries_logged or connection.execute_wrappers)


def driver_cursor(connection: Any) -> AbstractContextManager[Any]:
    """A cursor of the driver's for the write path's statements, with Django's errors.

    Django's cursor wrapper costs about 6 µs a statement (a new wrapper, the
    thread and async checks, the execute wrappers, the error translation per
    call); a ``record()`` runs about ten statements, and on SQLite the
    database work of most of them is as short. The driver's cursor
    (``connection.create_cursor()``: on SQLite Django's own, which converts
    ``%s`` to ``?``) takes the same statements and parameters, and errors
    still come out as Django's (``IntegrityError`` for a duplicate id).
    Inside ``write_statements`` it is that block's cursor.

    While Django records queries (``DEBUG``, ``assertNumQueries``) or an
    execute wrapper is installed, this is Django's cursor, so they see every
    statement of a write.
    """
    cursor = _OPEN.get(connection)
    if cursor is not None:
        return nullcontext(cursor)
    if _logged(connection):
        return connection.cursor()  # type: ignore[no-any-return]
    return _own_cursor(connection)


def _server_binding_cursor(connection: Any) -> Cursor[Any]:
    """A psycopg cursor that sends parameters apart from the statement (PostgreSQL).

    Django's default cursor binds on the client: psycopg quotes every value
    into the statement's text in Python. Bound on the server, the values go
    out as psycopg's C dumpers make them: a ``record()`` at 1.2 M events took
    0.58-0.63 ms of CPU instead of 0.66-0.69. Statements are not prepared: Django
    opens its connections with ``prepare_threshold`` None unless told
    otherwise. The write path's statements all say their types (columns of
    an ``INSERT``, ``%s::text[]``), as server-side binding needs. Times read
    through it are aware, in the connection's zone (Django's cursor may
    re-zone them under ``override_settings``); the write path only compares them.
    """
    return Cursor(connection.connection)


def own_cursor(connection: Any) -> Any:
    """A cursor of its own for a statement whose result is read later (close it after).

    A PostgreSQL pipeline answers a statement when the next one that waits
    is read; the write block's shared cursor would have run others by then.
    The driver's server-binding cursor on PostgreSQL (Django's while it records
    queries), Django's elsewhere. Its errors surface where the result is read:
    read it inside ``connection.wrap_database_errors`` (``statement_pipeline``
    is).
    """
    if connection.vendor == "postgresql" and not _logged(connection):
        connection.ensure_connection()
        return _server_binding_cursor(connection)
    return connection.cursor()


@contextmanager
def _own_cursor(connection: Any, *, server_binding: bool = False) -> Iterator[Any]:
    connection.ensure_connection()
    with connection.wrap_database_errors:
        if server_binding and connection.vendor == "postgresql":
            cursor = _server_binding_cursor(connection)
        else:
            cursor = connection.create_cursor()
        try:
            yield cursor
        finally:
            cursor.close()


@contextmanager
def write_statements(connection: Any) -> Iterator[None]:
    """One driver cursor for the block's statements (``driver_cursor`` hands it out).

    A write runs about ten statements; opening a cursor and entering the
    error translation once for them all, instead of once each, is about
    3 µs less per statement. On PostgreSQL the cursor binds parameters on
    the server (``_server_binding_cursor``). Statements that leave results behind must read
    them before the next one runs on the cursor (the write path reads every
    result it asks for at once). Nothing happens while Django records
    queries, nor inside a block already open on the connection.
    """
    if connection in _OPEN or _logged(connection):
        yield
        return
    with _own_cursor(connection, server_binding=True) as cursor:
        _OPEN[connection] = cursor
        try:
            yield
        finally:
            del _OPEN[connection]
