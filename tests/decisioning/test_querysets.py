"""EventAsOfQuerySet and EffectiveDatedQuerySet: spec tests, bad input, and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisioning.exceptions import (
    NAIVE_DATETIME,
    RANGE_END_NOT_AFTER_START,
    InvalidTimeError,
)
from decisioning.models import IdempotencyKey, IdempotencyStatus
from tests.testapp.models import PaymentEvent, PriceOverride

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _ids(queryset) -> set:
    return set(queryset.values_list("pk", flat=True))


class TestEventAsOfQuerySet:
    def test_as_of_returns_effective_before(self):
        """as_of(t) returns events effective at or before t."""
        now = timezone.now()
        past = PaymentEvent.objects.create(effective_at=now - DAY)
        exact = PaymentEvent.objects.create(effective_at=now)
        assert _ids(PaymentEvent.objects.as_of(now)) == {past.pk, exact.pk}

    def test_as_of_excludes_future(self):
        """Events effective after t are left out."""
        now = timezone.now()
        PaymentEvent.objects.create(effective_at=now + HOUR)
        past = PaymentEvent.objects.create(effective_at=now - HOUR)
        assert list(PaymentEvent.objects.as_of(now)) == [past]

    def test_recorded_before_filters(self):
        """recorded_before(t) returns events the system learned of at or before t."""
        first = PaymentEvent.objects.create()
        first.refresh_from_db()
        cut = timezone.now()
        PaymentEvent.objects.create()
        assert list(PaymentEvent.objects.recorded_before(cut)) == [first]
        assert list(PaymentEvent.objects.recorded_before(first.recorded_at)) == [first]

    def test_recorded_after_filters(self):
        """recorded_after(t) returns events recorded strictly after t."""
        first = PaymentEvent.objects.create()
        first.refresh_from_db()
        cut = timezone.now()
        second = PaymentEvent.objects.create()
        assert list(PaymentEvent.objects.recorded_after(cut)) == [second]
        assert first not in PaymentEvent.objects.recorded_after(first.recorded_at)

    def test_effective_between_range(self):
        """effective_between(start, end) is the half-open range [start, end)."""
        start = timezone.now()
        end = start + DAY
        at_start = PaymentEvent.objects.create(effective_at=start)
        inside = PaymentEvent.objects.create(effective_at=start + HOUR)
        PaymentEvent.objects.create(effective_at=end)
        PaymentEvent.objects.create(effective_at=start - HOUR)
        assert _ids(PaymentEvent.objects.effective_between(start, end)) == {at_start.pk, inside.pk}

    def test_as_of_empty_when_none_exist(self):
        """With no events, as_of returns an empty QuerySet."""
        assert not PaymentEvent.objects.as_of(timezone.now()).exists()
        PaymentEvent.objects.create(effective_at=timezone.now() + DAY)
        assert PaymentEvent.objects.as_of(timezone.now()).count() == 0

    def test_as_of_multiple_records(self):
        """Every matching event is returned."""
        now = timezone.now()
        events = [PaymentEvent.objects.create(effective_at=now - i * HOUR) for i in range(5)]
        assert _ids(PaymentEvent.objects.as_of(now)) == {e.pk for e in events}

    def test_chained_queries(self):
        """Verbs chain with each other and with filter()."""
        now = timezone.now()
        hit = PaymentEvent.objects.create(effective_at=now - HOUR, amount=5)
        PaymentEvent.objects.create(effective_at=now - HOUR, amount=1)
        PaymentEvent.objects.create(effective_at=now - 3 * DAY, amount=5)
        result = (
            PaymentEvent.objects.as_of(now)
            .effective_between(now - DAY, now)
            .filter(amount=5)
            .recorded_before(timezone.now())
        )
        assert list(result) == [hit]


class TestEffectiveDatedQuerySet:
    def test_current_returns_active(self):
        """current() returns records valid now."""
        now = timezone.now()
        active = PriceOverride.objects.create(valid_from=now - DAY, valid_to=now + DAY)
        assert list(PriceOverride.objects.current()) == [active]

    def test_current_excludes_expired(self):
        """Records whose valid_to has passed are not current."""
        now = timezone.now()
        PriceOverride.objects.create(valid_from=now - 2 * DAY, valid_to=now - DAY)
        assert not PriceOverride.objects.current().exists()

    def test_current_excludes_future(self):
        """Records not valid yet are not current."""
        PriceOverride.objects.create(valid_from=timezone.now() + DAY)
        assert not PriceOverride.objects.current().exists()

    def test_as_of_historical(self):
        """as_of(t) answers for a past moment."""
        now = timezone.now()
        old = PriceOverride.objects.create(valid_from=now - 10 * DAY, valid_to=now - 5 * DAY)
        new = PriceOverride.objects.create(valid_from=now - 5 * DAY)
        assert list(PriceOverride.objects.as_of(now - 7 * DAY)) == [old]
        assert list(PriceOverride.objects.as_of(now - 5 * DAY)) == [new]

    def test_expired_returns_only_expired(self):
        """expired() returns only records whose valid_to has passed."""
        now = timezone.now()
        gone = PriceOverride.objects.create(valid_from=now - 2 * DAY, valid_to=now - DAY)
        PriceOverride.objects.create(valid_from=now - DAY)
        PriceOverride.objects.create(valid_from=now - DAY, valid_to=now + DAY)
        PriceOverride.objects.create(valid_from=now + DAY)
        assert list(PriceOverride.objects.expired()) == [gone]

    def test_future_returns_only_future(self):
        """future() returns only records not valid yet."""
        now = timezone.now()
        ahead = PriceOverride.objects.create(valid_from=now + DAY)
        PriceOverride.objects.create(valid_from=now - DAY)
        PriceOverride.objects.create(valid_from=now - 2 * DAY, valid_to=now - DAY)
        assert list(PriceOverride.objects.future()) == [ahead]

    def test_overlapping_finds_intersecting(self):
        """overlapping(start, end) finds every period that intersects [start, end)."""
        start = timezone.now()
        end = start + DAY
        straddles = PriceOverride.objects.create(valid_from=start - DAY, valid_to=start + HOUR)
        inside = PriceOverride.objects.create(valid_from=start + HOUR, valid_to=end - HOUR)
        open_ended = PriceOverride.objects.create(valid_from=start - DAY)
        covers = PriceOverride.objects.create(valid_from=start - DAY, valid_to=end + DAY)
        expected = {straddles.pk, inside.pk, open_ended.pk, covers.pk}
        assert _ids(PriceOverride.objects.overlapping(start, end)) == expected

    def test_overlapping_excludes_non_intersecting(self):
        """Periods that end at start or begin at end do not overlap."""
        start = timezone.now()
        end = start + DAY
        PriceOverride.objects.create(valid_from=start - DAY, valid_to=start)
        PriceOverride.objects.create(valid_from=end)
        PriceOverride.objects.create(valid_from=end + DAY, valid_to=end + 2 * DAY)
        assert not PriceOverride.objects.overlapping(start, end).exists()

    def test_current_with_indefinite(self):
        """A record with no valid_to stays current."""
        forever = PriceOverride.objects.create(valid_from=timezone.now() - 1000 * DAY)
        assert list(PriceOverride.objects.current()) == [forever]

    def test_chained_queries(self):
        """Verbs chain with each other and with filter()."""
        now = timezone.now()
        hit = PriceOverride.objects.create(valid_from=now - DAY, price=3)
        PriceOverride.objects.create(valid_from=now - DAY, price=4)
        later = PriceOverride.objects.create(valid_from=now + DAY, price=3)
        result = PriceOverride.objects.current().overlapping(now - HOUR, now).filter(price=3)
        assert list(result) == [hit]
        ahead = PriceOverride.objects.filter(price=3).future().as_of(now + 2 * DAY)
        assert list(ahead) == [later]
        assert list(ahead.expired()) == []

    # additions

    def test_now_argument_fixes_the_clock(self):
        """current/expired/future accept now= and answer for that moment."""
        t = datetime(2030, 1, 1, tzinfo=UTC)
        row = PriceOverride.objects.create(valid_from=t, valid_to=t + DAY)
        assert list(PriceOverride.objects.current(now=t)) == [row]
        assert list(PriceOverride.objects.future(now=t - HOUR)) == [row]
        assert list(PriceOverride.objects.expired(now=t + DAY)) == [row]
        assert not PriceOverride.objects.expired(now=t + DAY - timedelta(microseconds=1)).exists()


BAD_TIMES = [
    pytest.param(datetime(2030, 1, 1), id="naive"),  # noqa: DTZ001 - refused
    pytest.param(date(2030, 1, 1), id="date"),
    pytest.param("2030-01-01T00:00:00Z", id="string"),
    pytest.param(1_900_000_000, id="epoch-int"),
    pytest.param("'; DROP TABLE testapp_priceoverride; --", id="hostile"),
]
POINT_AND_RANGE_VERBS = {
    "as_of": lambda bad: PaymentEvent.objects.as_of(bad),
    "recorded_before": lambda bad: PaymentEvent.objects.recorded_before(bad),
    "recorded_after": lambda bad: PaymentEvent.objects.recorded_after(bad),
    "effective_between": lambda bad: PaymentEvent.objects.effective_between(bad, timezone.now()),
    "dated_as_of": lambda bad: PriceOverride.objects.as_of(bad),
    "overlapping": lambda bad: PriceOverride.objects.overlapping(timezone.now(), bad),
}


@pytest.mark.parametrize("bad", [*BAD_TIMES, pytest.param(None, id="none")])
@pytest.mark.parametrize("verb", POINT_AND_RANGE_VERBS)
def test_temporal_verbs_reject_bad_time(verb, bad):
    """Anything but an aware datetime raises InvalidTimeError (a ValueError)."""
    with pytest.raises(InvalidTimeError) as info:
        POINT_AND_RANGE_VERBS[verb](bad)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", BAD_TIMES)
@pytest.mark.parametrize("verb", ["current", "expired", "future"])
def test_now_verbs_reject_bad_now(verb, bad):
    """now= must be an aware datetime too (None means the real now)."""
    with pytest.raises(InvalidTimeError):
        getattr(PriceOverride.objects, verb)(now=bad)


def test_naive_datetime_message_names_the_fix():
    """The naive-datetime error says which argument and what to use."""
    with pytest.raises(InvalidTimeError, match="timezone-aware") as info:
        PriceOverride.objects.as_of(datetime(2030, 1, 1))  # noqa: DTZ001 - refused
    assert str(info.value) == NAIVE_DATETIME.format(name="timestamp")


@pytest.mark.parametrize("length", [timedelta(0), -HOUR], ids=["empty", "inverted"])
@pytest.mark.parametrize(
    "verb",
    [PaymentEvent.objects.effective_between, PriceOverride.objects.overlapping],
    ids=["effective_between", "overlapping"],
)
def test_range_verbs_reject_empty_or_inverted_range(verb, length):
    """end must be later than start."""
    start = timezone.now()
    with pytest.raises(InvalidTimeError) as info:
        verb(start, start + length)
    assert str(info.value) == RANGE_END_NOT_AFTER_START


def test_idempotency_key_queryset_groups():
    """expired / finished_before / in_flight_since select the cleanup groups."""
    now = timezone.now()
    done = IdempotencyStatus.COMPLETED
    expired = IdempotencyKey.objects.create(key="e", status=done, expires_at=now, completed_at=now)
    IdempotencyKey.objects.create(key="f", status=IdempotencyStatus.IN_FLIGHT, expires_at=now)
    old = IdempotencyKey.objects.create(key="o", status=done, completed_at=now - DAY)
    stuck = IdempotencyKey.objects.create(key="s", started_at=now - DAY)
    assert list(IdempotencyKey.objects.expired(now=now)) == [expired]
    assert list(IdempotencyKey.objects.finished_before(now - HOUR)) == [old]
    assert list(IdempotencyKey.objects.in_flight_since(now - HOUR)) == [stuck]


# Properties: each verb against a brute-force Python oracle, on a small grid of
# hours so boundaries (equal instants) and open-ended periods come up often.

T0 = datetime(2030, 1, 1, tzinfo=UTC)
GRID = st.integers(min_value=0, max_value=12)
PERIODS = st.lists(
    st.tuples(GRID, st.none() | st.integers(min_value=1, max_value=6)).map(
        lambda p: (p[0], None if p[1] is None else p[0] + p[1])
    ),
    max_size=8,
)
RANGES = st.tuples(GRID, st.integers(min_value=1, max_value=6)).map(lambda r: (r[0], r[0] + r[1]))
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _at(hour: int) -> datetime:
    return T0 + hour * HOUR


def _store(periods: list[tuple[int, int | None]]) -> dict:
    """Replace the table's rows with these periods; map pk -> (from, to) in hours."""
    PriceOverride.objects.all().delete()
    rows = PriceOverride.objects.bulk_create(
        PriceOverride(valid_from=_at(start), valid_to=None if end is None else _at(end))
        for start, end in periods
    )
    return {row.pk: period for row, period in zip(rows, periods, strict=True)}


