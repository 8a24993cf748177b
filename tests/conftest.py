from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {connection.vendor} ({connection.settings_dict['NAME']})"
