"""The search page's server time at scale (issue 16 point 6, issue 20 point 9), read only.

Requests each kind of query the search page offers (a rare word, a common
word, a word in (almost) every event, a phrase, ``a OR b``, a prefix, best
match) through Django's test client, as a reviewer and as a signed-in user
without ``view_decision``, over a database that is already filled
(``bench_ui.py`` or ``bench_scale.py load``). It writes no events: it only
adds its two users (``bench-search-reviewer``, ``bench-search-viewer``) and
the reviewers' group when missing; sessions are signed cookies.

    SQLITE_PATH=var/ui1m.sqlite3 python benchmarks/bench_search.py            # bench_ui's words
    DATABASE_URL=postgres://… python benchmarks/bench_search.py --shape scale  # bench_scale's

Each line: the median wall time, the median CPU time of this process (on
SQLite the whole request, database included; on PostgreSQL all but the
server's share), the median time spent in database calls, the number of
queries and the status. ``--queries`` prints each statement's time once.
"""

from __future__ import annotations

import argparse
import os

from django_start import ROOT, django_start, load_average_line, page_medians

django_start(
    settings="tests.settings",
    sqlite_path=os.environ.get("SQLITE_PATH") or ROOT / "var" / "bench_ui.sqlite3",
    environ={"ALLOWED_HOSTS": "testserver"},
)

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from decisioning.permissions import REVIEWERS  # noqa: E402
from decisioning.services import review_groups_ensure  # noqa: E402

# The words of each fill: bench_ui.py's texts ("<kind> event <n>" plus five reasons)
# and bench_scale.py's (ten of 32 words, "Too costly", "backorder" in about 1 %).
SHAPES = {
    "ui": {
        "a rare word": "zebra",
        "a word in 30% (user)": "user",
        "a word in every event (event)": "event",
        "a phrase": '"user event"',
        "a OR b": "user OR refund",
        "a prefix (us*)": "us*",
    },
    "scale": {
        "a rare word (backorder)": "backorder",
        "a common word (customer)": "customer",
        "a word in most events (costly)": "costly",
        "a phrase": '"customer price"',
        "a OR b": "customer OR refund",
        "a prefix, one word (cu*)": "cu*",
        "a prefix, several words (co*)": "co*",
        "a prefix in 1% (backo*)": "backo*",
        "a prefix in none (zeb*)": "zeb*",
    },
}


def _client(username: str, *, reviewer: bool) -> Client:
    user, _ = get_user_model().objects.get_or_create(username=username)
    if reviewer:
        user.groups.add(review_groups_ensure()[REVIEWERS])
    client = Client()
    client.force_login(user)
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="ui", help="whose words")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--match", default="", help="only the lines whose name holds this")
    parser.add_argument("--queries", action="store_true", help="print each statement's time")
    args = parser.parse_args()
    # No session rows: the login lives in the (signed) cookie.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    clients = {
        "reviewer": _client("bench-search-reviewer", reviewer=True),
        "no view_decision": _client("bench-search-viewer", reviewer=False),
    }
    lines = []
    for who, client in clients.items():
        for name, text in SHAPES[args.shape].items():
            query = f"q={text}"
            lines.append((f"{who}: {name}", client, f"/traces/?{query}"))
            lines.append((f"{who}: {name}, best match", client, f"/traces/?{query}&sort=best"))
    print(f"\n{connection.vendor}, median of {args.repeat}")
    print(f"{'page':<58} {'wall ms':>8} {'cpu ms':>7} {'sql ms':>7} {'queries':>7} {'status':>6}")
    load_before = os.getloadavg()
    for name, client, url in lines:
        if args.match and args.match not in name:
            continue
        wall, cpu, sql, queries, status = page_medians(client, url, args.repeat, show=args.queries)
        print(
            f"{name:<58} {wall:>8.1f} {cpu:>7.1f} {sql:>7.1f} {queries:>7} {status:>6}", flush=True
        )
    print(load_average_line(load_before))


if __name__ == "__main__":
    main()
