"""Periodic work run by the background worker (django-tasks), not by cron.

Each periodic task is a line of ``TRACES_PERIODIC_TASKS`` (a callable's dotted
path and ``every`` or ``daily_at``). Its next run is one django-tasks task
result due at the next slot (``run_after``); ``manage.py run_worker`` makes sure
each has one, then runs ``db_worker``. See docs/human-in-the-loop.md.
"""

from __future__ import annotations
