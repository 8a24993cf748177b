"""Applying review rules to incoming events: load once per write, match per event.

``rules_load`` reads the enabled rules in one query and compiles them; a
stored rule whose condition no longer compiles is left out (it cannot fire,
and it never breaks ingest). ``rule_for`` finds the first rule that fires
for an event, without queries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import QuerySet

from decision_trace.values import TraceEvent
from traces.rules.conditions import CompiledCondition, RuleConditionError, condition_compile
from traces.rules.models import ReviewRule, RuleAction

__all__ = ["LoadedRule", "rule_for", "rules_compile", "rules_load", "rules_queryset"]


@dataclass(frozen=True)
class LoadedRule:
    """An enabled rule, compiled."""

    pk: int
    name: str
    matches: CompiledCondition
    sample_percent: int | None
    decision_type: str
    deciding_group_id: int | None
    due_in: timedelta | None
    # Event type -> whether it matches: a batch has few types, so each is asked once.
    type_cache: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)


def rules_queryset(*, using: str) -> QuerySet[ReviewRule]:
    """The enabled rules, first to try first."""
    return ReviewRule.objects.using(using).filter(enabled=True).order_by("order", "id")


def rules_compile(rules: Iterable[ReviewRule]) -> list[LoadedRule]:
    """Rules (``rules_queryset``'s rows) compiled; a rule whose condition does not compile
    is left out."""
    loaded = []
    for rule in rules:
        try:
            matches = condition_compile(rule.condition)
        except RuleConditionError:
            continue
        loaded.append(
            LoadedRule(
                pk=rule.pk,
                name=rule.name,
                matches=matches,
                sample_percent=rule.sample_percent if rule.action == RuleAction.SAMPLE else None,
                decision_type=rule.decision_type,
                deciding_group_id=rule.deciding_group_id,
                due_in=rule.due_in,
            )
        )
    return loaded


def rules_load(*, using: str) -> list[LoadedRule]:
    """The enabled rules, first to try first: one query."""
    return rules_compile(rules_queryset(using=using))


def _sampled(event_id: str, rule: LoadedRule) -> bool:
    """A stable draw per (event, rule): the same event is sampled the same way on replay."""
    if rule.sample_percent is None or rule.sample_percent >= 100:
        return True
    digest = hashlib.blake2b(f"{rule.pk}:{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100 < rule.sample_percent


def rule_for(rules: list[LoadedRule], event: TraceEvent) -> LoadedRule | None:
    """The first rule that fires for ``event``, or None."""
    event_type = event.event_type
    for rule in rules:
        type_ok = rule.type_cache.get(event_type)
        if type_ok is None:
            type_ok = rule.type_cache[event_type] = rule.matches.type_matches(event_type)
        if type_ok and rule.matches.rest_matches(event) and _sampled(event.id, rule):
            return rule
    return None
