"""Template context every page of the app gets."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from traces.review_selectors import user_can_view_decisions

__all__ = ["decision_access"]


def decision_access(request: HttpRequest) -> dict[str, object]:
    """``show_decisions``: whether the user may see decisions (outcome, reason, decider).

    The same rule as the review pages (``user_can_view_decisions``), so every
    page, partial and navigation link that shows a decision follows it. Lazy:
    a page that never asks costs no permission query.
    """
    user = getattr(request, "user", None)
    return {
        "show_decisions": SimpleLazyObject(
            lambda: user is not None and user_can_view_decisions(user)
        )
    }
