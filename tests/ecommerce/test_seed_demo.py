"""manage.py seed_demo: options, refusal, --reset, --if-empty (make run), determinism, output."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError, OutputWrapper
from django.db import connection
from django.utils import timezone

from decisioning.models import Decision
from ecommerce.demo import DEMO_SOURCE
from ecommerce.demo_accounts import DEMO_ACCOUNTS
from ecommerce.exceptions import DemoStoreExistsError
from ecommerce.management.commands.seed_demo import _Progress
from ecommerce.services import DemoSummary, demo_store_seed
from traces import DecisionTraceClient
from traces.models import EventRecord, TrackedObjectRecord

ROOT = Path(__file__).resolve().parents[2]
NOW = "2025-03-01T12:00:00Z"
SMALL = ("--days", "3", "--scale", "0.05", "--now", NOW)


def _seed(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    # pytest-django runs with DEBUG off: the demo accounts need the explicit flag.
    call_command("seed_demo", "--demo-accounts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _snapshot() -> list[tuple]:
    """Everything about the stored demo events except when they were stored."""
    events = list(
        EventRecord.objects.filter(source_system=DEMO_SOURCE)
        .order_by("id")
        .values_list(
            "id",
            "effective_at",
            "event_type",
            "description",
            "actor__actor_id",
            "reasoning",
            "context",
            "alternatives",
            "confidence",
            "risk_level",
            "approval_status",
            "data",
            "parent_id",
            "correlation_id",
            "tags",
        )
    )
    objects = list(
        TrackedObjectRecord.objects.filter(event__source_system=DEMO_SOURCE)
        .order_by("event_id", "position")
        .values_list("event_id", "object_type", "object_id", "state_before", "state_after")
    )
    decisions = list(
        Decision.objects.order_by("target_id").values_list(
            "target_id", "outcome", "decided_by__username", "decided_at", "reason"
        )
    )
    return [events, objects, decisions]


@pytest.mark.django_db
def test_seed_demo_loads_and_prints_logins():
    """A run loads the store, reports what it stored and prints every login."""
    out, err = _seed(*SMALL)
    stored = EventRecord.objects.filter(source_system=DEMO_SOURCE).count()
    assert stored > 100
    assert f"Loaded {stored:,} events" in out
    assert "decisions:" in out
    for account in DEMO_ACCOUNTS:
        assert f"{account.username:<9} / {account.password}" in out
    assert "100 %" in err
    assert get_user_model().objects.filter(username="admin", is_superuser=True).exists()


@pytest.mark.django_db
def test_seed_demo_refuses_a_second_run():
    """The same data twice is refused with a clear error; nothing is added."""
    _seed(*SMALL)
    get_user_model().objects.filter(username="operator").delete()
    stored = EventRecord.objects.count()
    with pytest.raises(CommandError, match=r"already loaded .* --reset"):
        _seed(*SMALL)
    assert EventRecord.objects.count() == stored
    assert not get_user_model().objects.filter(username="operator").exists()


@pytest.mark.django_db
def test_seed_demo_if_empty_is_idempotent():
    """make run: the first start loads the store, the next ones only print the logins."""
    first, _ = _seed("--if-empty", *SMALL)
    stored = EventRecord.objects.count()
    second, _ = _seed("--if-empty", *SMALL)
    assert "Loaded" in first
    assert "demo store not loaded" in second
    assert EventRecord.objects.count() == stored
    for account in DEMO_ACCOUNTS:
        assert account.password in second


@pytest.mark.django_db
def test_seed_demo_if_empty_leaves_other_data_alone():
    """A database with any trace events is not empty: nothing is loaded next to them."""
    DecisionTraceClient().trace("note.added", "mine").record()
    out, _ = _seed("--if-empty", *SMALL)
    assert "demo store not loaded" in out
    assert EventRecord.objects.count() == 1


@pytest.mark.django_db
def test_seed_demo_reset_replaces_the_store():
    """--reset removes the earlier demo store and loads the new one; other events stay."""
    _seed(*SMALL)
    first = EventRecord.objects.count()  # the demo's events and their children
    mine = DecisionTraceClient().trace("note.added", "mine").record()
    out, _ = _seed("--reset", "--seed", "3", *SMALL)
    assert f"Removed the earlier demo store: {first:,} events." in out
    assert EventRecord.objects.filter(pk=mine).exists()
    assert EventRecord.objects.filter(source_system=DEMO_SOURCE).count() > 100


@pytest.mark.django_db
def test_seed_demo_same_seed_same_data():
    """Same seed and --now: identical events, ids, objects and review history."""
    _seed("--seed", "5", *SMALL)
    first = _snapshot()
    _seed("--reset", "--seed", "5", *SMALL)
    assert _snapshot() == first
    _seed("--reset", "--seed", "6", *SMALL)
    assert _snapshot() != first


@pytest.mark.django_db
def test_seed_demo_default_now_is_the_current_hour():
    """Without --now the history ends at the start of the current hour."""
    _seed("--days", "2", "--scale", "0.05")
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    latest = EventRecord.objects.order_by("-effective_at").values_list("effective_at", flat=True)[0]
    assert hour - timedelta(hours=6) < latest < hour


@pytest.mark.django_db
def test_seed_demo_quiet():
    """-v 0: no progress, no summary; the logins still."""
    out, err = _seed("-v", "0", *SMALL)
    assert err == ""
    assert "Loaded" not in out
    assert "admin-demo-pass" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--days", "0"), "days must be a whole number from 1"),
        (("--days", "366"), "days must be"),
        (("--days", "ten"), "argument --days: must be a whole number"),
        (("--days", ""), "argument --days"),
        (("--scale", "0"), "scale must be a number from"),
        (("--scale", "nan"), "scale must be"),
        (("--scale", "inf"), "scale must be"),
        (("--scale", "-1"), "scale must be"),
        (("--scale", "big"), "argument --scale"),
        (("--seed", "-3"), "seed must be a whole number from 0"),
        (("--seed", "1.5"), "argument --seed"),
        (("--seed", "9" * 5000), "argument --seed|seed must be"),
        (("--now", "yesterday"), "argument --now: must be an ISO 8601 time"),
        (("--now", "2999-01-01T00:00Z"), "not in the future"),
        (("--now", "2025-02-30"), "argument --now"),
        (("--now", "<script>"), "argument --now"),
        (("--days", "365", "--scale", "10"), "at most 1,000,000"),
        (("--reset", "--if-empty"), "contradict"),
    ],
)
def test_seed_demo_bad_options(args, message):
    """Every bad option is a CommandError saying what to pass; nothing is written."""
    with pytest.raises(CommandError, match=message):
        _seed(*args)
    assert not EventRecord.objects.exists()
    assert not get_user_model().objects.exists()


def test_seed_demo_bad_option_exit_status(tmp_path):
    """From the shell a bad option exits non-zero with the message on stderr."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--days", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "days must be a whole number from 1" in result.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_redraws_one_line():
    stream = _Terminal()
    progress = _Progress(OutputWrapper(stream), enabled=True, width=10)
    progress(0.5, 1_500)
    progress(1.0, 3_000)
    progress.close()
    assert stream.getvalue() == (
        "\r[#####.....]  50 %  1,500 events\r[##########] 100 %  3,000 events\n"
    )


