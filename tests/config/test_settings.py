"""Settings read from the environment: defaults, production checks, bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_SECRET = "q8V#x2!pLr7@Zk4$Wm9^Tn3&Yb6*Hc1(Jd5)Fg0-Ks8_Ue2+Io7=Ap4"


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
        and not k.startswith("SECURE_")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_clean_with_production_settings(tmp_path):
    """DEBUG=0 with a real secret passes `check --deploy --fail-level WARNING`."""
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=PRODUCTION_SECRET,
        ALLOWED_HOSTS="shop.example.com",
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        DATABASE_URL="",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_refused_outside_debug(tmp_path):
    """Without SECRET_KEY and with DEBUG off, the app refuses to start and says why."""
    result = _manage("check", DEBUG="0", SQLITE_PATH=str(tmp_path / "db.sqlite3"))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize("value", ["maybe", "2", "<script>"])
def test_unrecognised_boolean_is_a_clear_error(tmp_path, value):
    """DEBUG=maybe is an error naming the variable, not silently false."""
    result = _manage("check", DEBUG=value, SQLITE_PATH=str(tmp_path / "db.sqlite3"))
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


def test_bad_database_url_is_a_clear_error(tmp_path):
    """A DATABASE_URL with an unknown scheme is refused with its name in the message."""
    result = _manage("check", DEBUG="1", DATABASE_URL="nosuchdb://x/y")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_debug_run_uses_sqlite_file_in_var_by_default(tmp_path):
    """No DATABASE_URL: a SQLite file (here redirected by SQLITE_PATH) is created and used."""
    db = tmp_path / "sub" / "db.sqlite3"
    result = _manage("migrate", "--noinput", DEBUG="1", DATABASE_URL="", SQLITE_PATH=str(db))
    assert result.returncode == 0, result.stderr
    assert db.exists()


def test_time_zone_aware():
    """Datetimes are stored aware, in UTC."""
    assert settings.USE_TZ is True
    assert settings.TIME_ZONE == "UTC"


def test_htmx_and_whitenoise_installed():
    """django-htmx and whitenoise middleware are in the stack."""
    assert "django_htmx.middleware.HtmxMiddleware" in settings.MIDDLEWARE
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE


def test_sqlite_runs_in_wal_mode(tmp_path):
    """The default SQLite file database is opened in WAL mode."""
    db = tmp_path / "wal.sqlite3"
    script = (
        "import django; django.setup();"
        "from django.db import connection;"
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **env,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            "SQLITE_PATH": str(db),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "wal"
