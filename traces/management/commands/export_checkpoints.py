"""``manage.py export_checkpoints``: write the signed checkpoints out, as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from decision_trace.evidence import key_id
from traces.evidence.keys import public_key_bytes
from traces.evidence.verification import checkpoints_export


class Command(BaseCommand):
    help = (
        "Write the signed checkpoints (one JSON object a line, oldest first) to a file or "
        "stdout, so a copy lives outside the database; with --append, only those newer than "
        "the file's last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", help="File to write (default: stdout).")
        parser.add_argument(
            "--append", action="store_true", help="Add only newer checkpoints to --output."
        )
        parser.add_argument("--database", default="default", help="Database alias.")

    def handle(self, *args: Any, **options: Any) -> None:
        output = options.get("output")
        after = 0
        if options["append"] and output and Path(output).exists():
            lines = Path(output).read_text(encoding="utf-8").splitlines()
            if lines:
                after = int(json.loads(lines[-1])["size"])
        public = public_key_bytes()
        rows = [
            json.dumps({**checkpoint, "public_key": public.hex()}, sort_keys=True)
            for checkpoint in checkpoints_export(using=options["database"], after_size=after)
        ]
        text = "".join(f"{row}\n" for row in rows)
        if output:
            mode = "a" if options["append"] else "w"
            with Path(output).open(mode, encoding="utf-8") as handle:
                handle.write(text)
            self.stderr.write(f"Wrote {len(rows)} checkpoints (key {key_id(public)}) to {output}")
        else:
            self.stdout.write(text, ending="")