def test_progress_elsewhere_prints_every_ten_percent():
    stream = io.StringIO()
    progress = _Progress(OutputWrapper(stream), enabled=True)
    for done in (0.05, 0.12, 0.15, 0.31, 1.0):
        progress(done, int(done * 1000))
    progress.close()
    assert stream.getvalue().splitlines() == [
        "  5 %  50 events",
        " 12 %  120 events",
        " 31 %  310 events",
        "100 %  1,000 events",
    ]


def test_progress_disabled_writes_nothing():
    stream = _Terminal()
    progress = _Progress(OutputWrapper(stream), enabled=False)
    progress(0.5, 10)
    progress.close()
    assert stream.getvalue() == ""


def test_now_option_takes_offsets_and_naive_as_utc():
    """--now accepts ISO 8601 with Z, an offset, or none (UTC)."""
    from ecommerce.management.commands.seed_demo import _now_option

    assert _now_option("2025-03-01T12:00:00Z") == datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert _now_option("2025-03-01T14:00:00+02:00") == datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert _now_option("2025-03-01T12:00") == datetime(2025, 3, 1, 12, tzinfo=UTC)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)")
@pytest.mark.django_db(transaction=True)
def test_two_seeds_at_once_load_one_store_postgres(review_groups):
    """Two loads started together (other seeds, so no id clashes): one loads, one is refused."""
    barrier = threading.Barrier(2)
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)

    def load(seed: int) -> object:
        try:
            barrier.wait()
            return demo_store_seed(seed=seed, days=2, scale=0.05, now=now)
        except DemoStoreExistsError as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(load, [1, 2]))

    loaded = [result for result in results if isinstance(result, DemoSummary)]
    refused = [result for result in results if isinstance(result, DemoStoreExistsError)]
    assert len(loaded) == 1
    assert len(refused) == 1
    assert "--reset" in str(refused[0])
    assert EventRecord.objects.filter(source_system=DEMO_SOURCE).count() == loaded[0].events


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)")
@pytest.mark.django_db(transaction=True)
def test_two_make_runs_at_once_both_start_postgres(review_groups):
    """`seed_demo --if-empty` twice at once: one loads, the other says so; both print the logins."""
    barrier = threading.Barrier(2)

    def run(seed: str) -> str:
        try:
            barrier.wait()
            return _seed("--if-empty", "--seed", seed, *SMALL)[0]
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        outputs = sorted(pool.map(run, ["1", "2"]), key=lambda out: "Loaded" not in out)

    assert "Loaded" in outputs[0]
    assert "demo store not loaded" in outputs[1]
    assert all("Demo logins" in out for out in outputs)
    events = int(re.search(r"Loaded ([\d,]+) events", outputs[0])[1].replace(",", ""))
    assert EventRecord.objects.filter(source_system=DEMO_SOURCE).count() == events
