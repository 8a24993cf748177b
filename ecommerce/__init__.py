"""The prebuilt store event types and the demo store."""

from __future__ import annotations
