"""Full-text search over events with the database's own engine.

The searchable text of an event (description, reasoning, alternatives and
rejection reasons) is one ``EventSearchDocument`` row. SQLite indexes it with
FTS5 (table ``traces_event_fts``, porter stemming), PostgreSQL with a generated
``tsvector`` column and a GIN index (English configuration); both are created
by migration 0002 on their own database only.

User text never reaches either engine's query syntax as typed: ``parse_query``
reads the small syntax written next to the search box and each engine's
expression is built from its parts, every word quoted (FTS5) or a quoted
lexeme (``to_tsquery``), so stray quotes, ``AND``/``NEAR``, parentheses,
emoji and 10 kB strings are just words or nothing:

- words: all must match (``refund damaged``);
- ``"a phrase"``: these words next to each other, in this order;
- ``OR`` (capitals) between words or phrases: either side;
- ``word*``: any word starting so (a prefix).

Two ways in:

- ``search_events(text, queryset=None)``: a QuerySet filtered to matching
  events (no ranking), to combine with the other filter verbs and keyset pages.
  By default the matching events are collected first (an ``IN`` list: cheap
  for a rare word); ``probe=True`` asks the index about each event as the
  page reads it instead (``EXISTS``), which is what a word in much of the
  table needs: a newest-first page then stops after reading about
  30 / (the word's share) events instead of collecting every match. On
  SQLite the ``PROBE_RECENT_MATCHES`` most recent matches are read once as a
  set and only events with older documents are asked about alone: an FTS5
  query per row cost ~50 µs (170 ms for a page of a word in 1 % of 1.85M
  events), the set and the walk cost 2-5 ms.
- ``search_ranked_ids(text, queryset=None, limit=50)``: event ids, best match first.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, F
from django.db.models.expressions import BaseExpression, Combinable, Expression, RawSQL
from django.db.models.sql.compiler import SQLCompiler
from django.utils.safestring import SafeString, mark_safe

from decision_trace.exceptions import TraceValidationError
from decisioning.selectors import distinct_indexed_values
from traces.bulk import RowBatch, insert_rows_returning, write_rows
from traces.cursors import driver_cursor
from traces.models import EventRecord, EventSearchDocument
from traces.pagination import MAX_PAGE_SIZE, is_count
from traces.querysets import AUDIT_EVENT_PREFIX, EventRecordQuerySet

__all__ = [
    "MAX_QUERY_TOKENS",
    "PHRASE_MATCH_LIMIT",
    "SEARCH_MATCH_LIMIT",
    "SEARCH_RANK_WINDOW",
    "SearchTerm",
    "document_body",
    "highlight",
    "parse_query",
    "query_tokens",
    "search_best",
    "search_events",
    "search_index_add",
    "search_index_rebuild",
    "search_index_remove",
    "search_match_count",
    "search_match_limit",
    "search_probe_pays",
    "search_ranked_ids",
]

MAX_QUERY_TOKENS = 32
# A word in most of a million events would make a page read every match: the UI
# looks at the most recently recorded ones only (a page then costs ~120 ms at that size).
SEARCH_MATCH_LIMIT = 10_000
# A query with a phrase reads this many of them instead (see search_match_limit).
PHRASE_MATCH_LIMIT = 1_000
SEARCH_RANK_WINDOW = 200_000
"""With ``match_limit``, the best match ranks the most recent matches among this many of
the most recently indexed events only: a word in 1 % of ten million events otherwise
had the search read back 1.2 million documents to find its 10,000 most recent."""
# A newest-first page lists this many matches or fewer, whatever the table's size.
PROBE_AFTER_AT_LEAST = 1_000
# A probing page on SQLite reads this many of the most recent matches as one set (see
# search_events): asking the index about each event alone cost ~50 µs an event.
PROBE_RECENT_MATCHES = 5_000
# The review trail's types are told apart among at most this many stored event types.
EVENT_TYPE_WALK_LIMIT = 200
# A prefix's count on PostgreSQL first reads this many of the most recent documents
# (a prefix in half of them reaches the cap there), if a sample of the newest
# PREFIX_SAMPLE_DOCUMENTS says it may: reading 20,000 cost ~9 ms at 1M events.
PREFIX_WALK_DOCUMENTS = 20_000
PREFIX_SAMPLE_DOCUMENTS = 2_000
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


@dataclass(frozen=True)
class SearchTerm:
    """One required part of a query: a word (``prefix``: any word starting so) or a phrase."""

    words: tuple[str, ...]
    prefix: bool = False


_ITEM = re.compile(r'"([^"]*)"?|(\S+)')


def parse_query(text: object) -> list[list[SearchTerm]]:
    """The search text as alternatives (``OR``) of terms that must all match; never raises.

    At most ``MAX_QUERY_TOKENS`` words in all; an empty list matches nothing.
    """
    if not isinstance(text, str):
        return []
    groups: list[list[SearchTerm]] = [[]]
    budget = MAX_QUERY_TOKENS
    for match in _ITEM.finditer(text):
        phrase, item = match.group(1), match.group(2)
        if item == "OR":
            if groups[-1]:
                groups.append([])
            continue
        raw = phrase if phrase is not None else item
        words = [word[:_MAX_TOKEN_LENGTH] for word in _WORD.findall(raw.replace("_", " "))]
        words = words[:budget]
        if not words:
            continue
        budget -= len(words)
        prefix = phrase is None and item.endswith("*") and len(words) == 1
        groups[-1].append(SearchTerm(tuple(words), prefix))
        if budget <= 0:
            break
    return [group for group in groups if group]


def _fts5_expression(groups: list[list[SearchTerm]]) -> str:
    """The FTS5 MATCH expression: each term quoted (words, never syntax)."""

    def term(part: SearchTerm) -> str:
        return '"' + " ".join(part.words) + '"' + ("*" if part.prefix else "")

    return " OR ".join("(" + " AND ".join(term(part) for part in group) + ")" for group in groups)


def _tsquery_expression(groups: list[list[SearchTerm]]) -> str:
    """The ``to_tsquery`` text: quoted lexemes, ``<->`` for phrases, ``:*`` for prefixes."""

    def term(part: SearchTerm) -> str:
        lexemes = [f"'{word}'" for word in part.words]
        if part.prefix:
            lexemes[-1] += ":*"
        return lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")"

    return " | ".join("(" + " & ".join(term(part) for part in group) + ")" for group in groups)


def _words(groups: list[list[SearchTerm]]) -> list[SearchTerm]:
    return [part for group in groups for part in group]


def highlight(text: str, text_query: object, *, width: int = 160) -> SafeString:
    """The part of ``text`` where the query matched, escaped, matches in ``<mark>``; "" if none.

    Word starts are compared case-insensitively (stems: the first five letters
    of a longer word), the way a reader would spot them.
    """
    stems = []
    for part in _words(parse_query(text_query)):
        for word in part.words:
            stem = word.lower() if part.prefix or len(word) <= 5 else word.lower()[:5]
            stems.append(re.escape(stem))
    if not stems or not text:
        return SafeString("")
    pattern = re.compile(r"\b(?:" + "|".join(stems) + r")\w*", re.IGNORECASE)
    first = pattern.search(text)
    if first is None:
        return SafeString("")
    start = max(0, first.start() - width // 3)
    end = min(len(text), start + width)
    window = text[start:end]
    pieces, last = [], 0
    for found in pattern.finditer(window):
        pieces.append(escape(window[last : found.start()]))
        pieces.append(f"<mark>{escape(found.group(0))}</mark>")
        last = found.end()
    pieces.append(escape(window[last:]))
    # Every piece of the text is escaped above; only the <mark> tags are markup.
    return mark_safe(("…" if start else "") + "".join(pieces) + ("…" if end < len(text) else ""))


def _db(using: str | None) -> str:
    return using or router.db_for_read(EventRecord)


def search_index_add(documents: Iterable[dict[str, Any]], *, using: str, count: int) -> None:
    """Insert the search documents (``{"event_id", "body"}`` dicts) and index them.

    ``count`` documents: a generator's are streamed to PostgreSQL as they are made
    (``traces.bulk.write_rows``). On SQLite the FTS5 rows take the ids the
    documents were given; on PostgreSQL the generated ``tsvector`` column
    follows the row by itself.
    """
    if not count:
        return
    connection = connections[using]
    if connection.vendor != "sqlite":
        write_rows(EventSearchDocument, documents, using=using, with_pk=False, count=count)
        return
    documents = list(documents)
    fts = f"INSERT INTO {_FTS_TABLE}(rowid, body) VALUES (%s, %s)"
    if len(documents) == 1:
        # One document (record()): its id from the insert itself.
        (document,) = documents
        batch = RowBatch(EventSearchDocument, using=using, with_pk=False).extend(documents)
        row_id = batch.insert_one()
        with driver_cursor(connection) as cursor:
            cursor.execute(fts, [row_id, document["body"]])
        return
    ids = insert_rows_returning(EventSearchDocument, documents, ["id"], using=using)
    with driver_cursor(connection) as cursor:
        cursor.executemany(
            fts, [(pk, document["body"]) for (pk,), document in zip(ids, documents, strict=True)]
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


def _without_review_trail_sql(
    using: str, event_types: Sequence[str] | None = None
) -> tuple[str, list[Any]]:
    """A condition on the document ``d``: its event is not of the review trail (``decision.*``).

    The SQL twin of ``EventRecordQuerySet.without_review_trail``. The trail's
    types are read first (one probe of the type index per stored type, then
    ``startswith`` here, whatever the collation): most stores have none or a few,
    so the condition is nothing, or an anti-join with the few trail events by
    type. A ``LIKE`` on the event's type instead made PostgreSQL read every
    event (it cannot use the index for it and expected no match: 130 ms at 1.5M
    events for each count). With more types than ``EVENT_TYPE_WALK_LIMIT``, the
    ``LIKE`` stays, asked per match by primary key. ``event_types``: the stored
    types if the caller read them already (fewer than ``EVENT_TYPE_WALK_LIMIT``
    means all of them), which saves that query.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    if event_types is not None and len(event_types) < EVENT_TYPE_WALK_LIMIT:
        types = list(event_types)
    else:
        types = distinct_indexed_values(
            EventRecord, "event_type", limit=EVENT_TYPE_WALK_LIMIT + 1, using=using
        )
    probe = (
        f" AND NOT EXISTS (SELECT 1 FROM {quote(EventRecord._meta.db_table)} e"
        f" WHERE e.{quote('id')} = d.event_id AND e.{quote('event_type')}"
    )
    if len(types) <= EVENT_TYPE_WALK_LIMIT:
        trail = [value for value in types if value.startswith(AUDIT_EVENT_PREFIX)]
        if not trail:
            return "", []
        return f"{probe} IN ({', '.join(['%s'] * len(trail))}))", trail
    # OFFSET 0 keeps PostgreSQL from turning the probe into a scan of every event.
    tail = " OFFSET 0" if connection.vendor == "postgresql" else ""
    return f"{probe} LIKE %s{tail})", [f"{AUDIT_EVENT_PREFIX}%"]


