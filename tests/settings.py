"""Test settings: the project's settings plus a test-only app.

``DATABASE_URL`` picks the database exactly as in production; without it the
tests run on SQLite.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS, MIDDLEWARE, STORAGES

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
# The live server's threads share the in-memory SQLite connection: one write at a time.
MIDDLEWARE = ["tests.testapp.middleware.shared_sqlite_one_write_at_a_time", *MIDDLEWARE]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
WHITENOISE_AUTOREFRESH = True

# Tasks run at once, in the committing thread (tests/traces/evidence runs the real
# database-backend worker too); sealing is asked for after every commit.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
TRACES_EVIDENCE_SEAL_DELAY = 0
# A key for this test run only (tests/conftest.py creates it).
TRACES_EVIDENCE_SIGNING_KEY_FILE = (
    Path(tempfile.gettempdir()) / f"decision-trace-test-key-{os.getpid()}.pem"
)
