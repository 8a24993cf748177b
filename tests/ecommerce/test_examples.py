"""examples/*.py run from the project root against a freshly migrated SQLite database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env(database: Path) -> dict[str, str]:
    env = {**os.environ, "SQLITE_PATH": str(database)}
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY"):
        env.pop(name, None)
    return env


def _run(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=_env(database),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("examples") / "db.sqlite3"
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**_env(path), "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return path


def test_basic_usage_runs(database):
    """The core concepts script records and prints what it reads back."""
    result = _run("examples/basic_usage.py", database=database)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for heading in ("== Actors", "== Recording", "== Search: 'manufacturer defect'", "== Chain"):
        assert heading in out
    assert "order.refunded: Refund issued for ord-" in out
    assert "price.updated: Price of SKU-" in out
    assert "    workflow.step: Payment captured" in out
    assert "{'quantity': 100} -> {'quantity': 101}" in out


def test_ecommerce_demo_runs(database):
    """The ecommerce scenario prints the quick start's order and one order's whole story."""
    result = _run("examples/ecommerce_demo.py", database=database)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "order.created: Order ord-12345 placed: 2 item(s), 149.99 USD\n" in out
    assert "  Reason: Customer completed checkout after 3 items in cart\n" in out
    assert "Recorded 18 events for ord-" in out
    assert "order.partially_refunded" in out
    assert "{'quantity': 5} -> {'quantity': 3}" in out
    assert "Waiting for a person's approval:" in out
    assert "adjust_price" in out
    assert "inventory_restock" in out


def test_examples_need_a_migrated_database(tmp_path):
    """On a database without tables the scripts say what to do instead of a traceback."""
    result = _run("examples/basic_usage.py", database=tmp_path / "empty.sqlite3")
    assert result.returncode == 1
    assert "run `python manage.py migrate` first" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("verdict", "applied"), [("approve", True), ("reject", False)])
def test_approval_gate_runs_in_process(database, verdict, applied):
    """The agent waits for the simulated reviewer and applies the change only when approved."""
    result = _run("examples/approval_gate.py", "--simulate", verdict, database=database)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Decision: {'approved' if applied else 'rejected'} by example-reviewer" in out
    assert ("Applied as event" in out) is applied
    if applied:
        assert "      pricing.price_changed: Price of SKU-" in out
        assert "    decision.approved: pricing.change_proposed approved" in out


@pytest.mark.django_db(transaction=True)
def test_approval_gate_runs_over_http(live_server, django_user_model):
    """The same script through the SDK against a live server, the reviewer over the API."""
    from traces.api.models import Scope
    from traces.api.tokens import service_token_create

    owner = django_user_model.objects.create_superuser("gatekeeper", "g@example.com", "pw")
    token = service_token_create(
        owner=owner, name="example", scopes=[scope.value for scope in Scope]
    ).text
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DECISION_TRACE_URL": live_server.url,
        "DECISION_TRACE_TOKEN": token,
    }
    result = subprocess.run(
        [sys.executable, "examples/approval_gate.py", "--simulate", "approve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Decision: approved by gatekeeper" in result.stdout
    assert "      pricing.price_changed: Price of SKU-" in result.stdout
