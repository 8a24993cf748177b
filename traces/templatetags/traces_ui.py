"""Template filters for rendering trace events: first lines, JSON, confidence, durations."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from traces.ui.common import PENDING_COUNT_CAP, pending_decisions_count

register = template.Library()

FIRST_LINE_LENGTH = 200


@register.filter
def first_line(text: str) -> str:
    """The first non-blank line of ``text``, cut at 200 characters with an ellipsis."""
    for line in str(text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= FIRST_LINE_LENGTH else line[: FIRST_LINE_LENGTH - 1] + "…"
    return ""


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON (escaped by the template like any other text)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.filter
def percent(value: float | None) -> str:
    """0.874 -> "87%"; empty for no value."""
    if value is None:
        return ""
    return f"{round(value * 100)}%"


@register.filter
def seconds(value: float | None) -> str:
    """A duration in seconds, in the unit that reads best: 350 ms, 4.2 s, 3 min 5 s."""
    if value is None or not math.isfinite(value):
        return ""
    if value < 1:
        return f"{round(value * 1000)} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


@register.filter
def minutes(value: timedelta) -> int:
    """A duration in whole minutes, rounded up (a lockout of 90 s reads "2 minutes")."""
    return math.ceil(value.total_seconds() / 60)


@register.filter
def actor_url(actor: Any) -> str:
    """The actor's page, or "" when a stored row's type or id cannot be a URL (no link then)."""
    try:
        return reverse("traces:actor_detail", args=[actor.actor_type, actor.actor_id])
    except NoReverseMatch:
        return ""


@register.filter
def object_url(obj: Any) -> str:
    """The object's history page, or "" when a stored row's type or id cannot be a URL."""
    try:
        return reverse("traces:object_history", args=[obj.object_type, obj.object_id])
    except NoReverseMatch:
        return ""


@register.filter
def capped_count(count: int) -> str:
    """A count read up to ``PENDING_COUNT_CAP``: ``"1000+"`` when it reached it."""
    return f"{count}+" if count >= PENDING_COUNT_CAP else str(count)


@register.simple_tag(takes_context=True)
def pending_count(context: template.Context) -> int:
    """The pending-decisions count for the navigation; reuses one the view already computed."""
    if "pending_count" in context:
        count: int = context["pending_count"]
        return count
    return pending_decisions_count()
