"""Reads for Decision records and their review history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models

from decisioning.models import Decision, DecisionAction, DecisionTransition
from decisioning.transitions import allowed_actions, required_permission
from decisioning.utils import parse_pk

__all__ = ["decision_allowed_actions", "decision_history", "decision_targets"]


def decision_history(*, decision: Decision) -> models.QuerySet[DecisionTransition]:
    """The decision's review steps, oldest first (``at``, then ``id``), with ``by`` loaded.

    One query however long the history is.
    """
    return (
        DecisionTransition.objects.filter(decision_id=decision.pk)
        .select_related("by")
        .order_by("at", "id")
    )


def decision_allowed_actions(
    *, decision: Decision, user: AbstractBaseUser | AnonymousUser | None
) -> tuple[DecisionAction, ...]:
    """The actions ``user`` may take on ``decision`` now: the buttons to show.

    Allowed by the state machine from the decision's outcome, and held by an
    active user; none for a deleted decision. No query beyond the user's
    permission cache. ``decision_transition`` checks again under its lock.
    """
    if user is None or not user.is_active or decision.is_deleted:
        return ()
    if not isinstance(user, PermissionsMixin):  # a user model without permissions
        return ()
    return tuple(
        action
        for action in allowed_actions(decision.outcome)
        if user.has_perm(required_permission(from_outcome=decision.outcome, action=action))
    )


def decision_targets(*, decisions: Iterable[Decision]) -> dict[object, models.Model | None]:
    """Each decision's target row, keyed by the decision's pk; one query per target model.

    Unlike ``prefetch_related("target")``, a target id that does not fit its
    model's primary key, a content type whose model is gone, or a deleted row
    gives None instead of an error. Soft-deleted targets are found (base manager).
    """
    decisions = list(decisions)
    wanted: dict[int, set[object]] = defaultdict(set)
    keys: dict[object, tuple[int, object] | None] = {}
    for decision in decisions:
        model = ContentType.objects.get_for_id(decision.target_content_type_id).model_class()
        key = None
        if model is not None:
            try:
                key = (
                    decision.target_content_type_id,
                    parse_pk(model, decision.target_id),
                )
            except ValidationError:
                key = None
        if key is not None:
            wanted[key[0]].add(key[1])
        keys[decision.pk] = key
    rows: dict[tuple[int, object], models.Model] = {}
    for content_type_id, pks in wanted.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None:  # the content type's model was removed from the code
            continue
        for row in model._base_manager.filter(pk__in=pks):
            rows[(content_type_id, row.pk)] = row
    return {pk: rows.get(key) if key else None for pk, key in keys.items()}
