"""``manage.py review_notify``: overdue notices (once per decision) and the daily digests."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from traces.notifications.services import digests_send, overdue_notify


class Command(BaseCommand):
    help = (
        "Email the deciding groups about overdue decisions, and the daily digests, now "
        "(the worker also runs both periodically)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        overdue = overdue_notify()
        digests = digests_send()
        self.stdout.write(f"{overdue} overdue decision(s) notified, {digests} digest(s) sent.")
