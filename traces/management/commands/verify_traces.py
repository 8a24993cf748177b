"""``manage.py verify_traces``: recompute the evidence log; exit 1 naming the first mismatch."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from traces.evidence.verification import evidence_verify


class Command(BaseCommand):
    help = (
        "Recompute every sealed row's content hash, the Merkle log and every checkpoint's root "
        "and signature; name the first row that does not match and exit non-zero."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default="default", help="Database alias.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = evidence_verify(using=options["database"])
        summary = (
            f"{report.entries} log entries ({report.pruned} pruned by retention), "
            f"{report.checkpoints} checkpoints, {report.unsealed_requests} commits not sealed yet"
        )
        if report.problem is not None:
            raise CommandError(f"Evidence does not verify: {report.problem} ({summary} checked)")
        self.stdout.write(f"Evidence verifies: {summary}.")
