"""Run Python in a child process that prints a JSON report as its last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "clean_env", "run_for_report", "run_python"]

ROOT = Path(__file__).resolve().parent.parent


def clean_env(*drop: str, **extra: str) -> dict[str, str]:
    """This process's environment without the database and settings choices (and ``drop``).

    A child then runs on its own default (SQLite) unless ``extra`` says otherwise.
    """
    dropped = {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DEBUG", "SQLITE_PATH", *drop}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(extra)
    return env


def run_python(args: Sequence[str], *, env: Mapping[str, str], timeout: float = 300) -> str:
    """``python *args`` from the project root; fails the test on a non-zero exit.

    Returns:
        What the child printed on standard output.
    """
    completed = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def run_for_report(
    args: Sequence[str], *, env: Mapping[str, str], timeout: float = 120
) -> dict[str, Any]:
    """``python *args`` from the project root; fails the test on a non-zero exit.

    Returns:
        The JSON object the child printed on its last line of standard output.
    """
    return json.loads(run_python(args, env=env, timeout=timeout).strip().splitlines()[-1])
