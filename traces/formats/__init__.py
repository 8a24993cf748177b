"""Open formats in and out: ActivityWatch files, CSV and JSON Lines exports, OTLP spans.

Each module maps one format to and from the value objects and hands writes to
``traces.services`` (``trace_record_many``), the one door for every writer.
"""

from __future__ import annotations
