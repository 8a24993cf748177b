"""The /healthz endpoint, against a reachable and an unreachable database."""

from __future__ import annotations

import os

import pytest

from tests.subprocess_report import ROOT, run_for_report

pytestmark = pytest.mark.django_db


def test_healthz_ok_when_database_answers(client):
    """200 and status ok with the test database up."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_rejects_post(client):
    """Only GET is allowed."""
    assert client.post("/healthz").status_code == 405


def test_healthz_needs_no_login(client):
    """Load balancers probe it anonymously."""
    assert client.get("/healthz").status_code == 200


_PROBE = """
import django, json
django.setup()
from django.test import Client
response = Client().get("/healthz")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


@pytest.mark.parametrize(
    "database_url",
    [
        "postgres://nobody:wrong@127.0.0.1:1/nowhere",
        "sqlite:////nonexistent-directory/for-healthz/db.sqlite3",
    ],
    ids=["postgres-port-closed", "sqlite-path-missing"],
)
def test_healthz_503_when_database_unreachable(database_url):
    """A real app process whose database cannot be reached answers 503, not 500."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
        "ALLOWED_HOSTS": "testserver",
    }
    answer = run_for_report(["-c", _PROBE], env=env, timeout=60)
    assert answer["status"] == 503
    assert answer["body"]["status"] == "unavailable"
    assert "default" in answer["body"]["databases"]
