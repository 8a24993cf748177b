"""Full-text search: ranked, combinable with filters, safe for any user text, kept in sync."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from decision_trace.exceptions import TraceValidationError
from traces import DecisionTraceClient, search
from traces.models import EventRecord
from traces.pagination import MAX_PAGE_SIZE, keyset_page
from traces.search import (
    MAX_QUERY_TOKENS,
    SearchTerm,
    document_body,
    highlight,
    parse_query,
    query_tokens,
    search_events,
    search_index_rebuild,
    search_ranked_ids,
)

pytestmark = pytest.mark.django_db

HOSTILE = [
    '"',
    '"unbalanced',
    "'; DROP TABLE traces_eventrecord; --",
    "AND",
    "OR OR OR",
    "NOT margin",
    "margin NEAR price",
    "NEAR(margin price, 2)",
    "*",
    "marg*",
    "(((",
    "margin)",
    "body:margin",
    "^margin",
    "margin -price",
    "😀🔥",
    "margin 😀",
    "\x00margin",
    "a" * 10_000,
    "margin " * 2_000,
    "",
    "   ",
    "\\",
    "%_%",
    "{near}",
    "تخفيض السعر",
]


@pytest.fixture
def client() -> DecisionTraceClient:
    return DecisionTraceClient()


@pytest.fixture
def events(client) -> dict[str, str]:
    return {
        "reasoning": client.trace("price.updated", "Price changed")
        .because("Competitor price increase squeezed our margin")
        .record(),
        "description": client.trace("order.created", "Margin report for the quarter").record(),
        "alternative": client.trace("refund.approved", "Refund")
        .because("Defect", alternatives=[{"action": "replace", "reason": "warehouse backorder"}])
        .record(),
        "rejection": client.trace("refund.denied", "Refund denied")
        .because("Policy", rejection_reasons={"full_refund": "outside the return window"})
        .record(),
        "none": client.trace("cart.updated", "Nothing relevant").record(),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("margin", {"reasoning", "description"}),
        ("backorder", {"alternative"}),
        ("window", {"rejection"}),
        ("full_refund", {"rejection"}),
        ("price increase margin", {"reasoning"}),
        ("increased", {"reasoning"}),
        ("MARGIN", {"reasoning", "description"}),
        ("unrelated", set()),
    ],
)
def test_search_covers_description_reasoning_alternatives_rejections(
    client, events, text, expected
):
    """Matches in each searched field; all words must match; stemming and case fold."""
    names = {v: k for k, v in events.items()}
    assert {names[e.id] for e in client.search(text)} == expected


@pytest.mark.parametrize("text", HOSTILE)
def test_probing_search_reads_hostile_input_as_the_list_does(client, events, monkeypatch, text):
    """The probing plan (a set of recent matches, older ones asked alone) never raises
    either, and finds what the list finds, whatever the set's size."""
    monkeypatch.setattr(search, "PROBE_RECENT_MATCHES", 1)
    listed = set(search_events(text).values_list("pk", flat=True))
    assert set(search_events(text, probe=True).values_list("pk", flat=True)) == listed


@pytest.mark.parametrize("text", HOSTILE)
def test_search_hostile_input_never_raises(client, events, text):
    """Quotes, operators, wildcards, parentheses, emoji, NUL and 10 kB strings are safe."""
    results = client.search(text)
    assert isinstance(results, list)
    assert search_events(text).count() == len(search_ranked_ids(text, limit=500))


def test_search_ranks_best_match_first(client):
    """An event that says the word more often ranks above one that says it once."""
    weak = client.trace("a", "margin once among many other words here").record()
    strong = client.trace("b", "margin margin margin").record()
    assert [e.id for e in client.search("margin")] == [strong, weak]


def test_search_limit(client):
    client.record_many([client.trace("x", f"zebra {n}") for n in range(8)])
    assert len(client.search("zebra", limit=3)) == 3
    with pytest.raises(ValueError, match="limit must be"):
        client.search("zebra", limit=0)


def test_search_events_combines_with_filters_and_keyset_pages(client):
    """search_events() is a QuerySet: chain verbs, page it with keyset_page."""
    user = client.trace("a", "zebra").by_user("u", "U").record()
    client.trace("b", "zebra").by_ai("ai", "AI").record()
    client.trace("c", "other").by_user("u", "U").record()
    queryset = search_events("zebra", EventRecord.objects.of_actor_types(["user"]))
    assert [str(pk) for pk in queryset.values_list("pk", flat=True)] == [user]
    page = keyset_page(search_events("zebra").for_display(), limit=1)
    assert len(page.items) == 1
    assert page.next_cursor is not None


