"""Read an ActivityWatch (aw-server) export into trace events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from decision_trace.exceptions import TraceValidationError
from traces.formats.activitywatch import activitywatch_import


class Command(BaseCommand):
    help = (
        "Import FILE, an ActivityWatch (aw-server) export: watcher buckets (window, afk, "
        "web, ...) become events by one actor per watcher and host; files written by "
        "export_activitywatch become the events they were. Events already stored are "
        "skipped, so importing a file twice adds nothing. The whole file is checked "
        "first; an invalid file writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The aw-server export (JSON) to read.")
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not show the progress bar."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            with path.open("rb") as source:
                document = json.load(source)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text: {exc.reason}.") from exc
        except (json.JSONDecodeError, RecursionError) as exc:
            raise CommandError(f"{path} is not JSON: {exc}.") from exc
        # The bar redraws its line with \r: no newline after each write.
        self.stderr.ending = ""
        with tqdm(
            desc="Importing",
            unit=" events",
            file=self.stderr,
            disable=options["no_progress"],
        ) as bar:

            def advance(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                result = activitywatch_import(document=document, progress=advance)
            except TraceValidationError as exc:
                raise CommandError(f"{path} was not imported (nothing written): {exc}") from exc
        self.stdout.write(
            f"{result.added} events added, {result.skipped} already stored "
            f"({result.read} read from {path})."
        )
