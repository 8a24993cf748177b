"""traces.rows: the client's fast rows are Django's values() rows; actors not rewritten at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from traces import DecisionTraceClient, ObjectType
from traces.mapping import EVENT_VALUES, OBJECT_VALUES
from traces.models import ActorRecord, EventRecord, TrackedObjectRecord
from traces.rows import fetch_values, fetch_values_in
from traces.services import ACTOR_SEEN_RESOLUTION

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 6, 1, 12, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def stored() -> list[str]:
    """Events with every kind of value: nested JSON, empty JSON, nulls, a chain, no actor."""
    client = DecisionTraceClient()
    root = (
        client.trace("order.created", "Root ünïcode \u2028 text")
        .by_ai("agent-1", "Pricing", model="m", version="2", team={"a": [1, None, "x"]})
        .affecting_object(
            ObjectType.ORDER, "ord-1", external_id="EXT-1", state_before={"s": None}, state_after={}
        )
        .affecting_object(ObjectType.PRODUCT, "prod-1", name="Shoe", sizes=[41, 42.5])
        .because(
            "Cheaper",
            alternatives=[{"action": "wait", "score": 0.5}],
            rejection_reasons={"wait": "slow"},
            context={"nested": {"deep": [True, False, None]}},
        )
        .with_risk("high")
        .requires_approval()
        .with_tags("vip", "manual")
        .with_source("shop", ip="10.0.0.1")
        .at(T0)
        .record()
    )
    child = (
        client.trace("order.updated")
        .by_system()
        .child_of(root)
        .failed("boom", details={"code": 7})
        .with_data(items=[], note="")
        .at(T0 + timedelta(seconds=1))
        .record()
    )
    bare = client.trace("system.tick").at(T0 - timedelta(days=1)).record()
    return [str(root), str(child), str(bare)]


@pytest.mark.parametrize(
    "shape",
    [
        lambda qs: qs.order_by("-effective_at", "-id"),
        lambda qs: qs.order_by("effective_at", "id")[:2],
        lambda qs: qs.filter(has_decision=True).order_by("depth", "effective_at", "id"),
        lambda qs: qs.filter(pk__in=[]).order_by("id"),
        lambda qs: qs.filter(actor__actor_type="ai_agent").order_by("-effective_at"),
    ],
    ids=["all newest first", "sliced", "filtered", "empty", "filter on a join"],
)
def test_fetch_values_gives_the_rows_values_gives(stored, shape):
    """Same dicts, same order, same Python types as QuerySet.values()."""
    queryset = shape(EventRecord.objects.all())
    expected = list(queryset.values(*EVENT_VALUES))
    assert fetch_values(queryset, EVENT_VALUES) == expected
    assert fetch_values(queryset.values(*EVENT_VALUES)) == expected
    for mine, theirs in zip(fetch_values(queryset, EVENT_VALUES), expected, strict=True):
        assert {k: type(v) for k, v in mine.items()} == {k: type(v) for k, v in theirs.items()}


def test_fetch_values_in_gives_the_rows_values_gives(stored):
    """The objects of some events by an IN list, and the chain by a subquery of its root."""
    ids = [row.pk for row in EventRecord.objects.all()]
    objects = TrackedObjectRecord.objects.filter(event_id__in=ids).order_by("event", "position")
    assert fetch_values_in(
        TrackedObjectRecord,
        OBJECT_VALUES,
        field="event",
        keys=ids,
        order_by=("event", "position"),
        using="default",
    ) == list(objects.values(*OBJECT_VALUES))
    quote = connection.ops.quote_name
    root_sql = f"SELECT {quote('root_id')} FROM {quote('traces_eventrecord')} WHERE 1 = %s"
    chain = EventRecord.objects.order_by("depth", "effective_at", "id")
    rows = fetch_values_in(
        EventRecord,
        EVENT_VALUES,
        field="root_id",
        keys=(root_sql, [1]),
        order_by=("depth", "effective_at", "id"),
        using="default",
        limit=2,
    )
    assert rows == list(chain.values(*EVENT_VALUES)[:2])
    assert (
        fetch_values_in(
            EventRecord, EVENT_VALUES, field="id", keys=[], order_by=("id",), using="default"
        )
        == []
    )


def _objects_of(keys, order=("event", "position"), limit=None):
    """``fetch_values_in`` of the tracked objects of the events ``keys``."""
    return fetch_values_in(
        TrackedObjectRecord,
        OBJECT_VALUES,
        field="event",
        keys=keys,
        order_by=order,
        using="default",
        limit=limit,
    )


def test_fetch_values_in_builds_each_shape_once_and_reuses_it(stored):
    """Another number of keys, order or limit is another statement; the same shape
    reuses its statement with the new keys."""
    ids = sorted(row.pk for row in EventRecord.objects.all())
    objects = TrackedObjectRecord.objects.order_by("event", "position")

    for keys in ([ids[0]], ids, [ids[-1]], [ids[0]], ids[:2], ids):
        assert _objects_of(keys) == list(objects.filter(event_id__in=keys).values(*OBJECT_VALUES))
    newest_first = objects.filter(event_id__in=ids).order_by("-event", "-position")
    assert _objects_of(ids, order=("-event", "-position"), limit=1) == list(
        newest_first.values(*OBJECT_VALUES)[:1]
    )
    assert _objects_of(ids, limit=1) == list(objects.values(*OBJECT_VALUES)[:1])
    from traces.rows import _select

    statements = _select(TrackedObjectRecord, tuple(OBJECT_VALUES), "default").statements
    order = ("event", "position")
    assert {
        ("event", order, 1, None),
        ("event", order, 2, None),
        ("event", order, len(ids), None),
        ("event", order, len(ids), 1),
        ("event", ("-event", "-position"), len(ids), 1),
    } <= statements.keys()
    built = dict(statements)
    for keys in ([ids[1]], ids[1:3], ids):
        assert _objects_of(keys) == list(objects.filter(event_id__in=keys).values(*OBJECT_VALUES))
    assert statements == built


def test_fetch_values_in_keeps_a_bounded_number_of_statements(stored, monkeypatch):
    """Every number of keys is a shape: past the limit the statements are dropped and built
    again, and every call still reads the right rows."""
    from traces import rows

    monkeypatch.setattr(rows, "_STATEMENTS_LIMIT", 3)
    ids = sorted(row.pk for row in EventRecord.objects.all())
    objects = TrackedObjectRecord.objects.order_by("event", "position")
    statements = rows._select(TrackedObjectRecord, tuple(OBJECT_VALUES), "default").statements
    # Other tests on this connection may have left shapes behind (any order).
    statements.clear()
    for size in range(1, 8):
        keys = (ids * size)[:size]
        assert _objects_of(keys) == list(objects.filter(event_id__in=keys).values(*OBJECT_VALUES))
        assert len(statements) <= 3


@pytest.mark.parametrize(
    "bad",
    [
        lambda qs: qs.annotate(n=EventRecord.objects.none().values("depth")[:1]),
        lambda qs: qs.order_by("actor__name"),
        lambda qs: qs.order_by("?"),
    ],
    ids=["annotation", "order across a join", "random order"],
)
def test_fetch_values_refuses_what_it_cannot_read_the_same(stored, bad):
    with pytest.raises(ValueError, match="fetch_values"):
        fetch_values(bad(EventRecord.objects.all()), ["id"])


def test_an_actor_seen_again_at_once_is_not_rewritten(stored):
    """Unchanged details within ACTOR_SEEN_RESOLUTION: the row stays; new details: it changes."""
    client = DecisionTraceClient()
    before = ActorRecord.objects.get(actor_id="agent-1")
    client.trace("x.y").by_ai(
        "agent-1", "Pricing", model="m", version="2", team={"a": [1, None, "x"]}
    ).record()
    again = ActorRecord.objects.get(actor_id="agent-1")
    assert again.last_seen_at == before.last_seen_at
    client.trace("x.y").by_ai("agent-1", "Pricing v3", model="m").record()
    changed = ActorRecord.objects.get(actor_id="agent-1")
    assert (changed.name, changed.version) == ("Pricing v3", "")
    assert changed.last_seen_at > before.last_seen_at
    assert changed.pk == before.pk
    ActorRecord.objects.filter(pk=changed.pk).update(
        last_seen_at=changed.last_seen_at - ACTOR_SEEN_RESOLUTION - timedelta(seconds=1)
    )
    client.trace("x.y").by_ai("agent-1", "Pricing v3", model="m").record()
    assert ActorRecord.objects.get(pk=changed.pk).last_seen_at > changed.last_seen_at


@pytest.mark.parametrize("stale", [1, 3, 1200])
def test_stale_unchanged_actors_get_only_their_last_seen_time(stale):
    """Many actors seen again after ACTOR_SEEN_RESOLUTION: one UPDATE of last_seen_at (SQLite:
    one per chunk of parameters), details untouched, and each event names its own actor."""
    client = DecisionTraceClient()
    client.record_many(
        [client.trace("x.y").by_user(f"u-{n}", f"User {n}", role="r").build() for n in range(stale)]
    )
    old = timezone.now() - ACTOR_SEEN_RESOLUTION - timedelta(seconds=5)
    ActorRecord.objects.filter(actor_id__startswith="u-").update(last_seen_at=old)
    before = {a.actor_id: a for a in ActorRecord.objects.filter(actor_id__startswith="u-")}
    ids = client.record_many(
        [client.trace("x.z").by_user(f"u-{n}", f"User {n}", role="r").build() for n in range(stale)]
    )
    after = {a.actor_id: a for a in ActorRecord.objects.filter(actor_id__startswith="u-")}
    assert set(after) == set(before)
    for actor_id, actor in after.items():
        assert actor.last_seen_at > old
        assert (actor.pk, actor.name, actor.role, actor.first_seen_at) == (
            before[actor_id].pk,
            before[actor_id].name,
            before[actor_id].role,
            before[actor_id].first_seen_at,
        )
    named = dict(
        EventRecord.objects.filter(pk__in=[str(i) for i in ids]).values_list(
            "pk", "actor__actor_id"
        )
    )
    assert sorted(named.values()) == sorted(before)