def test_search_ranked_ids_restricted_by_queryset(client):
    client.trace("a", "zebra").by_user("u", "U").record()
    ai = client.trace("b", "zebra").by_ai("ai", "AI").record()
    restricted = EventRecord.objects.of_actor_types(["ai_agent"])
    assert search_ranked_ids("zebra", restricted) == [uuid.UUID(ai)]


def test_search_index_rebuild_keeps_results(client, events):
    search_index_rebuild()
    assert len(client.search("margin")) == 2


def test_query_tokens_bounds_and_words():
    assert query_tokens('"price" AND (margin*') == ["price", "AND", "margin"]
    assert len(query_tokens("w " * 1_000)) == MAX_QUERY_TOKENS
    assert query_tokens(None) == []
    assert query_tokens("😀") == []


def test_document_body_flattens_json_text():
    body = document_body("d", "r", [{"action": "replace", "n": 2}, "cheaper"], {"a": "no"})
    assert body.split("\n") == ["d", "r", "action", "replace", "n", "2", "cheaper", "a", "no"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"price increase"', {"reasoning"}),
        ('"increase price"', set()),
        ("backorder OR window", {"alternative", "rejection"}),
        ('"return window" OR margin', {"rejection", "reasoning", "description"}),
        ("marg*", {"reasoning", "description"}),
        ("backord*", {"alternative"}),
        ("quart* report", {"description"}),
        ("OR margin", {"reasoning", "description"}),
        ("margin OR", {"reasoning", "description"}),
        ('"unbalanced phrase', set()),
    ],
)
def test_search_syntax_phrases_or_prefix(client, events, text, expected):
    """Issue 16 point 6: phrases, OR and prefixes mean the same on SQLite and PostgreSQL."""
    names = {v: k for k, v in events.items()}
    assert {names[e.id] for e in client.search(text)} == expected


def test_parse_query_reads_the_syntax_and_bounds_it():
    """Terms, phrases and OR groups; the word budget holds whatever is typed."""
    assert parse_query('refund "out of stock" OR damag*') == [
        [SearchTerm(("refund",)), SearchTerm(("out", "of", "stock"))],
        [SearchTerm(("damag",), prefix=True)],
    ]
    assert parse_query("OR OR") == []
    assert parse_query(None) == []
    assert sum(len(t.words) for g in parse_query('"w w" ' * 500) for t in g) == MAX_QUERY_TOKENS


def test_highlight_marks_the_match_and_escapes_the_rest():
    """The snippet shows where the words are, in <mark>; any markup in the text is escaped."""
    text = "<b>Competitor</b> price increase squeezed our margins this week"
    snippet = highlight(text, "margin")
    assert "<mark>margins</mark>" in snippet
    assert "&lt;b&gt;" in snippet
    assert highlight(text, "zebra") == ""
    assert "<mark>increase</mark>" in highlight(text, '"price increase"')


@pytest.mark.parametrize("text", ["kettle", '"copper kettle"', "kettle OR teapot", "kett*"])
@pytest.mark.parametrize("recent", [1, 2, 3, 100])
def test_probe_finds_every_match_whatever_the_recent_set(client, monkeypatch, text, recent):
    """On SQLite a probing page reads the most recent matches as one set and asks the
    index about older documents alone (words) or as a second set (prefixes): the
    same events, newest first, for any size of that set. An event recorded first
    but effective last (an import) is found through the older path."""
    monkeypatch.setattr(search, "PROBE_RECENT_MATCHES", recent)
    now = timezone.now()
    imported = client.trace("import", "copper kettle").at(now).record()
    for minutes in range(1, 5):
        client.trace("x", "copper kettle").at(now - timedelta(minutes=minutes)).record()
    client.trace("x", "copper pot").at(now - timedelta(seconds=30)).record()
    client.trace("x", "a teapot").at(now - timedelta(minutes=9)).record()
    probed = search_events(text, probe=True).order_by("-effective_at", "-id")
    listed = search_events(text).order_by("-effective_at", "-id")
    assert [e.pk for e in probed] == [e.pk for e in listed]
    assert str(probed[0].pk) == imported
    assert len(listed) == (6 if "teapot" in text else 5)