def _matching_ids_sql(
    using: str,
    groups: list[list[SearchTerm]],
    match_limit: int | None,
) -> tuple[str, list[Any]]:
    # SQLite or PostgreSQL: the system check traces.E001 refuses any other database.
    # With a limit, the most recently indexed matches (document ids grow with each write).
    if connections[using].vendor == "sqlite":
        sql = (
            f"SELECT d.event_id FROM {_FTS_TABLE} f JOIN {_DOC_TABLE} d ON d.id = f.rowid "
            f"WHERE {_FTS_TABLE} MATCH %s"
        )
        params: list[Any] = [_fts5_expression(groups)]
        order = " ORDER BY f.rowid DESC"
    else:
        sql = (
            f"SELECT d.event_id FROM {_DOC_TABLE} d "
            "WHERE d.search_vector @@ to_tsquery('english'::regconfig, %s)"
        )
        params = [_tsquery_expression(groups)]
        order = " ORDER BY d.id DESC"
    if match_limit is not None:
        sql += f"{order} LIMIT %s"
        params.append(match_limit)
    return sql, params


def search_match_limit(text: object) -> int:
    """How many matches of ``text`` a search counts and reads (the most recently recorded).

    ``SEARCH_MATCH_LIMIT``, or ``PHRASE_MATCH_LIMIT`` when the query holds a
    phrase: neither index keeps a word's positions where it can skip by them, so
    each document holding every word of the phrase is read to find them side by
    side. Counting the 10,001 most recent matches of a phrase of two words each
    in ~60 % of the events (the phrase in 3 %) read ~330,000 documents on
    PostgreSQL (240 ms at 1M events); 1,001 read a tenth of that (23 ms).
    """
    if any(len(part.words) > 1 for part in _words(parse_query(text))):
        return PHRASE_MATCH_LIMIT
    return SEARCH_MATCH_LIMIT


