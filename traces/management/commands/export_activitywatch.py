"""Write trace events to a file in aw-server's export shape."""

from __future__ import annotations

import os
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from decision_trace.exceptions import TraceValidationError
from traces.formats.activitywatch import activitywatch_export
from traces.selectors import event_filter


def _when(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"Not an ISO 8601 date-time: {value!r} (e.g. 2026-01-31T00:00Z)."
        ) from None


class Command(BaseCommand):
    help = (
        "Write trace events to FILE as an ActivityWatch (aw-server) export: one bucket per "
        "source system and actor type. The filters combine with AND; a repeated filter "
        "matches any of its values. FILE '-' writes to standard output."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The file to write ('-' for standard output).")
        parser.add_argument("--since", type=_when, help="Events at or after this time (ISO).")
        parser.add_argument("--until", type=_when, help="Events before this time (ISO).")
        parser.add_argument("--actor-type", action="append", help="user, ai_agent, compute, ...")
        parser.add_argument("--actor", action="append", help="An actor id.")
        parser.add_argument("--event-type", action="append", help="A type, or a prefix: order.*")
        parser.add_argument("--outcome", action="append", help="success, failure, pending, ...")
        parser.add_argument("--tag", action="append", help="A tag.")
        parser.add_argument("--object-id", action="append", help="An object's id or external id.")
        parser.add_argument("--correlation-id", help="The events of one correlation id.")
        parser.add_argument(
            "--hostname",
            default=socket.gethostname(),
            help="The buckets' hostname (default: this machine's, %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            events = event_filter(
                start=options["since"],
                end=options["until"],
                actor_types=options["actor_type"],
                actor_ids=options["actor"],
                event_types=options["event_type"],
                outcomes=options["outcome"],
                tags=options["tag"],
                object_ids=options["object_id"],
                correlation_id=options["correlation_id"],
            )
        except TraceValidationError as exc:
            raise CommandError(str(exc)) from exc
        target = options["file"]
        if target == "-":
            written = activitywatch_export(
                events=events, out=sys.stdout, hostname=options["hostname"]
            )
        else:
            path = Path(target)
            # Written beside the target and renamed: a failure leaves no half file.
            partial = path.with_name(f".{path.name}.part")
            try:
                with partial.open("w", encoding="utf-8") as out:
                    written = activitywatch_export(
                        events=events, out=out, hostname=options["hostname"]
                    )
                os.replace(partial, path)
            except OSError as exc:
                raise CommandError(f"Cannot write {target}: {exc.strerror or exc}.") from exc
            finally:
                partial.unlink(missing_ok=True)
        total = sum(written.values())
        self.stderr.write(f"{total} events in {len(written)} buckets written to {target}.")
