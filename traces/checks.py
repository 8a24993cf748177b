"""System checks for ``traces``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.checks import Error, register

__all__ = ["SUPPORTED_ENGINES", "check_database_engines", "engine_errors"]

SUPPORTED_ENGINES = (
    "django.db.backends.sqlite3",
    "config.sqlite",
    "django.db.backends.postgresql",
)


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