def _on_index_bitmap(
    connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """The rows of ``sql``, read through the full-text index's bitmap (PostgreSQL).

    For a prefix the planner guessed the share of matching documents badly both
    ways (see ``search_match_count``): with sequential and index scans off it
    can only read the GIN index's bitmap (intersected with an id range's, if
    asked), and a ``LIMIT`` stops the reading of the rows there. The settings
    are undone with their savepoint, whatever transaction encloses this.
    """
    using = connection.alias
    with transaction.atomic(using=using), connection.cursor() as cursor:
        savepoint = transaction.savepoint(using=using)
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        transaction.savepoint_rollback(savepoint, using=using)
    return [tuple(row) for row in rows]


def search_match_count(
    text: object,
    *,
    cap: int,
    using: str | None = None,
    with_review_trail: bool = True,
    event_types: Sequence[str] | None = None,
) -> int:
    """How many events match ``text``, counted up to ``cap`` (bounded work, whatever the word).

    Any ``cap`` matches will do, so the index answers in its own order: no join to
    the documents, no sort of every match. ``with_review_trail=False``: the review
    trail's events (``decision.*``) are not counted (see ``_without_review_trail_sql``;
    ``event_types``: every stored event type, if the caller read them already).

    A prefix (``word*``) on PostgreSQL is first counted among the
    ``PREFIX_WALK_DOCUMENTS`` most recent documents, by their id index: a common
    prefix reaches ``cap`` there and stops. Only a rarer one is then counted
    from the full-text index's bitmap, up to ``cap`` (``_on_index_bitmap``); one
    that the ``PREFIX_SAMPLE_DOCUMENTS`` newest documents show to be rare goes
    there at once. Asked at once, the planner guessed a prefix's share badly
    both ways: a bitmap of every match for a common prefix (~100 ms for 700,000
    matches at 1M events) or a read of every document for a rare one (2 s at
    1.5M events). Counting every match of a prefix in 1 % of 10M events (no
    ``LIMIT``, to keep the planner off the second) took 117 ms.
    """
    groups = parse_query(text)
    if not groups:
        return 0
    connection = connections[_db(using)]
    hidden, hidden_params = (
        ("", []) if with_review_trail else _without_review_trail_sql(connection.alias, event_types)
    )
    params: list[Any]
    if connection.vendor == "sqlite":
        expression = _fts5_expression(groups)
        if hidden:
            inner = (
                f"SELECT 1 FROM {_FTS_TABLE} f JOIN {_DOC_TABLE} d ON d.id = f.rowid "
                f"WHERE {_FTS_TABLE} MATCH %s{hidden} LIMIT %s"
            )
        else:
            inner = f"SELECT rowid FROM {_FTS_TABLE} WHERE {_FTS_TABLE} MATCH %s LIMIT %s"
        sql = f"SELECT COUNT(*) FROM ({inner}) matches"
        params = [expression, *hidden_params, cap]
    else:
        expression = _tsquery_expression(groups)
        matches = f"d.search_vector @@ to_tsquery('english'::regconfig, %s){hidden}"
        params = [expression, *hidden_params, cap]
        if any(part.prefix for part in _words(groups)):
            return _postgres_prefix_count(
                connection, matches, [expression, *hidden_params], cap=cap
            )
        sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {_DOC_TABLE} d WHERE {matches} LIMIT %s) m"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (count,) = cursor.fetchone()
    return int(count)


