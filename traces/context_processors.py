"""Template context every page of the app gets."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from decisioning.conf import get_claim_duration
from traces.selectors import can_view_decisions

__all__ = ["decision_access"]


def decision_access(request: HttpRequest) -> dict[str, object]:
    """``show_decisions``: whether the user may see decisions (outcome, reason, decider).

    The same rule as the review pages (``can_view_decisions``), so every
    page, partial and navigation link that shows a decision follows it. Lazy:
    a page that never asks costs no permission query.

    ``now`` and ``claim_cutoff`` (claims made before it have expired) let
    the queue say what is overdue and who is reviewing what.
    """
    user = getattr(request, "user", None)
    now = timezone.now()
    return {
        "show_decisions": SimpleLazyObject(lambda: user is not None and can_view_decisions(user)),
        "now": now,
        "claim_cutoff": now - get_claim_duration(),
    }
