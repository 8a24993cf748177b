"""Delete whole chains of old trace events in batches, optionally archiving them first."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from decision_trace.exceptions import TraceValidationError
from traces.retention import RuleRun, open_archive, parse_age, retention_policies, retention_run

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
                rules: list[tuple[str | None, timedelta]] = list(retention_policies().items())
                if not rules:
                    raise CommandError("TRACES_RETENTION is empty: nothing to apply.")
            else:
                rules = [(options["event_type"], parse_age(options["older_than"]))]
        except TraceValidationError as exc:
            raise CommandError(str(exc)) from exc
        archive = open_archive(options["archive"]) if options["archive"] else None
        try:
            runs = retention_run(
                rules,
                keep_reviewed=options["keep_reviewed"],
                batch_size=options["batch_size"],
                dry_run=options["dry_run"],
                archive=archive,
                using=database,
                progress=self._progress,
            )
        except TraceValidationError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if archive is not None:
                archive.close()
        verb = "Would delete" if options["dry_run"] else "Deleted"
        for run in runs:
            if run.events:
                sys.stderr.write("\n")
            scope = f" of type {run.pattern}" if run.pattern else ""
            self.stdout.write(
                f"{verb} {run.events:,} event(s) in {run.chains:,} chain(s){scope} older than "
                f"{run.cutoff:%Y-%m-%d %H:%M} UTC in {run.seconds:.1f} s"
                f" ({run.older - run.events:,} older event(s) kept: their chain is newer or "
                "reviewed)."
            )

    @staticmethod
    def _progress(run: RuleRun) -> None:
        done, total = run.events, run.older
        share = min(done / total, 1.0) if total else 1.0
        filled = int(share * _BAR_WIDTH)
        rate = done / max(run.seconds, 1e-9)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {done:,}/{total:,} events "
            f"({rate:,.0f}/s)"
        )
        sys.stderr.flush()