class _Matches(Expression):
    """This event's search document matches the query (asked per row).

    On PostgreSQL an ``EXISTS`` per row. On SQLite the ``PROBE_RECENT_MATCHES``
    most recent matches are read once, as a set; only an event whose document
    is older is asked of the index by itself (see ``search_events``). Where
    that set starts is read when the query is compiled (a best-match page
    never compiles it), once per database for this search and the querysets
    made from it (a list and its ``exists()`` share it). Any start gives the
    same rows, so one read a moment earlier does too.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, groups: list[list[SearchTerm]]) -> None:
        super().__init__(output_field=BooleanField())
        self.groups = groups
        # The event's id column once resolved (a Col), F("pk") until then.
        self.event: Combinable | BaseExpression = F("pk")
        # Where the set of recent matches starts, by database alias: shared by the
        # copies Django makes of this expression (copy.copy keeps the dict).
        self.floors: dict[str, int] = {}

    def get_source_expressions(self) -> list[Combinable | BaseExpression]:
        return [self.event]

    def set_source_expressions(self, exprs: Sequence[Combinable | BaseExpression]) -> None:
        (self.event,) = exprs

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        if not isinstance(self.event, BaseExpression):
            raise TypeError("_Matches must be resolved (used in a QuerySet) before compiling.")
        event_sql, event_params = compiler.compile(self.event)
        if connection.vendor != "sqlite":
            sql = (
                f"EXISTS (SELECT 1 FROM {_DOC_TABLE} d WHERE d.event_id = {event_sql} "
                "AND d.search_vector @@ to_tsquery('english'::regconfig, %s))"
            )
            return sql, [*event_params, _tsquery_expression(self.groups)]
        expression = _fts5_expression(self.groups)
        # The document by its event, then the FTS5 row by its rowid: the index
        # seeks each word's list to that rowid instead of reading every match.
        probe = (
            f"EXISTS (SELECT 1 FROM {_DOC_TABLE} d CROSS JOIN {_FTS_TABLE} f "
            f"WHERE d.event_id = {event_sql} AND f.rowid = d.id AND {_FTS_TABLE} MATCH %s)"
        )
        floor = self.floors.get(connection.alias)
        if floor is None:
            floor = self.floors[connection.alias] = _recent_matches_floor(connection, expression)
        # The event's document id, then: from the floor on, one set of the recent
        # matches (read once per statement); below it, the index asked about it alone.
        document = f"(SELECT d.id FROM {_DOC_TABLE} d WHERE d.event_id = {event_sql})"
        matches = f"SELECT rowid FROM {_FTS_TABLE} WHERE {_FTS_TABLE} MATCH %s AND rowid"
        recent = f"{document} IN ({matches} >= %s)"
        params = [*event_params, floor, *event_params, expression, floor]
        if any(part.prefix for part in _words(self.groups)):
            # A prefix longer than the indexed 2-4 letters, asked about one row, reads
            # every word with that start (about 5 ms at 1M events before the prefix
            # index): the older matches as a second set, read if reached.
            older = f"{document} IN ({matches} < %s)"
            params += [*event_params, expression, floor]
        else:
            older = probe
            params += [*event_params, expression]
        return f"CASE WHEN {document} >= %s THEN {recent} ELSE {older} END", params


def _recent_matches_floor(connection: BaseDatabaseWrapper, expression: str) -> int:
    """The document id of the ``PROBE_RECENT_MATCHES``-th most recent FTS5 match (0: fewer)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rowid FROM {_FTS_TABLE} WHERE {_FTS_TABLE} MATCH %s "
            "ORDER BY rowid DESC LIMIT 1 OFFSET %s",
            [expression, PROBE_RECENT_MATCHES - 1],
        )
        row = cursor.fetchone()
    return 0 if row is None else int(row[0])