def _bm25_order(text: str, match_limit: int | None) -> list[uuid.UUID]:
    """SQLite's own bm25 order of the same matches (the SQL of any other query)."""
    sql, params = search._fts5_ranked_sql(search.parse_query(text), "", [], 50, match_limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [uuid.UUID(str(value)) for (value,) in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 ranking")
@pytest.mark.parametrize("match_limit", [None, 25, 1_000])
def test_one_phrase_ranks_as_bm25_ranks_it(client, match_limit):
    """Occurrences, document length and ties: the same order as FTS5's bm25, for one phrase."""
    filler = "order stock warehouse carrier supplier margin discount delay"
    texts = []
    for number in range(60):
        words = filler.split()[: 1 + number % 8]
        phrase = " ".join(["copper kettle"] * (1 + number % 4))
        noise = "copper pot, kettle lid" if number % 5 == 0 else ""
        texts.append(f"{phrase} {' '.join(words * (1 + number % 3))} {noise}")
    texts += ["kettle copper", "copper\x01kettle", "COPPER KETTLES", "copper kettle " * 40]
    client.record_many([client.trace("x", text) for text in texts])
    for text in ('"copper kettle"', '"copper kettle', '"kettle copper"', '"copper kettles"'):
        ranked = search_ranked_ids(text, limit=50, match_limit=match_limit)
        assert ranked, text
        assert ranked == _bm25_order(text, match_limit), text


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 ranking")
def test_one_phrase_ranking_restricted_and_hostile(client):
    """A restriction still applies; stored control characters count for nothing."""
    ai = client.trace("a", "copper kettle copper kettle").by_ai("ai", "AI").record()
    client.trace("b", "copper kettle copper kettle copper kettle").by_user("u", "U").record()
    hostile = client.trace("c", "copper kettle \x01\x1f\x7f <b>").by_ai("ai", "AI").record()
    restricted = EventRecord.objects.of_actor_types(["ai_agent"])
    assert search_ranked_ids('"copper kettle"', restricted) == [uuid.UUID(ai), uuid.UUID(hostile)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x24", (36, 1)),
        (b"\x81\x00", (128, 2)),
        (b"\xbd\x84\x40\x8f", (1_000_000, 3)),
        (b"\xff" * 8 + b"\x01", ((2**56 - 1) << 8 | 1, 9)),
        (b"\x80", (0, 1)),
        (b"", (0, 0)),
    ],
)
def test_varint_reads_sqlite_variable_length_integers(data, expected):
    assert search._varint(data) == expected


@pytest.mark.parametrize(
    "text",
    ["kettle", "copper kettle", '"copper kettle"', "kettle OR teapot", "kett*", "zebra", "zeb*"],
)
@pytest.mark.parametrize("cap", [2, 5, 100])
@pytest.mark.parametrize("with_review_trail", [True, False])
@pytest.mark.parametrize(("window", "sample"), [(200_000, 2_000), (3, 2_000), (200_000, 1)])
def test_search_best_is_the_count_and_the_ranking(
    client, monkeypatch, text, cap, with_review_trail, window, sample
):
    """One statement or two: what search_match_count and search_ranked_ids say together,
    whether the newest documents read first hold the cap or not."""
    monkeypatch.setattr(search, "SEARCH_RANK_WINDOW", window)
    monkeypatch.setattr(search, "PREFIX_SAMPLE_DOCUMENTS", sample)
    client.record_many(
        [client.trace("x", "copper kettle " * (n % 3 + 1) + "teapot" * (n % 2)) for n in range(8)]
    )
    client.trace("decision.approved", "copper kettle kettle").record()
    count = search.search_match_count(text, cap=cap, with_review_trail=with_review_trail)
    ranked = search_ranked_ids(
        text,
        limit=3,
        match_limit=cap - 1 if count >= cap else None,
        with_review_trail=with_review_trail,
    )
    best = search.search_best(text, limit=3, cap=cap, with_review_trail=with_review_trail)
    assert best == (count, ranked if count else [])


@pytest.mark.parametrize("text", HOSTILE)
def test_search_best_hostile_input_never_raises(client, events, text):
    count, ids = search.search_best(text, limit=5, cap=10)
    assert 0 <= count <= 10
    assert len(ids) <= 5


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1, 10**9, "5", None, 2.5, True])
def test_search_best_refuses_a_bad_limit(limit):
    with pytest.raises(TraceValidationError, match="limit must be"):
        search.search_best("kettle", limit=limit, cap=10)


