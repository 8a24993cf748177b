"""Django's ``flush``, inside the retention window so the append-only tables can be emptied.

``flush`` removes every row of every table (the test runner calls it after
each transactional test); on SQLite that is a ``DELETE`` per table and on
PostgreSQL a ``TRUNCATE``, which the append-only triggers refuse outside the
window (``decisioning.appendonly``).
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush

from decisioning.appendonly import retention_window


class Command(flush.Command):
    help = f"{flush.Command.help} Append-only tables included (in the retention window)."

    def handle(self, **options: Any) -> None:
        with retention_window(options["database"]):
            super().handle(**options)