def search_probe_pays(
    matches: int, *, limit: int = SEARCH_MATCH_LIMIT, using: str | None = None
) -> bool:
    """Whether a newest-first page of ``matches`` matching events should probe them
    (``search_events(probe=True)``) rather than list them.

    A probing page reads about 30 x (events / matches) events; a list costs each
    match a lookup and a sort. They cost the same near ``sqrt(8 x events)``
    matches, measured at 1M events (about 3,000 there): a word in 1 % of them,
    9,100 matches, took 104 ms of SQL as a list on PostgreSQL and 15 ms probing
    (SQLite: 58 and 3 ms; 2,000 matches: 34 and 22 ms). Always past ``limit``
    (the search's ``search_match_limit``: a list would leave matches out), never up to
    ``PROBE_AFTER_AT_LEAST``; in between, the events are counted by the newest
    search document's id (one query).
    """
    if matches > limit:
        return True
    if matches <= PROBE_AFTER_AT_LEAST:
        return False
    newest = _newest_document_id(connections[_db(using)]) or 0
    return matches > math.isqrt(8 * newest)


def search_events(
    text: object,
    queryset: EventRecordQuerySet | None = None,
    *,
    match_limit: int | None = None,
    probe: bool = False,
) -> EventRecordQuerySet:
    """Events of ``queryset`` (default: all) whose text matches ``text``; never raises on text.

    The result is an ordinary QuerySet: chain the other verbs
    (``of_actor_types``, ``touching``, ...), order it, or page it with
    ``keyset_page``. Text with no words gives an empty QuerySet.

    ``match_limit`` bounds the work for words found in most events: only the
    ``match_limit`` most recently recorded matches are candidates (the web UI
    passes ``SEARCH_MATCH_LIMIT`` and says so when it applies, see
    ``search_match_count``).

    ``probe=True`` checks each event the query reads against the index instead
    (``match_limit`` does not apply): for a word in a large share of the
    events, on a list read in index order that stops after a page. For a rare
    word it would read every event: count first (``search_match_count``). On
    SQLite it reads where the ``PROBE_RECENT_MATCHES`` most recent matches
    start when the query is compiled (one query).
    """
    base = EventRecord.objects.all() if queryset is None else queryset
    groups = parse_query(text)
    if not groups:
        return base.none()
    if probe:
        return base.filter(_Matches(groups))
    sql, params = _matching_ids_sql(base.db, groups, match_limit)
    return base.filter(pk__in=RawSQL(sql, params))


def search_ranked_ids(
    text: object,
    queryset: EventRecordQuerySet | None = None,
    *,
    limit: int = 50,
    using: str | None = None,
    match_limit: int | None = None,
    with_review_trail: bool = True,
    event_types: Sequence[str] | None = None,
) -> list[uuid.UUID]:
    """Ids of the best ``limit`` matches, best first (ties: newest row first).

    ``match_limit`` ranks only the ``match_limit`` most recently recorded
    matches among the ``SEARCH_RANK_WINDOW`` most recently recorded events (a
    word in half a million events would rank them all).

    Args:
        text: the user's words, as typed; anything is safe.
        queryset: restrict to these events (e.g. already filtered by actor type).
        limit: 1 to ``MAX_PAGE_SIZE``.
        using: the database alias, when ``queryset`` is not given.
        with_review_trail: False leaves the review trail's events (``decision.*``) out.
        event_types: every stored event type, if the caller read them (saves a query).
    """
    if not is_count(limit) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise TraceValidationError(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}.")
    groups = parse_query(text)
    if not groups:
        return []
    db = queryset.db if queryset is not None else _db(using)
    connection = connections[db]
    restrict, restrict_params = "", []
    if queryset is not None:
        inner, inner_params = queryset.order_by().values("pk").query.sql_with_params()
        restrict, restrict_params = f" AND d.event_id IN ({inner})", list(inner_params)
    if not with_review_trail:
        hidden, hidden_params = _without_review_trail_sql(db, event_types)
        restrict += hidden
        restrict_params += hidden_params
    params: list[Any]
    if connection.vendor == "sqlite" and _one_phrase(groups):
        return _fts5_phrase_ranked(
            connection, groups, restrict, restrict_params, limit, match_limit
        )
    if connection.vendor == "sqlite":
        sql, params = _fts5_ranked_sql(groups, restrict, restrict_params, limit, match_limit)
    else:
        expression = _tsquery_expression(groups)
        if match_limit is None:
            sql = (
                "SELECT d.event_id FROM "
                f"{_DOC_TABLE} d, to_tsquery('english'::regconfig, %s) q "
                f"WHERE d.search_vector @@ q{restrict} "
                "ORDER BY ts_rank(d.search_vector, q) DESC, d.id DESC LIMIT %s"
            )
            params = [expression, *restrict_params, limit]
        else:
            # One pass: the most recent matches (stopping at match_limit for a common
            # word), then rank those. Finding the match_limit-th match's id first and
            # ranking from there read the same documents twice, in a parallel plan:
            # 36 -> 8 ms at 1.5M events. Within the SEARCH_RANK_WINDOW newest documents:
            # the walk back stops there for a word in 1 % of them (1.2 M documents read,
            # 305 ms, at 10 M events). The window's first id is read first and sent as a
            # value: with a subquery there the planner took the id range for a third of
            # the table and walked the id index back through the 200,000 documents
            # filtering each (68 ms at 10 M); knowing the range, it intersects the
            # word's and the range's bitmaps (30 ms).
            floor = _rank_window_floor(connection)
            if floor is None:
                return []
            sql = (
                "SELECT recent.event_id FROM (SELECT d.id, d.event_id, d.search_vector "
                f"FROM {_DOC_TABLE} d WHERE d.search_vector @@ "
                f"to_tsquery('english'::regconfig, %s){restrict} AND d.id > %s "
                "ORDER BY d.id DESC LIMIT %s) recent ORDER BY ts_rank(recent.search_vector, "
                "to_tsquery('english'::regconfig, %s)) DESC, recent.id DESC LIMIT %s"
            )
            params = [expression, *restrict_params, floor, match_limit, expression, limit]
            matches = f"d.search_vector @@ to_tsquery('english'::regconfig, %s){restrict}"
            if (
                queryset is None
                and any(part.prefix for part in _words(groups))
                and not _may_reach_cap_among_newest(
                    connection,
                    matches,
                    [expression, *restrict_params],
                    cap=match_limit,
                    newest=SEARCH_RANK_WINDOW,
                )
            ):
                # A prefix with fewer matches in the window than ranked: the planner
                # walked the id index back through all 200,000 documents (66 ms at
                # 1.2M events); the GIN bitmap and the id range's, intersected: 12 ms.
                return [_uuid(value) for (value,) in _on_index_bitmap(connection, sql, params)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_uuid(value) for (value,) in cursor.fetchall()]


