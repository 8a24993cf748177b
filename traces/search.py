"""Full-text search over events with the database's own engine.

The searchable text of an event (description, reasoning, alternatives and
rejection reasons) is one ``EventSearchDocument`` row. SQLite indexes it with
FTS5 (table ``traces_event_fts``, porter stemming), PostgreSQL with a generated
``tsvector`` column and a GIN index (English configuration); both are created
by migration 0002 on their own database only.

User text never reaches either engine's query syntax: it is cut into word
tokens and each token is quoted (SQLite) or handed to ``plainto_tsquery``
(PostgreSQL), so quotes, ``AND``/``OR``/``NEAR``, ``*``, parentheses, emoji
and 10 kB strings are just words or nothing. All words must match.

Two ways in:

- ``search_events(text, queryset=None)``: a QuerySet filtered to matching
  events (no ranking), to combine with the other filter verbs and keyset pages.
- ``search_ranked_ids(text, queryset=None, limit=50)``: event ids, best match first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connections, router
from django.db.models.expressions import RawSQL

from decision_trace.exceptions import TraceValidationError
from traces.bulk import insert_rows_returning, write_rows
from traces.models import EventRecord, EventSearchDocument
from traces.pagination import MAX_PAGE_SIZE
from traces.querysets import EventRecordQuerySet

__all__ = [
    "MAX_QUERY_TOKENS",
    "SEARCH_MATCH_LIMIT",
    "document_body",
    "query_tokens",
    "search_events",
    "search_index_add",
    "search_index_rebuild",
    "search_index_remove",
    "search_match_count",
    "search_ranked_ids",
]

MAX_QUERY_TOKENS = 32
# A word in most of a million events would make a page read every match: the UI
# looks at the most recently recorded ones only (a page then costs ~120 ms at that size).
SEARCH_MATCH_LIMIT = 10_000
_MAX_TOKEN_LENGTH = 64
_WORD = re.compile(r"\w+")
_FTS_TABLE = "traces_event_fts"
_DOC_TABLE = EventSearchDocument._meta.db_table


def _add_strings(value: Any, parts: list[str]) -> None:
    """Append the text in ``value`` (keys and values, depth first) to ``parts``.

    Plain recursion into one list: nested generators cost a frame per level
    for every string, which the bulk write path felt.
    """
    if type(value) is str:
        parts.append(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            parts.append(str(key))
            _add_strings(item, parts)
    elif isinstance(value, list | tuple):
        for item in value:
            _add_strings(item, parts)
    elif value is not None and not isinstance(value, bool):
        parts.append(str(value))


def document_body(
    description: str, reasoning: str, alternatives: Any, rejection_reasons: Any
) -> str:
    """The text that is indexed for one event."""
    parts = [description, reasoning]
    _add_strings(alternatives, parts)
    _add_strings(rejection_reasons, parts)
    return "\n".join(part for part in parts if part)


def query_tokens(text: object) -> list[str]:
    """The words of a user's search text (at most ``MAX_QUERY_TOKENS``); never raises."""
    if not isinstance(text, str):
        return []
    tokens = [token[:_MAX_TOKEN_LENGTH] for token in _WORD.findall(text.replace("_", " "))]
    return tokens[:MAX_QUERY_TOKENS]


def _db(using: str | None) -> str:
    return using or router.db_for_read(EventRecord)


def search_index_add(documents: list[dict[str, Any]], *, using: str) -> None:
    """Insert the search documents (``{"event_id", "body"}`` dicts) and index them.

    On SQLite the FTS5 rows take the ids the documents were given; on
    PostgreSQL the generated ``tsvector`` column follows the row by itself.
    """
    if not documents:
        return
    connection = connections[using]
    if connection.vendor != "sqlite":
        write_rows(EventSearchDocument, documents, using=using, with_pk=False)
        return
    ids = insert_rows_returning(EventSearchDocument, documents, ["id"], using=using)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {_FTS_TABLE}(rowid, body) VALUES (%s, %s)",
            [(pk, document["body"]) for (pk,), document in zip(ids, documents, strict=True)],
        )


