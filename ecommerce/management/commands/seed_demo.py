"""Load the demo store and print the demo logins."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils import timezone

from ecommerce.demo import MAX_DAYS, MAX_SCALE, MAX_SEED, MIN_SCALE, demo_options_check
from ecommerce.demo_accounts import DEMO_ACCOUNTS, demo_accounts_ensure
from ecommerce.exceptions import DEMO_EXISTS, DemoStoreExistsError, DemoStoreOptionError
from ecommerce.selectors import demo_event_count, trace_events_exist
from ecommerce.services import demo_store_seed


def _days_option(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_DAYS}; got {text[:40]!r}"
        ) from None


def _scale_option(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number from {MIN_SCALE} to {MAX_SCALE}; got {text[:40]!r}"
        ) from None


def _seed_option(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 0 to {MAX_SEED}; got {text[:40]!r}"
        ) from None


def _now_option(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an ISO 8601 time such as 2025-03-01T12:00:00Z; got {text[:40]!r}"
        ) from None
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


class _Progress:
    """A progress bar on a terminal; on anything else a line every 10 %."""

    def __init__(self, stream: OutputWrapper, *, enabled: bool, width: int = 30) -> None:
        self._stream = stream
        self._enabled = enabled
        self._tty = enabled and stream.isatty()
        self._width = width
        self._shown = -1

    def __call__(self, done: float, events: int) -> None:
        if not self._enabled:
            return
        percent = min(100, int(done * 100))
        if self._tty:
            filled = self._width * percent // 100
            bar = "#" * filled + "." * (self._width - filled)
            self._stream.write(f"\r[{bar}] {percent:3d} %  {events:,} events", ending="")
            self._stream.flush()
        elif percent // 10 > self._shown // 10:
            self._stream.write(f"{percent:3d} %  {events:,} events")
        self._shown = percent

    def close(self) -> None:
        if self._tty and self._shown >= 0:
            self._stream.write("")


DEMO_ACCOUNTS_REFUSED = (
    "seed_demo creates accounts whose passwords are published (admin, reviewer, operator), "
    "and DEBUG is off: nothing was done. Run it with DEBUG=1 on your own machine (make run "
    "does), or pass --demo-accounts to create them anyway on a throw-away demo site."
)


class Command(BaseCommand):
    help = (
        "Load a realistic, deterministic demo store (orders, payments, shipments, returns, "
        "stock, AI decisions, reviews) and print the demo logins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=_days_option,
            default=30,
            help="Days of history, ending at --now (default 30).",
        )
        parser.add_argument(
            "--scale",
            type=_scale_option,
            default=1.0,
            help="Store size; 1.0 is about 75 orders and 1,150 events a day (default 1.0).",
        )
        parser.add_argument(
            "--seed",
            type=_seed_option,
            default=42,
            help="Random seed: the same seed gives the same store (default 42).",
        )
        parser.add_argument(
            "--now",
            type=_now_option,
            default=None,
            help="End of the history, ISO 8601 (default: the current hour, e.g. 14:00 at 14:37).",
        )
        parser.add_argument(
            "--reset", action="store_true", help="Remove a demo store loaded earlier first."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only into a database with no trace events; otherwise just print the logins.",
        )
        parser.add_argument(
            "--demo-accounts",
            action="store_true",
            help=(
                "Create the demo accounts (published passwords) even with DEBUG off; "
                "only for a throw-away demo site."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reset"] and options["if_empty"]:
            raise CommandError("--reset and --if-empty contradict each other; give one of them.")
        if not settings.DEBUG and not options["demo_accounts"]:
            raise CommandError(DEMO_ACCOUNTS_REFUSED)
        now = options["now"] or timezone.now().replace(minute=0, second=0, microsecond=0)
        try:
            demo_options_check(
                days=options["days"], scale=options["scale"], seed=options["seed"], now=now
            )
        except DemoStoreOptionError as exc:
            raise CommandError(str(exc)) from None
        verbose = options["verbosity"] > 0
        load = not (options["if_empty"] and trace_events_exist())
        existing = demo_event_count() if load else 0
        if existing and not options["reset"]:
            raise CommandError(DEMO_EXISTS.format(events=existing))
        for account in demo_accounts_ensure():
            self.stdout.write(f"created demo account {account.username}")
        loaded = load and self._load(options, now, verbose)
        if not loaded and verbose:
            self.stdout.write("The database already holds trace events; demo store not loaded.")
        self.stdout.write(self.style.SUCCESS("Demo logins (http://127.0.0.1:8000/):"))
        for account in DEMO_ACCOUNTS:
            self.stdout.write(f"  {account.username:<9} / {account.password:<20} {account.role}")

    def _load(self, options: dict[str, Any], now: datetime, verbose: bool) -> bool:
        """Load the store; False when, with --if-empty, another load got there first."""
        if verbose:
            self.stdout.write(
                f"Loading the demo store: {options['days']} days up to "
                f"{now:%Y-%m-%d %H:%M %Z}, scale {options['scale']}, seed {options['seed']}"
            )
        progress = _Progress(self.stderr, enabled=verbose)
        started = time.monotonic()
        try:
            summary = demo_store_seed(
                seed=options["seed"],
                days=options["days"],
                scale=options["scale"],
                now=now,
                reset=options["reset"],
                progress=progress,
            )
        except DemoStoreExistsError as exc:
            if options["if_empty"]:
                return False
            raise CommandError(str(exc)) from None
        finally:
            progress.close()
        if not verbose:
            return True
        if summary.removed:
            self.stdout.write(f"Removed the earlier demo store: {summary.removed:,} events.")
        decisions = ", ".join(f"{n:,} {name}" for name, n in summary.decisions.items())
        self.stdout.write(
            f"Loaded {summary.events:,} events ({summary.orders:,} orders) in "
            f"{time.monotonic() - started:.1f} s; decisions: {decisions}."
        )
        return True
