"""Delete idempotency keys that no longer do any good; safe to run from cron."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from decisioning.idempotency import idempotency_keys_cleanup

DURATION_RE = re.compile(r"(?P<amount>[0-9]{1,9})(?P<unit>[dhms])")
MAX_DURATION = timedelta(days=36500)
UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
BAD_DURATION = (
    "expected a whole number and a unit d, h, m or s, more than 0 and at most 36500d "
    "(e.g. 7d, 12h, 30m); got {value!r}"
)


def parse_duration_arg(value: str) -> timedelta:
    """``7d`` / ``12h`` / ``30m`` / ``45s`` as a timedelta; anything else is an argparse error."""
    match = DURATION_RE.fullmatch(value.strip())
    if match is None:
        raise argparse.ArgumentTypeError(BAD_DURATION.format(value=value))
    duration = timedelta(**{UNITS[match["unit"]]: int(match["amount"])})
    if not timedelta(0) < duration <= MAX_DURATION:
        raise argparse.ArgumentTypeError(BAD_DURATION.format(value=value))
    return duration


class Command(BaseCommand):
    help = (
        "Delete completed or failed idempotency keys whose expires_at has passed. With "
        "--older-than, also delete completed or failed keys that finished that long ago and "
        "in-flight keys started that long ago (their caller is presumed dead). A deleted "
        "key's operation runs again on its next call."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=parse_duration_arg,
            default=None,
            metavar="DURATION",
            help="Also delete keys finished or started this long ago: 7d, 12h, 30m or 45s.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be deleted and delete nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        counts = idempotency_keys_cleanup(older_than=options["older_than"], dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"expired: {counts.expired}")
        if options["older_than"] is not None:
            self.stdout.write(f"finished before the cutoff: {counts.finished_before}")
            self.stdout.write(f"abandoned in flight: {counts.abandoned}")
        self.stdout.write(f"{verb}: {counts.total} idempotency key(s)")