def search_index_remove(event_ids: Iterable[uuid.UUID | str], *, using: str) -> None:
    """Drop these events' entries from the index; call before their documents go."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    ids = [uuid.UUID(str(i)) for i in event_ids]
    rows = list(
        EventSearchDocument.objects.using(using).filter(event_id__in=ids).values_list("pk", "body")
    )
    if rows:
        # An external-content FTS5 table forgets a row when told its old text.
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {_FTS_TABLE}({_FTS_TABLE}, rowid, body) VALUES ('delete', %s, %s)",
                rows,
            )


def search_index_rebuild(*, using: str | None = None) -> None:
    """Rebuild the whole index from the document rows (repair after a raw SQL import)."""
    connection = connections[_db(using)]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {_FTS_TABLE}({_FTS_TABLE}) VALUES ('rebuild')")


def _fts5_match(tokens: list[str]) -> str:
    """An FTS5 MATCH expression: each token quoted (a word, never syntax), all required."""
    return " ".join(f'"{token}"' for token in tokens)


def _matching_ids_sql(
    vendor: str, tokens: list[str], match_limit: int | None
) -> tuple[str, list[Any]]:
    # SQLite or PostgreSQL: the system check traces.E001 refuses any other database.
    # With a limit, the most recently indexed matches (document ids grow with each write).
    if vendor == "sqlite":
        sql = (
            f"SELECT d.event_id FROM {_FTS_TABLE} f JOIN {_DOC_TABLE} d ON d.id = f.rowid "
            f"WHERE {_FTS_TABLE} MATCH %s"
        )
        params: list[Any] = [_fts5_match(tokens)]
        order = " ORDER BY f.rowid DESC"
    else:
        sql = (
            f"SELECT d.event_id FROM {_DOC_TABLE} d "
            "WHERE d.search_vector @@ plainto_tsquery('english'::regconfig, %s)"
        )
        params = [" ".join(tokens)]
        order = " ORDER BY d.id DESC"
    if match_limit is not None:
        sql += f"{order} LIMIT %s"
        params.append(match_limit)
    return sql, params


def search_match_count(text: object, *, cap: int, using: str | None = None) -> int:
    """How many events match ``text``, counted up to ``cap`` (bounded work, whatever the word)."""
    tokens = query_tokens(text)
    if not tokens:
        return 0
    connection = connections[_db(using)]
    inner, params = _matching_ids_sql(connection.vendor, tokens, cap)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({inner}) matches", params)
        (count,) = cursor.fetchone()
    return int(count)


def search_events(
    text: object,
    queryset: EventRecordQuerySet | None = None,
    *,
    match_limit: int | None = None,
) -> EventRecordQuerySet:
    """Events of ``queryset`` (default: all) whose text matches ``text``; never raises on text.

    The result is an ordinary QuerySet: chain the other verbs
    (``of_actor_types``, ``touching``, ...), order it, or page it with
    ``keyset_page``. Text with no words gives an empty QuerySet.

    ``match_limit`` bounds the work for words found in most events: only the
    ``match_limit`` most recently recorded matches are candidates (the web UI
    passes ``SEARCH_MATCH_LIMIT`` and says so when it applies, see
    ``search_match_count``).
    """
    base = EventRecord.objects.all() if queryset is None else queryset
    tokens = query_tokens(text)
    if not tokens:
        return base.none()
    sql, params = _matching_ids_sql(connections[base.db].vendor, tokens, match_limit)
    return base.filter(pk__in=RawSQL(sql, params))


def search_ranked_ids(
    text: object,
    queryset: EventRecordQuerySet | None = None,
    *,
    limit: int = 50,
    using: str | None = None,
) -> list[uuid.UUID]:
    """Ids of the best ``limit`` matches, best first (ties: newest row first).

    Args:
        text: the user's words, as typed; anything is safe.
        queryset: restrict to these events (e.g. already filtered by actor type).
        limit: 1 to ``MAX_PAGE_SIZE``.
        using: the database alias, when ``queryset`` is not given.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise TraceValidationError(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}.")
    tokens = query_tokens(text)
    if not tokens:
        return []
    db = queryset.db if queryset is not None else _db(using)
    connection = connections[db]
    restrict, restrict_params = "", []
    if queryset is not None:
        inner, restrict_params = queryset.order_by().values("pk").query.sql_with_params()
        restrict = f" AND d.event_id IN ({inner})"
    if connection.vendor == "sqlite" and not restrict:
        # Ranked and tie-broken on the index alone (rowid is the document's id); only the
        # best ``limit`` rows are joined for their event ids. Joining every match first
        # to break ties on d.id doubled the query's time.
        sql = (
            f"SELECT d.event_id FROM (SELECT rowid, rank FROM {_FTS_TABLE} "
            f"WHERE {_FTS_TABLE} MATCH %s ORDER BY rank, rowid DESC LIMIT %s) best "
            f"JOIN {_DOC_TABLE} d ON d.id = best.rowid ORDER BY best.rank, best.rowid DESC"
        )
        params: list[Any] = [_fts5_match(tokens), limit]
    elif connection.vendor == "sqlite":
        sql = (
            f"SELECT d.event_id FROM {_FTS_TABLE} f JOIN {_DOC_TABLE} d ON d.id = f.rowid "
            f"WHERE {_FTS_TABLE} MATCH %s{restrict} ORDER BY f.rank, f.rowid DESC LIMIT %s"
        )
        params = [_fts5_match(tokens), *restrict_params, limit]
    else:
        sql = (
            "SELECT d.event_id FROM "
            f"{_DOC_TABLE} d, plainto_tsquery('english'::regconfig, %s) q "
            f"WHERE d.search_vector @@ q{restrict} "
            "ORDER BY ts_rank(d.search_vector, q) DESC, d.id DESC LIMIT %s"
        )
        params = [" ".join(tokens), *restrict_params, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
            for (value,) in cursor.fetchall()
        ]
