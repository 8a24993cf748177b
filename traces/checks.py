"""System checks for ``traces``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from traces.conf import background_checkpoint_setting_error

__all__ = ["SUPPORTED_ENGINES", "check_database_engines", "check_settings", "engine_errors"]

SUPPORTED_ENGINES = ("django.db.backends.sqlite3", "django.db.backends.postgresql")


@register()
def check_database_engines(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """traces.E001: full-text search and upserts are written for SQLite and PostgreSQL only."""
    return engine_errors(settings.DATABASES)


def engine_errors(databases: Mapping[str, Mapping[str, Any]]) -> list[Error]:
    return [
        Error(
            f"Database {alias!r} uses {config.get('ENGINE')!r}; traces needs SQLite or "
            "PostgreSQL (full-text search, upserts).",
            hint="Set DATABASE_URL to a postgres:// URL, or leave it unset for SQLite.",
            id="traces.E001",
        )
        for alias, config in databases.items()
        if config.get("ENGINE") not in SUPPORTED_ENGINES
    ]


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """traces.E002: ``TRACES_SQLITE_BACKGROUND_CHECKPOINT`` is not True or False."""
    error = background_checkpoint_setting_error()
    if error is None:
        return []
    return [
        Error(
            error,
            hint="Leave it unset (True) or set it to False to keep checkpoints in the writer.",
            id="traces.E002",
        )
    ]
