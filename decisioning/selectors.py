"""Reads for Decision records and their review history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Q

from decisioning.models import Decision, DecisionAction, DecisionTransition
from decisioning.transitions import allowed_actions, required_permission
from decisioning.utils import parse_pk

__all__ = [
    "DECISION_SEARCH_LIMIT",
    "decision_allowed_actions",
    "decision_history",
    "decision_search_ids",
    "decision_targets",
    "distinct_indexed_values",
]

# A text search looks for its words in the reasons of this many most recent decisions
# (reasons have no index: a LIKE over every decision grows with the table).
DECISION_SEARCH_LIMIT = 10_000
# Search text is cut to this many characters (the longest decision type or target id).
SEARCH_TERM_LENGTH = 255


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


def distinct_indexed_values(
    model: type[models.Model],
    column: str,
    *,
    limit: int,
    prefix: str = "",
    using: str = DEFAULT_DB_ALIAS,
) -> list[Any]:
    """The distinct values of an indexed column (all rows), in order, at most ``limit``.

    A recursive query asks the index for the next value after the last one, so
    the cost is one index probe per distinct value, not a scan of every row.
    ``prefix`` (text columns): only the values starting so; the walk starts
    there and stops at the first value that does not. ``using``: the database alias.
    """
    connection = connections[using]
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(column)
    start, step, keep = "", "", ""
    params: list[int | str] = [limit]
    if prefix:
        start = f" WHERE {column} >= %s"
        step = f" AND SUBSTR(found.value, 1, {len(prefix)}) = %s"
        keep = f" AND SUBSTR(value, 1, {len(prefix)}) = %s"
        params = [prefix, prefix, prefix, limit]
    sql = (
        f"WITH RECURSIVE found(value) AS ("
        f" SELECT MIN({column}) FROM {table}{start}"
        f" UNION ALL"
        f" SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > found.value)"
        f" FROM found WHERE found.value IS NOT NULL{step}"
        f") SELECT value FROM found WHERE value IS NOT NULL{keep} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def decision_search_ids(
    text: str, decisions: models.QuerySet[Decision], *, limit: int
) -> list[object]:
    """Ids of ``decisions`` found by ``text`` (at most ``limit`` of each kind), through indexes.

    The whole text (stripped, cut to 255 characters) is matched as: the start of
    a decision type (a range of the type index), a target id exactly (the
    ``(target type, target id)`` index, once per target type in use), or a part
    of the reason of one of the ``DECISION_SEARCH_LIMIT`` most recent decisions
    (case-insensitive). Each is a bounded read whatever the text and the table's
    size; three queries.
    """
    term = text.strip()[:SEARCH_TERM_LENGTH]
    if not term:
        return []
    by_type = decisions.filter(decision_type__gte=term, decision_type__lt=term + "\U0010ffff")
    types = distinct_indexed_values(Decision, "target_content_type_id", limit=100)
    by_target = decisions.filter(target_content_type_id__in=types, target_id=term)
    recent = Decision.all_objects.order_by("-effective_at", "-id").values("pk")
    by_reason = decisions.filter(Q(reason__icontains=term), pk__in=recent[:DECISION_SEARCH_LIMIT])
    found: dict[object, None] = {}
    for matches in (by_type, by_target, by_reason):
        found.update(dict.fromkeys(matches.order_by().values_list("pk", flat=True)[:limit]))
    return list(found)
