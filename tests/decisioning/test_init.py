"""The package's public API: the spec's __all__, imported lazily."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import decisioning

ROOT = Path(__file__).resolve().parents[2]


def test_all_names_resolve():
    """Every name in __all__ is importable from the package."""
    assert len(decisioning.__all__) == 16
    for name in decisioning.__all__:
        assert getattr(decisioning, name) is not None


def test_unknown_name_is_attribute_error():
    """A name outside the API is an AttributeError."""
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        decisioning.nope  # noqa: B018


def test_import_works_before_django_is_set_up():
    """import decisioning needs no configured settings or loaded apps."""
    code = "import decisioning; print(decisioning.__version__, len(decisioning.__all__))"
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False, env={}
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["0.1.0", "16"]
