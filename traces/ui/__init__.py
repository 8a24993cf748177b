"""Reads for the web UI, one module per page, and the charts' geometry (``charts``).

Each page's selector returns what that page needs in a fixed number of
queries; the timeline itself is ``EventFilterSet(...).qs`` plus ``keyset_page``.
"""

from __future__ import annotations

__all__: list[str] = []
