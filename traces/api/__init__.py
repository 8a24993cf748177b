"""The HTTP API v1 (django-ninja) and its service tokens.

A Django app of its own (label ``traces_api``) inside ``traces``: the
``ServiceToken`` model, its admin and ``manage.py api_token``, and the
endpoints under ``/api/v1/`` (``traces.api.api``). See ``docs/api.md``.
"""

from __future__ import annotations