@pytest.mark.parametrize("sample", [1, 1_000])
def test_search_best_of_a_prefix_leaves_the_planner_settings_as_they_were(
    client, monkeypatch, sample
):
    """A rarer prefix is read from the index's bitmap, under settings undone with their
    savepoint; a common one is counted as search_match_count counts it: the same answer."""
    monkeypatch.setattr(search, "PREFIX_SAMPLE_DOCUMENTS", sample)
    client.record_many([client.trace("x", f"kettle {n}") for n in range(3)])
    client.trace("y", "teapot").record()
    with transaction.atomic():
        assert search.search_best("kett*", limit=2, cap=10)[0] == 3
        assert search.search_best("kett*", limit=2, cap=2)[0] == 2
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan')"
                )
                assert cursor.fetchone() == ("on", "on")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's set of recent matches")
def test_probe_reads_where_its_set_starts_once_for_a_list_and_its_exists(client):
    """The Back-to-the-timeline page compiles a probing search twice (its rows, then
    whether older ones exist): where the set of recent matches starts is read once."""
    now = timezone.now()
    client.record_many(
        [client.trace("x", "copper kettle").at(now - timedelta(minutes=n)) for n in range(4)]
    )
    probed = search_events("kettle", probe=True).order_by("-effective_at", "-id")
    with CaptureQueriesContext(connection) as queries:
        rows = list(probed[:2])
        older = probed.filter(effective_at__lt=rows[-1].effective_at).exists()
    floors = [q for q in queries if "OFFSET" in q["sql"]]
    assert [row.effective_at for row in rows] == [now, now - timedelta(minutes=1)]
    assert older is True
    assert len(floors) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prefix sample")
def test_search_best_of_a_common_prefix_samples_the_newest_documents_once(client, monkeypatch):
    """The sample that sends a common prefix to the walk is not asked again by the count
    (the ranking then asks its own, of the rank window's newest documents)."""
    monkeypatch.setattr(search, "PREFIX_WALK_DOCUMENTS", 10)
    client.record_many([client.trace("x", f"kettle {n}") for n in range(6)])
    expected = (3, search_ranked_ids("kett*", limit=2, match_limit=2))
    with CaptureQueriesContext(connection) as queries:
        assert search.search_best("kett*", limit=2, cap=3) == expected
    walk = [
        q
        for q in queries
        if q["sql"].startswith("SELECT COUNT(*)") and "ORDER BY d.id DESC LIMIT 10)" in q["sql"]
    ]
    assert len(walk) == 2  # the sample, then the walk


@pytest.mark.parametrize("sample", [1, 2_000])
@pytest.mark.parametrize("window", [3, 8, 200_000])
@pytest.mark.parametrize("match_limit", [1, 2, 5])
def test_a_windowed_prefix_ranks_the_same_through_the_index_bitmap(
    client, monkeypatch, sample, window, match_limit
):
    """A prefix rarer in the rank window than the number ranked (here: the newest
    document sampled is no match) is read from the GIN bitmap on PostgreSQL: the same
    ids as the planner's own plan, settings restored."""
    monkeypatch.setattr(search, "SEARCH_RANK_WINDOW", window)
    monkeypatch.setattr(search, "PREFIX_SAMPLE_DOCUMENTS", sample)
    now = timezone.now()
    client.record_many(
        [
            client.trace("x", "kettle " * (n % 3 + 1)).at(now - timedelta(minutes=n))
            for n in range(6)
        ]
    )
    client.record_many([client.trace("y", f"teapot {n}") for n in range(4)])
    with CaptureQueriesContext(connection) as queries:
        through_bitmap = search_ranked_ids("kett*", limit=3, match_limit=match_limit)
    forced = any("enable_indexscan = off" in q["sql"] for q in queries)
    assert forced is (connection.vendor == "postgresql" and (sample == 1 or window == 3))
    monkeypatch.setattr(search, "_may_reach_cap_among_newest", lambda *a, **k: True)
    planned = search_ranked_ids("kett*", limit=3, match_limit=match_limit)
    assert through_bitmap == planned
    assert len(planned) == min(3, match_limit, max(window - 4, 0))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan')"
            )
            assert cursor.fetchone() == ("on", "on")
