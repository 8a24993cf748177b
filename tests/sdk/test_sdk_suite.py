"""The SDK's own tests (sdk/python/tests) run here in a child process without Django.

pytest-django is not loaded in the child (no plugin autoload) and the SDK's
conftest refuses any import of Django, so the SDK is proved to work alone.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.subprocess_report import ROOT

SDK = ROOT / "sdk" / "python"


def test_sdk_unit_tests_pass_without_django():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DECISION_TRACE_", "PYTEST_"))
    }
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(SDK / "pyproject.toml"), str(SDK / "tests")],
        cwd=SDK,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-2000:]
    summary = completed.stdout.strip().splitlines()[-1]
    assert " passed" in summary
    assert "failed" not in summary
    assert "error" not in summary
    assert "skipped" not in summary
