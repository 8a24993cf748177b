"""The review race, run in a fresh process against a SQLite *file*.

Like ``sqlite_race`` (see there why a file): builds the file (argv[1]), lets
eight threads act on one pending decision at once, and prints what happened
as JSON for ``test_services_review`` to check. argv[2] is the mode: "tokens"
(eight admins, each with their own form) or "same-token" (one form
submitted eight times).

Usage: ``python -m tests.decisioning.sqlite_review_race /tmp/x/db.sqlite3 tokens``
"""

from __future__ import annotations

import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

THREADS = 8


def main(path: str, mode: str) -> None:
    os.environ["SQLITE_PATH"] = path
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from decisioning.exceptions import DecisionAlreadyDecidedError
    from decisioning.models import Decision, DecisionTransition
    from decisioning.review import decision_transition, review_groups_ensure
    from tests.testapp.models import Order

    call_command("migrate", run_syncdb=True, verbosity=0)
    groups = review_groups_ensure()
    users = []
    for i in range(THREADS):
        user = get_user_model().objects.create_user(f"admin{i}")
        user.groups.add(groups["Senior admins"])
        users.append(user if mode == "tokens" else users[0] if users else user)
    decision = Decision.objects.create(target=Order.objects.create(number="R-1"), decision_type="t")
    barrier = threading.Barrier(THREADS)

    def worker(i: int) -> tuple[str, str | None]:
        try:
            barrier.wait()
            try:
                result = decision_transition(
                    decision=decision,
                    action=["approve", "reject", "defer", "escalate"][i % 4],
                    user=users[i],
                    reason="race",
                    request_token=f"form-{i}" if mode == "tokens" else "form",
                )
            except DecisionAlreadyDecidedError as exc:
                return "lost", exc.decided_by
            return ("replayed" if result.replayed else "won"), result.transition.by_username
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = [f.result() for f in [pool.submit(worker, i) for i in range(THREADS)]]
    print(
        json.dumps(
            {
                "kinds": [kind for kind, _ in outcomes],
                "winner": next(who for kind, who in outcomes if kind == "won"),
                "loser_deciders": [who for kind, who in outcomes if kind == "lost"],
                "transitions": DecisionTransition.objects.count(),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
