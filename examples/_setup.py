"""Set up the example scripts, so they run as ``python examples/<name>.py``.

With ``DECISION_TRACE_URL`` (and ``DECISION_TRACE_TOKEN``) set they talk to
that server through the SDK and need no Django. Otherwise they use the
project's settings and database in-process: the SQLite file in ``var/`` by
default, or ``DATABASE_URL``. ``DEBUG`` defaults to on for them, as for
``make run``, so no ``SECRET_KEY`` is needed on a development machine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup() -> None:
    """Over HTTP when ``DECISION_TRACE_URL`` is set, else in-process (``django_setup``)."""
    if not os.environ.get("DECISION_TRACE_URL"):
        django_setup()


def django_setup() -> None:
    """Configure settings, load the apps and check the database has been migrated."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    import django
    from django.db import connection

    django.setup()
    if "traces_eventrecord" not in connection.introspection.table_names():
        sys.exit("The database has no tables yet: run `python manage.py migrate` first.")
