"""Append-only tables: database triggers refuse UPDATE and DELETE, on SQLite and PostgreSQL.

``AppendOnly(model_name, mutable=(...))`` is a migration operation. It
creates, for the model's table:

- a ``BEFORE UPDATE OF <every column but the mutable ones>`` trigger that
  always refuses (a statement that sets such a column fails even when the
  value does not change: ``Model.save()`` on a stored row is refused);
- a ``BEFORE DELETE`` trigger (and on PostgreSQL a ``BEFORE TRUNCATE`` one)
  that refuses unless the **retention window** is open.

SQLite answers ``RAISE(ABORT, ...)``, PostgreSQL ``RAISE EXCEPTION`` with
SQLSTATE 23001 (``restrict_violation``); Django raises both as
``IntegrityError`` with :data:`APPEND_ONLY_REFUSED` naming the table.

The retention window is one row in ``decisioning_retention_window``, a table
the migration creates by SQL (no model, so ``flush`` leaves it alone).
:func:`retention_window` inserts the row at the start of a transaction and
deletes it before the end, so it is only ever visible inside that
transaction: on PostgreSQL no other transaction sees it (and a second
retention transaction waits for the first on the row's key), on SQLite
there is one writer at a time. Whoever can write SQL can open the window
too, or drop the triggers: that is what the Merkle log (``traces.evidence``)
detects.

The column list is fixed when the migration runs: a migration that adds a
column to such a table must run ``AppendOnly`` again (it replaces the
triggers), and on SQLite Django rebuilds a table for most column changes,
which drops its triggers. The tests try every column of every append-only
model, so a table that lost its triggers fails them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState
from django.utils import timezone

__all__ = [
    "APPEND_ONLY_REFUSED",
    "RETENTION_TABLE",
    "AppendOnly",
    "append_only_triggers_sql",
    "retention_window",
    "retention_window_open",
]

RETENTION_TABLE = "decisioning_retention_window"
APPEND_ONLY_REFUSED = (
    "{table} is append-only: its rows are never updated or deleted. Record a correction "
    "(a new version) instead; only retention deletes, inside decisioning.appendonly."
    "retention_window()."
)
_FUNCTION = "decisioning_append_only"


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_SQLSTATE = "23001"

_RETENTION_TABLE_SQL = {
    "sqlite": (
        f"CREATE TABLE IF NOT EXISTS {RETENTION_TABLE} "
        "(id integer NOT NULL PRIMARY KEY CHECK (id = 1), opened_at text NOT NULL)"
    ),
    "postgresql": (
        f"CREATE TABLE IF NOT EXISTS {RETENTION_TABLE} "
        "(id integer NOT NULL PRIMARY KEY CHECK (id = 1), opened_at timestamptz NOT NULL)"
    ),
}
# One function for every table; the message names the table it fires on.
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' AND EXISTS (SELECT 1 FROM {RETENTION_TABLE}) THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING ERRCODE = '{_SQLSTATE}', MESSAGE = replace(
        {_quote_literal(APPEND_ONLY_REFUSED)}, '{{table}}', TG_TABLE_NAME);
END
$$
"""


