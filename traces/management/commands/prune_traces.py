"""Delete whole chains of old trace events in batches, optionally archiving them first."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from decision_trace.exceptions import TraceValidationError
from traces.models import EventRecord
from traces.retention import open_archive, parse_age, prune_chains, retention_policies

_BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Delete chains of trace events whose newest event is older than --older-than, in "
        "batches (one transaction each; hourly counts and search index kept exact). "
        "Decisions reviewed by people keep their chain unless --no-keep-reviewed. With "
        "--archive, each chain is first written to a .jsonl.gz file in the API's event shape."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        age = parser.add_mutually_exclusive_group(required=True)
        age.add_argument("--older-than", help="Age such as 400d, 12h or 8w.")
        age.add_argument(
            "--policies",
            action="store_true",
            help="Apply the TRACES_RETENTION setting (event type pattern -> age) instead.",
        )
        parser.add_argument(
            "--keep-reviewed",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="Keep chains with a decision reviewed by a person (default: yes).",
        )
        parser.add_argument("--event-type", help="Only chains whose root has this type (order.*).")
        parser.add_argument("--archive", help="Write what is deleted to this .jsonl.gz first.")
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Chains per transaction (default 500)."
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        if database not in connections:
            raise CommandError(f"Unknown database {database!r}.")
        try:
            if options["policies"]:
                rules = [(pattern, age) for pattern, age in retention_policies().items()]
                if not rules:
                    raise CommandError("TRACES_RETENTION is empty: nothing to apply.")
            else:
                rules = [(options["event_type"], parse_age(options["older_than"]))]
        except TraceValidationError as exc:
            raise CommandError(str(exc)) from exc
        archive = open_archive(options["archive"]) if options["archive"] else None
        try:
            for pattern, age in rules:
                self._prune(pattern, timezone.now() - age, archive, options)
        finally:
            if archive is not None:
                archive.close()

    def _prune(
        self, pattern: str | None, cutoff: datetime, archive: IO[str] | None, options: Any
    ) -> None:
        database = options["database"]
        dry_run = options["dry_run"]
        total = EventRecord.objects.using(database).filter(effective_at__lt=cutoff).count()
        began = time.monotonic()
        chains = events = 0
        try:
            for batch in prune_chains(
                cutoff,
                event_type=pattern,
                keep_reviewed=options["keep_reviewed"],
                batch_size=options["batch_size"],
                dry_run=dry_run,
                archive=archive,
                using=database,
            ):
                chains += batch.chains
                events += batch.events
                self._progress(events, total, began)
        except TraceValidationError as exc:
            raise CommandError(str(exc)) from exc
        if total:
            sys.stderr.write("\n")
        verb = "Would delete" if dry_run else "Deleted"
        scope = f" of type {pattern}" if pattern else ""
        self.stdout.write(
            f"{verb} {events:,} event(s) in {chains:,} chain(s){scope} older than "
            f"{cutoff:%Y-%m-%d %H:%M} UTC in {time.monotonic() - began:.1f} s"
            f" ({total - events:,} older event(s) kept: their chain is newer or reviewed)."
        )

    @staticmethod
    def _progress(done: int, total: int, began: float) -> None:
        share = min(done / total, 1.0) if total else 1.0
        filled = int(share * _BAR_WIDTH)
        rate = done / max(time.monotonic() - began, 1e-9)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {done:,}/{total:,} events "
            f"({rate:,.0f}/s)"
        )
        sys.stderr.flush()
