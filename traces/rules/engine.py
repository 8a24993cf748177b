"""Applying review rules to incoming events: load once per write, match per event.

``rules_load`` reads the enabled rules in one query and compiles them; a
stored rule whose condition no longer compiles is left out (it cannot fire,
and it never breaks ingest). The query is read on every write, so an edit
applies to the next write in every process; its SQL is built once per
database connection (``rules_statement``), not by the ORM on every write.
``rule_for`` finds the first rule that fires for an event, without queries:
a batch has few event types, so the rules whose event type pattern matches
are picked once per type (``RuleSet``), and an event is checked only against
those.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler

from decision_trace.values import TraceEvent
from traces.cursors import driver_cursor
from traces.rules.conditions import CompiledCondition, RuleConditionError, condition_compile
from traces.rules.models import ReviewRule, RuleAction

__all__ = [
    "LoadedRule",
    "RuleSet",
    "RulesStatement",
    "rule_for",
    "rules_compile",
    "rules_load",
    "rules_queryset",
    "rules_statement",
]


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


class RuleSet:
    """The enabled rules of one write, first to try first, with their candidates per event type."""

    __slots__ = ("_by_type", "rules")

    def __init__(self, rules: Sequence[LoadedRule]) -> None:
        self.rules = tuple(rules)
        self._by_type: dict[str, tuple[LoadedRule, ...]] = {}

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[LoadedRule]:
        return iter(self.rules)

    def for_type(self, event_type: str) -> tuple[LoadedRule, ...]:
        """The rules whose event type condition ``event_type`` meets, in order (asked once)."""
        found = self._by_type.get(event_type)
        if found is None:
            found = tuple(rule for rule in self.rules if rule.matches.type_matches(event_type))
            self._by_type[event_type] = found
        return found


_FIELDS = (
    "pk",
    "name",
    "condition",
    "action",
    "sample_percent",
    "decision_type",
    "deciding_group_id",
    "due_in_minutes",
)
# Compiled rules by their stored row: a batch re-reads the rows (one query, so
# an edit applies to the next write in every process) but compiles only a
# row it has not seen. Bounded: edits add entries, so it is emptied when full.
_COMPILED: dict[str, LoadedRule | None] = {}
_COMPILED_LIMIT = 1_000
# Rule sets by the rows as fetched (their repr: PostgreSQL's JSON comes as a dict).
_RULESETS: dict[str, RuleSet] = {}
_RULESETS_LIMIT = 100


def _compiled(row: tuple[Any, ...]) -> LoadedRule | None:
    key = json.dumps(row, sort_keys=True, default=str)
    if key in _COMPILED:
        return _COMPILED[key]
    pk, name, condition, action, sample_percent, decision_type, group_id, due_in = row
    try:
        matches: CompiledCondition | None = condition_compile(condition)
    except RuleConditionError:
        matches = None
    loaded = None
    if matches is not None:
        loaded = LoadedRule(
            pk=pk,
            name=name,
            matches=matches,
            sample_percent=sample_percent if action == RuleAction.SAMPLE else None,
            decision_type=decision_type,
            deciding_group_id=group_id,
            due_in=timedelta(minutes=due_in) if due_in else None,
        )
    if len(_COMPILED) >= _COMPILED_LIMIT:
        _COMPILED.clear()
    _COMPILED[key] = loaded
    return loaded


def rules_queryset(*, using: str) -> QuerySet[ReviewRule, tuple[Any, ...]]:
    """The enabled rules' rows (``_FIELDS``), first to try first."""
    return (
        ReviewRule.objects.using(using)
        .filter(enabled=True)
        .order_by("order", "id")
        .values_list(*_FIELDS)
    )


def rules_compile(rows: Iterable[Sequence[Any]]) -> RuleSet:
    """``rules_queryset``'s rows as rules, each compiled once per process; a rule whose
    condition does not compile is left out."""
    return RuleSet([rule for row in rows if (rule := _compiled(tuple(row))) is not None])


@dataclass(frozen=True)
class RulesStatement:
    """``rules_queryset`` compiled for one connection: its SQL, parameters and row conversion."""

    sql: str
    params: tuple[Any, ...]
    compiler: SQLCompiler

    def rows(self, fetched: Sequence[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        """The fetched rows converted as the ORM converts them (e.g. the JSON condition)."""
        return self.compiler.results_iter(results=[list(fetched)])

    def ruleset(self, fetched: Sequence[Sequence[Any]]) -> RuleSet:
        """The rules of the fetched rows: the same rows as last time give the same RuleSet,
        without converting them again (``record()`` reads the same rows on every write)."""
        key = repr(fetched)
        found = _RULESETS.get(key)
        if found is None:
            found = rules_compile(self.rows(fetched))
            if len(_RULESETS) >= _RULESETS_LIMIT:
                _RULESETS.clear()
            _RULESETS[key] = found
        return found


# The last statement built per alias. A compiler converts with its own connection
# object (one per thread and alias): another thread's builds its own, and the
# entry stays one per alias however many threads come and go.
_STATEMENTS: dict[str, RulesStatement] = {}


def rules_statement(*, using: str) -> RulesStatement:
    """The enabled rules' ``SELECT``, built by the ORM once per connection."""
    connection = connections[using]
    statement = _STATEMENTS.get(using)
    if statement is None or statement.compiler.connection is not connection:
        compiler = rules_queryset(using=using).query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        statement = RulesStatement(sql=sql, params=tuple(params), compiler=compiler)
        _STATEMENTS[using] = statement
    return statement


def rules_load(*, using: str) -> RuleSet:
    """The enabled rules, first to try first: one query; each rule compiled once per process."""
    statement = rules_statement(using=using)
    with driver_cursor(connections[using]) as cursor:
        cursor.execute(statement.sql, statement.params)
        fetched = cursor.fetchall()
    return statement.ruleset(fetched)


def _sampled(event_id: str, rule: LoadedRule) -> bool:
    """A stable draw per (event, rule): the same event is sampled the same way on replay."""
    if rule.sample_percent is None or rule.sample_percent >= 100:
        return True
    digest = hashlib.blake2b(f"{rule.pk}:{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100 < rule.sample_percent


def rule_for(rules: RuleSet, event: TraceEvent) -> LoadedRule | None:
    """The first rule that fires for ``event``, or None."""
    for rule in rules.for_type(event.event_type):
        if rule.matches.rest_matches(event) and _sampled(event.id, rule):
            return rule
    return None