def append_only_triggers_sql(
    vendor: str, table: str, columns: list[str]
) -> tuple[list[str], list[str]]:
    """(statements creating the triggers of ``table``, statements dropping them).

    ``columns`` are the columns an UPDATE may not set. Any vendor other than
    SQLite and PostgreSQL gets no statements.
    """
    if vendor not in _RETENTION_TABLE_SQL:
        return [], []
    message = _quote_literal(APPEND_ONLY_REFUSED.format(table=table))
    names = {kind: f"{table}_no_{kind}" for kind in ("update", "delete", "truncate")}
    quoted = ", ".join(f'"{column}"' for column in columns)
    drop = [f'DROP TRIGGER IF EXISTS "{name}"' for name in names.values()]
    if vendor == "sqlite":
        create = [
            f'CREATE TRIGGER "{names["update"]}" BEFORE UPDATE OF {quoted} ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, {message}); END",
            f'CREATE TRIGGER "{names["delete"]}" BEFORE DELETE ON "{table}" '
            f"WHEN NOT EXISTS (SELECT 1 FROM {RETENTION_TABLE}) "
            f"BEGIN SELECT RAISE(ABORT, {message}); END",
        ]
        return [*drop[:2], *create], drop[:2]
    drop = [f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"' for name in names.values()]
    create = [
        f'CREATE TRIGGER "{names["update"]}" BEFORE UPDATE OF {quoted} ON "{table}" '
        f"FOR EACH ROW EXECUTE FUNCTION {_FUNCTION}()",
        f'CREATE TRIGGER "{names["delete"]}" BEFORE DELETE ON "{table}" '
        f"FOR EACH ROW EXECUTE FUNCTION {_FUNCTION}()",
        f'CREATE TRIGGER "{names["truncate"]}" BEFORE TRUNCATE ON "{table}" '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()",
    ]
    return [*drop, *create], drop


class AppendOnly(Operation):
    """Migration operation: make a model's table append-only (see the module docstring).

    Args:
        model_name: the model, in the migration's app.
        mutable: fields an UPDATE may still set (a cached mirror of state kept
            elsewhere, never evidence).
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, mutable: tuple[str, ...] = ()) -> None:
        self.model_name = model_name
        self.mutable = tuple(mutable)

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {"mutable": self.mutable} if self.mutable else {}
        return (self.__class__.__qualname__, [self.model_name], kwargs)

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        """Triggers are not part of the model state."""

    def _statements(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, state: ProjectState
    ) -> tuple[list[str], list[str]]:
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return [], []
        unknown = set(self.mutable) - {field.name for field in model._meta.concrete_fields}
        if unknown:
            raise ValueError(f"AppendOnly({self.model_name!r}): no fields {sorted(unknown)}.")
        columns = [
            field.column for field in model._meta.concrete_fields if field.name not in self.mutable
        ]
        return append_only_triggers_sql(
            schema_editor.connection.vendor, model._meta.db_table, columns
        )

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        vendor = schema_editor.connection.vendor
        create, _ = self._statements(app_label, schema_editor, to_state)
        if not create:
            return
        schema_editor.execute(_RETENTION_TABLE_SQL[vendor])
        if vendor == "postgresql":
            schema_editor.execute(_PG_FUNCTION)
        for statement in create:
            schema_editor.execute(statement)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        _, drop = self._statements(app_label, schema_editor, from_state)
        for statement in drop:
            schema_editor.execute(statement)

    def describe(self) -> str:
        return f"Make {self.model_name} append-only (triggers refuse UPDATE and DELETE)"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name.lower()}_append_only"


_DEPTH = threading.local()


def retention_window_open(using: str) -> bool:
    """Whether this thread has the retention window open on ``using``."""
    return bool(getattr(_DEPTH, using, 0))


@contextmanager
def retention_window(using: str) -> Iterator[None]:
    """Open the retention window: inside it, append-only rows can be deleted (not updated).

    Runs the block in a transaction (a savepoint inside an outer one) with the
    window's row inserted first and deleted last; an exception rolls both
    back with whatever the block did. Nested windows on one connection share
    the outermost one's row. Only the retention path calls this.
    """
    depth = getattr(_DEPTH, using, 0)
    with transaction.atomic(using=using):
        if depth == 0:
            with connections[using].cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {RETENTION_TABLE} (id, opened_at) VALUES (1, %s)",
                    [timezone.now()],
                )
        setattr(_DEPTH, using, depth + 1)
        try:
            yield
        finally:
            setattr(_DEPTH, using, depth)
        if depth == 0:
            with connections[using].cursor() as cursor:
                cursor.execute(f"DELETE FROM {RETENTION_TABLE}")
