"""The package's public API: lazy names, importable before Django is set up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ecommerce

ROOT = Path(__file__).resolve().parents[2]


def test_public_names_import():
    from ecommerce import EcommerceClient, EcommerceEventType, EcommerceTraceBuilder
    from traces import DecisionTraceClient, TraceBuilder

    assert issubclass(EcommerceClient, DecisionTraceClient)
    assert issubclass(EcommerceTraceBuilder, TraceBuilder)
    assert EcommerceEventType.ORDER_CREATED == "order.created"
    assert set(ecommerce.__all__) == {
        "EcommerceClient",
        "EcommerceEventType",
        "EcommerceTraceBuilder",
    }


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError, match="Nope"):
        _ = ecommerce.Nope


def test_import_without_django_setup():
    """`import ecommerce` and the event types work with no settings configured."""
    code = (
        "import ecommerce; from ecommerce import EcommerceEventType; "
        "print(EcommerceEventType.PAYMENT_FAILED)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "payment.failed"
