"""Run Python in a child process that prints a JSON report as its last line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "run_for_report"]

ROOT = Path(__file__).resolve().parent.parent


def run_for_report(
    args: Sequence[str], *, env: Mapping[str, str], timeout: float = 120
) -> dict[str, Any]:
    """``python *args`` from the project root; fails the test on a non-zero exit.

    Returns:
        The JSON object the child printed on its last line of standard output.
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
    return json.loads(completed.stdout.strip().splitlines()[-1])
