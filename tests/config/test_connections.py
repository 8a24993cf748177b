"""Database connections are kept across requests (``DB_CONN_MAX_AGE``) and replaced when dropped.

Each test runs the real WSGI application in a child process with production
settings (``DEBUG=0``): the request-started and request-finished signals that
close or keep a connection are the ones gunicorn's workers see.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

from tests.subprocess_report import ROOT, run_for_report

PRODUCTION_SECRET = "q8V#x2!pLr7@Zk4$Wm9^Tn3&Yb6*Hc1(Jd5)Fg0-Ks8_Ue2+Io7=Ap4"

_REQUESTS = """
import io, json, sys
import django
django.setup()
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.db.backends.signals import connection_created

opened = []
connection_created.connect(
    lambda sender, connection, **kwargs: opened.append(connection.alias), weak=False
)
app = WSGIHandler()


def get(path):
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }
    status = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    return int(status[0].split()[0]), json.loads(body)


answers = [get("/healthz") for _ in range(5)]
report = {"statuses": [s for s, _ in answers], "opened": len(opened)}
if connection.vendor == "postgresql" and "--drop" in sys.argv:
    # The server ends this worker's session, as a database restart would.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    other.close()
    report["after_drop"] = [get("/healthz")[0] for _ in range(3)]
    report["opened_after_drop"] = len(opened)
print(json.dumps(report))
"""


def _run(tmp_path, *args: str, **env: str) -> dict[str, object]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DB_CONN_MAX_AGE"}
    }
    return run_for_report(
        ["-c", _REQUESTS, *args],
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": PRODUCTION_SECRET,
            "SECURE_SSL_REDIRECT": "0",
            "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
            "PYTHONPATH": str(ROOT),
            **env,
        },
        timeout=60,
    )


def test_one_connection_serves_many_requests(tmp_path):
    """By default (60 s) five requests share one connection: no handshake or PRAGMAs each."""
    report = _run(tmp_path)
    assert report["statuses"] == [200] * 5
    assert report["opened"] == 1


def test_conn_max_age_zero_opens_one_connection_per_request(tmp_path):
    """DB_CONN_MAX_AGE=0 is Django's per-request connection, for a pooler that wants it."""
    report = _run(tmp_path, DB_CONN_MAX_AGE="0")
    assert report["statuses"] == [200] * 5
    assert report["opened"] == 5


@pytest.mark.parametrize("value", ["-1", "soon"])
def test_bad_conn_max_age_is_a_clear_error(tmp_path, value):
    """A negative or non-numeric DB_CONN_MAX_AGE is refused at start, naming the variable."""
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    script = "import django; django.setup()"
    with pytest.raises(AssertionError, match="DB_CONN_MAX_AGE"):
        run_for_report(
            ["-c", script],
            env={
                **base,
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DEBUG": "1",
                "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
                "DB_CONN_MAX_AGE": value,
            },
        )


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): a SQLite file has no server to drop it",
)
def test_a_dropped_connection_is_replaced_by_the_next_request(tmp_path):
    """CONN_HEALTH_CHECKS: after the server ends the session, the next request reconnects."""
    report = _run(tmp_path, "--drop")
    assert report["statuses"] == [200] * 5
    assert report["after_drop"] == [200] * 3
    # The first connection, the one that ended it, and the replacement.
    assert report["opened_after_drop"] == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)")
@pytest.mark.django_db
def test_postgres_sessions_run_without_jit_and_with_exact_bitmaps():
    """DB_POSTGRES_OPTIONS' default reaches every session: no JIT, work_mem 32 MB, no
    parallel workers."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone()[0] == "32MB"
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"


@pytest.mark.parametrize(
    ("url", "environ", "expected"),
    [
        (
            "postgres://u@h/db",
            {},
            "-c jit=off -c work_mem=32MB -c max_parallel_workers_per_gather=0",
        ),
        ("postgres://u@h/db", {"DB_POSTGRES_OPTIONS": "-c work_mem=64MB"}, "-c work_mem=64MB"),
        ("postgres://u@h/db", {"DB_POSTGRES_OPTIONS": "  "}, None),
        ("postgres://u@h/db?options=-c%20statement_timeout%3D5s", {}, "-c statement_timeout=5s"),
    ],
)
def test_postgres_session_options_from_the_environment(monkeypatch, url, environ, expected):
    from config import settings as project_settings

    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("DB_POSTGRES_OPTIONS", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    config = project_settings._database_from_env()
    assert config.get("OPTIONS", {}).get("options") == expected
