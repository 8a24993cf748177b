"""Reviewer emails: escalations, decisions past their due time, and a daily digest per user.

Escalation emails are enqueued (django-tasks) in the review action's
transaction; ``manage.py review_notify`` (run it from cron every few minutes)
sends the overdue notices once per decision and the daily digests.
"""

from __future__ import annotations