def _uuid(value: Any) -> uuid.UUID:
    """An event id as the driver gives it (a UUID on PostgreSQL, hex text on SQLite)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _count_among_newest(
    connection: BaseDatabaseWrapper,
    matches: str,
    match_params: Sequence[Any],
    *,
    documents: int,
    cap: int | None = None,
) -> int:
    """How many of the ``documents`` newest documents meet ``matches`` (a condition on
    ``d``), read by the id index newest first; up to ``cap`` if given (PostgreSQL)."""
    limited = "" if cap is None else " LIMIT %s"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM (SELECT d.event_id, d.search_vector "
            f"FROM {_DOC_TABLE} d ORDER BY d.id DESC LIMIT %s) d WHERE {matches}{limited}) m",
            [documents, *match_params, *([] if cap is None else [cap])],
        )
        (count,) = cursor.fetchone()
    return int(count)


def _may_reach_cap_among_newest(
    connection: BaseDatabaseWrapper,
    matches: str,
    match_params: Sequence[Any],
    *,
    cap: int,
    newest: int,
) -> bool:
    """Whether the ``PREFIX_SAMPLE_DOCUMENTS`` newest documents say the ``newest`` ones
    hold ``cap`` matches (twice the share that needs)."""
    sample = min(PREFIX_SAMPLE_DOCUMENTS, newest)
    sampled = _count_among_newest(connection, matches, match_params, documents=sample)
    return sampled * 2 * newest >= cap * sample


def _postgres_prefix_count(
    connection: BaseDatabaseWrapper,
    matches: str,
    match_params: Sequence[Any],
    *,
    cap: int,
    may_be_common: bool | None = None,
) -> int:
    """A prefix's count up to ``cap`` (see ``search_match_count``): among the
    ``PREFIX_WALK_DOCUMENTS`` newest documents if the sample says it may reach
    ``cap`` there (``may_be_common``: the caller sampled already), else from the
    GIN index's bitmap."""
    if may_be_common is None:
        may_be_common = _may_reach_cap_among_newest(
            connection, matches, match_params, cap=cap, newest=PREFIX_WALK_DOCUMENTS
        )
    if may_be_common:
        recent = _count_among_newest(
            connection, matches, match_params, documents=PREFIX_WALK_DOCUMENTS, cap=cap
        )
        if recent >= cap:
            return recent
    ((count,),) = _on_index_bitmap(
        connection,
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {_DOC_TABLE} d WHERE {matches} LIMIT %s) m",
        [*match_params, cap],
    )
    return int(count)


