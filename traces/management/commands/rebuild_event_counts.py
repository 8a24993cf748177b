"""Recompute the event counts (hourly and by type) from the events, or check them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from traces.counts import event_counts_differences, event_counts_rebuild

SHOWN_DIFFERENCES = 20


class Command(BaseCommand):
    help = (
        "Recompute the event counts the dashboard (hourly) and stats() (by event type, actor "
        "type, outcome and risk level) read, from the stored events, in one transaction. "
        "The recording services keep them exact; run this after events were written another "
        "way (bulk_create, raw SQL, a restored table). With --check, change nothing and fail "
        "if any count differs from the events."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Compare the counts with the events; exit with an error if any differs.",
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="The database alias to work on (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        if database not in connections:
            raise CommandError(
                f"Unknown database {database!r}; choose one of {', '.join(connections)}."
            )
        if not options["check"]:
            rows = event_counts_rebuild(using=database)
            self.stdout.write(
                f"Rebuilt the event counts: {rows.hourly} hourly row(s), "
                f"{rows.by_type} row(s) by type."
            )
            return
        differences = event_counts_differences(using=database)
        if not differences:
            self.stdout.write("The event counts match the events.")
            return
        for difference in differences[:SHOWN_DIFFERENCES]:
            self.stdout.write(
                f"{difference.describe()}: stored {difference.stored}, events {difference.actual}"
            )
        if len(differences) > SHOWN_DIFFERENCES:
            self.stdout.write(f"... and {len(differences) - SHOWN_DIFFERENCES} more.")
        raise CommandError(
            f"{len(differences)} event count(s) differ from the events; "
            "run 'manage.py rebuild_event_counts' to recompute them."
        )