def _valid_at(period: tuple[int, int | None], t: int) -> bool:
    start, end = period
    return start <= t and (end is None or t < end)


@PROPERTY_SETTINGS
@given(periods=PERIODS, t=GRID)
def test_property_as_of_matches_oracle(db, periods, t):
    """as_of(t) is exactly the periods with from <= t < to (to None = open)."""
    stored = _store(periods)
    expected = {pk for pk, period in stored.items() if _valid_at(period, t)}
    assert _ids(PriceOverride.objects.as_of(_at(t))) == expected


@PROPERTY_SETTINGS
@given(periods=PERIODS, now=GRID)
def test_property_current_matches_oracle(db, periods, now):
    """current(now=t) equals as_of(t) and the is_active property."""
    stored = _store(periods)
    expected = {pk for pk, period in stored.items() if _valid_at(period, now)}
    assert _ids(PriceOverride.objects.current(now=_at(now))) == expected


@PROPERTY_SETTINGS
@given(periods=PERIODS, now=GRID)
def test_property_expired_matches_oracle(db, periods, now):
    """expired(now=t) is exactly the periods with a to <= t."""
    stored = _store(periods)
    expected = {pk for pk, (_, end) in stored.items() if end is not None and end <= now}
    assert _ids(PriceOverride.objects.expired(now=_at(now))) == expected


