"""The package's public API: the seed's names, importable before Django is set up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import traces

ROOT = Path(__file__).resolve().parents[2]


def test_public_names_import():
    from traces import (  # noqa: F401
        Actor,
        ActorType,
        DecisionTrace,
        DecisionTraceClient,
        EventOutcome,
        ObjectType,
        RiskLevel,
        TraceBuilder,
        TraceEvent,
        TraceValidationError,
        TrackedObject,
    )

    assert set(traces.__all__) >= {"DecisionTraceClient", "TraceBuilder", "TraceEvent"}


def test_unknown_attribute_raises():
    import pytest

    with pytest.raises(AttributeError):
        _ = traces.Nope


def test_value_objects_import_without_django_setup():
    """`from traces import TraceEvent, TraceBuilder` works with no settings configured."""
    code = (
        "from traces import Actor, TraceEvent, TraceBuilder, ActorType\n"
        "e = TraceBuilder('a.b').by(Actor.user('u', 'U')).build()\n"
        "assert TraceEvent.from_json(e.to_json()) == e\n"
        "import django.conf; assert not django.conf.settings.configured\n"
    )
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
