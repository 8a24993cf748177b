"""Load the demo data into an empty database and print the demo logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ecommerce.demo_accounts import DEMO_ACCOUNTS, demo_accounts_ensure


class Command(BaseCommand):
    help = "Create the demo accounts (admin, reviewer, operator) and print their logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing but print the logins when demo data is already present.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        created = demo_accounts_ensure()
        for account in created:
            self.stdout.write(f"created demo account {account.username}")
        self.stdout.write(self.style.SUCCESS("Demo logins (http://127.0.0.1:8000/):"))
        for account in DEMO_ACCOUNTS:
            self.stdout.write(f"  {account.username:<9} / {account.password:<20} {account.role}")
