"""The SDK's own tests: plain Python, no Django.

Importing Django from here on fails (a meta-path hook refuses it), so a test
that passes proves the SDK never needed it. Run them with
``python -m pytest -c sdk/python/pyproject.toml sdk/python/tests`` and
``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``; the project's suite does that in a
subprocess (``tests/sdk/test_sdk_suite.py``).
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType

import pytest
from contract_server import ContractServer


class _NoDjango(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> None:
        if fullname == "django" or fullname.startswith("django."):
            raise ImportError(f"The SDK must not import Django (tried {fullname}).")


if any(name == "django" or name.startswith("django.") for name in sys.modules):
    raise RuntimeError("Django is already imported: run the SDK tests without pytest-django.")
sys.meta_path.insert(0, _NoDjango())


@pytest.fixture
def server() -> Iterator[ContractServer]:
    with ContractServer() as running:
        yield running