@PROPERTY_SETTINGS
@given(periods=PERIODS, now=GRID)
def test_property_future_matches_oracle(db, periods, now):
    """future(now=t) is exactly the periods with from > t; with current and expired it
    partitions every row."""
    stored = _store(periods)
    expected = {pk for pk, (start, _) in stored.items() if start > now}
    future = _ids(PriceOverride.objects.future(now=_at(now)))
    assert future == expected
    current = _ids(PriceOverride.objects.current(now=_at(now)))
    expired = _ids(PriceOverride.objects.expired(now=_at(now)))
    assert future | current | expired == set(stored)
    assert not future & current
    assert not future & expired
    assert not current & expired


@PROPERTY_SETTINGS
@given(periods=PERIODS, window=RANGES)
def test_property_overlapping_matches_oracle(db, periods, window):
    """overlapping(s, e) is exactly the periods sharing an instant with [s, e)."""
    stored = _store(periods)
    start, end = window
    expected = {
        pk for pk, period in stored.items() if any(_valid_at(period, t) for t in range(start, end))
    }
    assert _ids(PriceOverride.objects.overlapping(_at(start), _at(end))) == expected


@PROPERTY_SETTINGS
@given(instants=st.lists(GRID, max_size=8), window=RANGES)
def test_property_effective_between_matches_oracle(db, instants, window):
    """effective_between(s, e) is exactly the events with s <= effective_at < e."""
    PaymentEvent.objects.all().delete()
    rows = PaymentEvent.objects.bulk_create(PaymentEvent(effective_at=_at(i)) for i in instants)
    start, end = window
    expected = {row.pk for row, i in zip(rows, instants, strict=True) if start <= i < end}
    assert _ids(PaymentEvent.objects.effective_between(_at(start), _at(end))) == expected
