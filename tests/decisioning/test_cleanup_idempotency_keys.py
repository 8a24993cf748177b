"""The cleanup_idempotency_keys management command."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from decisioning.management.commands.cleanup_idempotency_keys import parse_duration_arg
from decisioning.models import IdempotencyKey, IdempotencyStatus

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("cleanup_idempotency_keys", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def keys():
    now = timezone.now()
    done = IdempotencyStatus.COMPLETED
    IdempotencyKey.objects.create(key="expired", status=done, completed_at=now, expires_at=now)
    IdempotencyKey.objects.create(key="old", status=done, completed_at=now - timedelta(days=8))
    IdempotencyKey.objects.create(key="stuck", started_at=now - timedelta(days=8))
    IdempotencyKey.objects.create(key="fresh", status=done, completed_at=now)


def _left() -> set[str]:
    return set(IdempotencyKey.objects.values_list("key", flat=True))


def test_command_deletes_expired_and_prints_counts(keys):
    """Without options only expired keys go, and the output says how many."""
    output = _run()
    assert output.splitlines() == ["expired: 1", "deleted: 1 idempotency key(s)"]
    assert _left() == {"old", "stuck", "fresh"}


def test_command_older_than(keys):
    """--older-than 7d also deletes finished and abandoned keys older than a week."""
    output = _run("--older-than", "7d")
    assert "finished before the cutoff: 1" in output
    assert "abandoned in flight: 1" in output
    assert output.endswith("deleted: 3 idempotency key(s)\n")
    assert _left() == {"fresh"}


def test_command_dry_run_deletes_nothing(keys):
    """--dry-run reports what it would delete and keeps every key."""
    output = _run("--dry-run", "--older-than", "12h")
    assert "would delete: 3 idempotency key(s)" in output
    assert _left() == {"expired", "old", "stuck", "fresh"}


def test_command_twice_is_harmless(keys):
    """Running again (as cron does) finds nothing more to delete."""
    _run("--older-than", "30m")
    assert _run("--older-than", "30m").endswith("deleted: 0 idempotency key(s)\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        (" 36500d ", timedelta(days=36500)),
    ],
)
def test_parse_duration_arg_accepts_units(text, expected):
    """Whole numbers with d, h, m or s are durations."""
    assert parse_duration_arg(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "7", "d", "0d", "-1d", "1.5h", "7 d", "7days", "1w", "36501d", "9" * 40 + "d", "7d; rm"],
)
def test_command_rejects_bad_older_than(keys, text):
    """A bad --older-than is a CommandError naming the format, and deletes nothing."""
    with pytest.raises(CommandError, match=re.escape("e.g. 7d, 12h, 30m")):
        _run(f"--older-than={text}")
    assert len(_left()) == 4