def search_best(
    text: object,
    *,
    limit: int,
    cap: int,
    using: str | None = None,
    with_review_trail: bool = True,
    event_types: Sequence[str] | None = None,
) -> tuple[int, list[uuid.UUID]]:
    """How many events match ``text`` (counted up to ``cap``) and the ids of the best ``limit``.

    What ``search_match_count`` and then ``search_ranked_ids`` return (ranked
    among every match when there are fewer than ``cap``, else among the
    ``cap - 1`` most recent, see ``match_limit`` there), for a search with no
    other filter. On PostgreSQL, when there are fewer than ``cap`` matches, one
    statement counts them and ranks them: the count and the ranking read the
    same documents (a word in 1 % of 1M events: 11 ms to count, 15 ms to rank,
    16 ms together; a prefix there: 13 + 16 ms, or 22 ms). A prefix is first
    sampled among the newest documents: a common one is counted as
    ``search_match_count`` counts it. Arguments as ``search_ranked_ids``'.
    """
    if not is_count(limit) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise TraceValidationError(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}.")
    groups = parse_query(text)
    if not groups:
        return 0, []
    db = _db(using)
    connection = connections[db]

    def apart(count: int) -> tuple[int, list[uuid.UUID]]:
        """The ranking on its own, once the count is known."""
        if not count:
            return 0, []
        ids = search_ranked_ids(
            text,
            limit=limit,
            using=db,
            match_limit=cap - 1 if count >= cap else None,
            with_review_trail=with_review_trail,
            event_types=event_types,
        )
        return count, ids

    if connection.vendor != "postgresql":
        count = search_match_count(
            text, cap=cap, using=db, with_review_trail=with_review_trail, event_types=event_types
        )
        return apart(count)
    hidden, hidden_params = (
        ("", []) if with_review_trail else _without_review_trail_sql(db, event_types)
    )
    expression = _tsquery_expression(groups)
    matches = f"d.search_vector @@ to_tsquery('english'::regconfig, %s){hidden}"
    match_params = [expression, *hidden_params]
    # One pass over the matches, each ranked as it is read; the aggregate sorts the
    # ranks (no window over the rows: carrying each row's tsvector through one took
    # longer than a second pass).
    sql = (
        "SELECT COUNT(*), (array_agg(m.event_id ORDER BY m.r DESC, m.id DESC))[1:%s] "
        "FROM (SELECT d.id, d.event_id, ts_rank(d.search_vector, q) AS r "
        f"FROM {_DOC_TABLE} d, to_tsquery('english'::regconfig, %s) q "
        f"WHERE d.search_vector @@ q{hidden} LIMIT %s) m"
    )
    params = [limit, expression, *hidden_params, cap]
    if not any(part.prefix for part in _words(groups)):
        if _may_reach_cap_among_newest(
            connection, matches, match_params, cap=cap, newest=SEARCH_RANK_WINDOW
        ):
            # Common: the most recent matches are the ones ranked past the cap, and
            # reading them newest first counts to the cap too (a phrase in 3 % of 1M
            # events: 15 ms to count, 12 to rank, 13 together). Fewer than the cap
            # in the window: every match is counted and ranked below.
            floor = _rank_window_floor(connection)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT COUNT(*), (array_agg(m.event_id ORDER BY m.r DESC, m.id DESC) "
                    "FILTER (WHERE m.n < %s))[1:%s] FROM (SELECT d.id, d.event_id, "
                    "ts_rank(d.search_vector, q) AS r, row_number() OVER (ORDER BY d.id DESC) "
                    f"AS n FROM {_DOC_TABLE} d, to_tsquery('english'::regconfig, %s) q "
                    f"WHERE d.search_vector @@ q{hidden} AND d.id > %s "
                    "ORDER BY d.id DESC LIMIT %s) m",
                    [cap, limit, expression, *hidden_params, floor, cap],
                )
                count, best = cursor.fetchone()
            if count >= cap:
                return int(count), [_uuid(value) for value in best or ()]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            count, best = cursor.fetchone()
    elif _may_reach_cap_among_newest(
        connection, matches, match_params, cap=cap, newest=PREFIX_WALK_DOCUMENTS
    ):
        # Common (sampled once, here): counted among the newest documents, then ranked.
        return apart(
            _postgres_prefix_count(connection, matches, match_params, cap=cap, may_be_common=True)
        )
    else:
        # A rarer prefix: read from the full-text index's bitmap, whatever the planner
        # guesses of its share.
        ((count, best),) = _on_index_bitmap(connection, sql, params)
    if count >= cap:
        return apart(int(count))
    return int(count), [_uuid(value) for value in best or ()]


