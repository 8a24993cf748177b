"""The review permissions on ``Decision`` and the groups that hold them.

The permissions are declared in ``Decision.Meta.permissions``; migration
``0004_review_groups`` creates the groups, and ``review_groups_ensure()`` in
``decisioning.review`` brings them back to exactly these permissions (after
a test database flush, or in a demo setup).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ADMINS",
    "APPROVE_DECISION",
    "DECIDE_ESCALATED_DECISION",
    "ESCALATE_DECISION",
    "REVIEWERS",
    "REVIEW_GROUPS",
    "REVIEW_PERMISSIONS",
    "SENIOR_ADMINS",
    "VIEW_DECISION",
]

APP_LABEL = "decisioning"

# Full names, as ``user.has_perm`` takes them.
VIEW_DECISION = "decisioning.view_decision"
APPROVE_DECISION = "decisioning.approve_decision"
ESCALATE_DECISION = "decisioning.escalate_decision"
DECIDE_ESCALATED_DECISION = "decisioning.decide_escalated_decision"

# Any one of these lets a user try a review action; which one an action
# needs is ``decisioning.transitions.required_permission``.
REVIEW_PERMISSIONS = (APPROVE_DECISION, ESCALATE_DECISION, DECIDE_ESCALATED_DECISION)

REVIEWERS = "Reviewers"
ADMINS = "Admins"
SENIOR_ADMINS = "Senior admins"

# Group name -> the codenames it holds, exactly.
REVIEW_GROUPS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        REVIEWERS: frozenset({"view_decision"}),
        ADMINS: frozenset({"view_decision", "approve_decision", "escalate_decision"}),
        SENIOR_ADMINS: frozenset(
            {
                "view_decision",
                "approve_decision",
                "escalate_decision",
                "decide_escalated_decision",
            }
        ),
    }
)
