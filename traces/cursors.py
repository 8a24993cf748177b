"""The driver's cursor for statements that run on every write (see ``driver_cursor``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["driver_cursor"]


@contextmanager
def driver_cursor(connection: Any) -> Iterator[Any]:
    """A cursor of the driver's for the write path's statements, with Django's errors.

    Django's cursor wrapper costs about 6 µs a statement (a new wrapper, the
    thread and async checks, the execute wrappers, the error translation per
    call); a ``record()`` runs about ten statements, and on SQLite the
    database work of most of them is as short. The driver's cursor
    (``connection.create_cursor()``: on SQLite Django's own, which converts
    ``%s`` to ``?``) takes the same statements and parameters, and errors
    still come out as Django's (``IntegrityError`` for a duplicate id).

    While Django records queries (``DEBUG``, ``assertNumQueries``) or an
    execute wrapper is installed, this is Django's cursor, so they see every
    statement of a write.
    """
    if connection.queries_logged or connection.execute_wrappers:
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection.create_cursor()
        try:
            yield cursor
        finally:
            cursor.close()