def _newest_document_id(connection: BaseDatabaseWrapper) -> int | None:
    """The newest search document's id (ids grow with each write; ``None``: no document)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {_DOC_TABLE}")
        newest = cursor.fetchone()[0]
    return None if newest is None else int(newest)


def _rank_window_floor(connection: BaseDatabaseWrapper) -> int | None:
    """The id below the ``SEARCH_RANK_WINDOW`` newest documents (``None``: no document)."""
    newest = _newest_document_id(connection)
    return None if newest is None else newest - SEARCH_RANK_WINDOW


# The newest documents only (document ids grow with each write), as PostgreSQL's.
_WINDOW = f" AND {{rowid}} > (SELECT MAX(w.id) FROM {_DOC_TABLE} w) - %s"


def _fts5_ranked_sql(
    groups: list[list[SearchTerm]],
    restrict: str,
    restrict_params: list[Any],
    limit: int,
    match_limit: int | None,
) -> tuple[str, list[Any]]:
    """SQLite's ranked search: the FTS5 query and its parameters.

    With ``match_limit``, the most recent matches (of the restricted set) are
    read first, newest first, then ranked: one pass over the index.
    """
    expression = _fts5_expression(groups)
    if not restrict:
        # Ranked and tie-broken on the index alone (rowid is the document's id); only the
        # best ``limit`` rows are joined for their event ids. Joining every match first
        # to break ties on d.id doubled the query's time.
        matches = f"SELECT rowid, rank FROM {_FTS_TABLE} WHERE {_FTS_TABLE} MATCH %s"
        params: list[Any] = [expression]
        if match_limit is not None:
            matches = (
                f"SELECT rowid, rank FROM ({matches}{_WINDOW.format(rowid='rowid')} "
                "ORDER BY rowid DESC LIMIT %s)"
            )
            params += [SEARCH_RANK_WINDOW, match_limit]
        sql = (
            f"SELECT d.event_id FROM ({matches} ORDER BY rank, rowid DESC LIMIT %s) best "
            f"JOIN {_DOC_TABLE} d ON d.id = best.rowid ORDER BY best.rank, best.rowid DESC"
        )
        return sql, [*params, limit]
    joined = (
        f"SELECT f.rowid AS rowid, f.rank AS rank, d.event_id AS event_id FROM {_FTS_TABLE} f "
        f"JOIN {_DOC_TABLE} d ON d.id = f.rowid WHERE {_FTS_TABLE} MATCH %s{restrict}"
    )
    params = [expression, *restrict_params]
    if match_limit is not None:
        joined += f"{_WINDOW.format(rowid='f.rowid')} ORDER BY f.rowid DESC LIMIT %s"
        params += [SEARCH_RANK_WINDOW, match_limit]
    sql = f"SELECT event_id FROM ({joined}) recent ORDER BY rank, rowid DESC LIMIT %s"
    return sql, [*params, limit]


# FTS5's bm25 constants (k1, b).
_BM25_K1 = 1.2
_BM25_B = 0.75


def _one_phrase(groups: list[list[SearchTerm]]) -> bool:
    """The query is one phrase and nothing else."""
    return len(groups) == 1 and len(groups[0]) == 1 and len(groups[0][0].words) > 1


def _varint(data: bytes, start: int = 0) -> tuple[int, int]:
    """SQLite's variable-length integer at ``start`` of ``data``: (value, where the next begins).

    Big-endian groups of 7 bits, the high bit set on every byte but the last; a ninth
    byte carries 8 bits. FTS5 stores its document sizes and averages so.
    """
    value = 0
    for offset in range(8):
        if start + offset >= len(data):
            return value, len(data)
        byte = data[start + offset]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, start + offset + 1
    if start + 8 >= len(data):
        return value, len(data)
    return (value << 8) | data[start + 8], start + 9


def _fts5_phrase_ranked(
    connection: BaseDatabaseWrapper,
    groups: list[list[SearchTerm]],
    restrict: str,
    restrict_params: list[Any],
    limit: int,
    match_limit: int | None,
) -> list[uuid.UUID]:
    """SQLite's best matches of one phrase, in bm25's order, without bm25's reading of the index.

    FTS5's bm25 weighs a phrase by how many documents of the whole index hold
    it, and finds out by reading every document that holds all its words (35 ms
    for "customer price" at 1M events, whatever the number of matches ranked).
    For a query of one phrase that weight is the same for every match, so it
    changes no place in the order; the rest of bm25 is computed here from what
    FTS5 keeps per document: how often the phrase occurs (``highlight`` marks
    each occurrence with one character, so the text grows by one per occurrence),
    the document's length in tokens (the ``docsize`` table) and the average
    length (the index's averages record). Ties: the most recent first, as ranked.
    """
    window, window_params = "", []
    if match_limit is not None:
        window = _WINDOW.format(rowid="f.rowid")
        window_params = [SEARCH_RANK_WINDOW]
    sql = (
        f"SELECT f.rowid, d.event_id, length(highlight({_FTS_TABLE}, 0, char(1), '')) "
        f"- length(d.body), s.sz FROM {_FTS_TABLE} f JOIN {_DOC_TABLE} d ON d.id = f.rowid "
        f"JOIN {_FTS_TABLE}_docsize s ON s.id = f.rowid "
        f"WHERE {_FTS_TABLE} MATCH %s{restrict}{window} ORDER BY f.rowid DESC"
    )
    params: list[Any] = [_fts5_expression(groups), *restrict_params, *window_params]
    if match_limit is not None:
        sql += " LIMIT %s"
        params.append(match_limit)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT block FROM {_FTS_TABLE}_data WHERE id = 1")
        averages = cursor.fetchone()
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    documents, next_at = _varint(bytes(averages[0])) if averages else (0, 0)
    tokens = _varint(bytes(averages[0]), next_at)[0] if averages else 0
    average_length = tokens / documents if documents and tokens else 1.0

    def score(row: Sequence[Any]) -> tuple[float, int]:
        occurrences = max(int(row[2] or 0), 0)
        length = _varint(bytes(row[3]))[0] if row[3] else 0
        norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * length / average_length)
        return (-(occurrences * (_BM25_K1 + 1)) / (occurrences + norm), -int(row[0]))

    best = sorted(rows, key=score)[:limit]
    return [uuid.UUID(str(row[1])) for row in best]
