"""The project's JSON encoder for ``JSONField``s that may receive Python values."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

__all__ = ["DecisioningJSONEncoder"]


class DecisioningJSONEncoder(DjangoJSONEncoder):
    """``DjangoJSONEncoder`` (datetime, date, time, timedelta, Decimal, UUID, lazy
    strings as ISO / str) plus dataclass instances, stored as a dict of their fields.

    Values come back from the database as the JSON types (``Decimal("1.5")`` reads
    back as ``"1.5"``); ``decisioning.results`` is what restores types on replay.
    """

    def default(self, o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return dataclasses.asdict(o)
        return super().default(o)
