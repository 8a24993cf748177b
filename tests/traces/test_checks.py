"""System checks: traces.E001 for a database engine that traces does not support."""

from __future__ import annotations

from traces.checks import check_database_engines, engine_errors


def test_supported_engines_pass():
    assert check_database_engines() == []


def test_unsupported_engine_is_an_error():
    errors = engine_errors({"default": {"ENGINE": "django.db.backends.mysql", "NAME": "x"}})
    assert [error.id for error in errors] == ["traces.E001"]
    assert "postgres://" in errors[0].hint
