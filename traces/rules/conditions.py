"""Review rule conditions: a small JSON structure, validated, compiled, never evaluated as code.

A condition is an object whose keys all must hold (AND); an empty object
matches every event::

    {
      "event_type": "pricing.*",            # fnmatch pattern, or a list of them (any)
      "actor_type": ["ai_agent"],           # one value or a list (any)
      "actor_id": "pricing-bot",            # one value or a list (any)
      "model": "gpt-4o",                    # the actor's AI model, one value or a list
      "confidence_below": 0.8,              # the decision's confidence < 0.8
      "risk_at_least": "high",              # low, medium, high or critical
      "tags": ["refund"],                   # every tag present
      "outcome": ["failure"],               # one value or a list (any)
      "values": [                           # numeric conditions, all must hold
        {"field": "data.refund_amount", "op": "gt", "value": 500},
        {"change": "product.price", "op": "abs_pct_gt", "value": 10}
      ]
    }

A ``field`` is ``data.<key>...``, ``context.<key>...`` (the decision's
context), ``outcome_details.<key>...`` or ``object.<type>.before.<key>...`` /
``object.<type>.after.<key>...`` (the first tracked object of that type). A
``change`` is ``<object type>.<key>``: the percentage change of that key from
``state_before`` to ``state_after``; ``pct_gt``/``pct_lt`` compare it signed
(a drop of 15 % is -15), ``abs_pct_gt`` its size. Numbers may be JSON numbers
or numeric text (amounts are stored as text, ``"149.99"``).

``condition_compile`` refuses anything else with ``RuleConditionError`` (one
message per problem). A compiled condition returns False, never raises, when
an event lacks what it looks at: a rule that cannot be evaluated does not fire.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from decision_trace.enums import ActorType, EventOutcome, RiskLevel
from decision_trace.values import TraceEvent

__all__ = [
    "CONDITION_KEYS",
    "CompiledCondition",
    "Condition",
    "RuleConditionError",
    "condition_compile",
]

_Predicate = Callable[[TraceEvent], bool]

CONDITION_KEYS = (
    "event_type",
    "actor_type",
    "actor_id",
    "model",
    "confidence_below",
    "risk_at_least",
    "tags",
    "outcome",
    "values",
)
_COMPARE_OPS: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
}
_CHANGE_OPS: dict[str, Callable[[float, float], bool]] = {
    "pct_gt": lambda a, b: a > b,
    "pct_lt": lambda a, b: a < b,
    "abs_pct_gt": lambda a, b: abs(a) > b,
}
_ACTOR_TYPES = tuple(member.value for member in ActorType)
_RISK_LEVELS = tuple(member.value for member in RiskLevel)
_OUTCOMES = tuple(member.value for member in EventOutcome)
# RiskLevel.rank searches the enum each time; a rule asks for every event.
_RISK_RANK = {level: index for index, level in enumerate(RiskLevel)}
_MAX_TEXT = 200
_MAX_ITEMS = 50
_MAX_DEPTH = 8
_SEGMENT = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")


class RuleConditionError(ValueError):
    """The condition is not a valid rule condition; ``problems`` lists each one."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def _text(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_TEXT
        and value.isprintable()
        and value.encode("utf-8", "surrogatepass").decode("utf-8", "replace") == value
    )


def _texts(key: str, value: object, problems: list[str]) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > _MAX_ITEMS or not all(_text(item) for item in items):
        problems.append(
            f"{key!r} takes a non-empty printable text of at most {_MAX_TEXT} characters, "
            f"or a list of 1 to {_MAX_ITEMS} of them."
        )
        return []
    return [str(item) for item in items]


def _choices(key: str, value: object, allowed: Sequence[str], problems: list[str]) -> list[str]:
    items = _texts(key, value, problems)
    wrong = [item for item in items if item not in allowed]
    if wrong:
        problems.append(f"{key!r} takes {', '.join(allowed)}; got {wrong[0][:40]!r}.")
        return []
    return items


def _number(value: object) -> float | None:
    """A finite number from a JSON number or numeric text; None otherwise.

    Floats, not Decimals: a rule compares against a threshold, and this runs
    for every event of a bulk write.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and len(value) <= 50:
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _dig(value: Any, keys: Sequence[str]) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _object_state(event: TraceEvent, object_type: str, side: str) -> Mapping[str, Any] | None:
    for obj in event.objects:
        if obj.type.value == object_type:
            return obj.state_before if side == "before" else obj.state_after
    return None


def _field_reader(path: object, problems: list[str]) -> Callable[[TraceEvent], Any] | None:
    if not isinstance(path, str) or not _text(path):
        problems.append("A value condition's 'field' must be a dotted path such as data.amount.")
        return None
    parts = path.split(".")
    if len(parts) > _MAX_DEPTH or not all(_SEGMENT.match(part) for part in parts):
        problems.append(f"The field {path[:60]!r} is not a dotted path of plain names.")
        return None
    head, rest = parts[0], parts[1:]
    if head in ("data", "context", "outcome_details") and rest:

        def read(event: TraceEvent) -> Any:
            if head == "data":
                root: Any = event.data
            elif head == "outcome_details":
                root = event.outcome_details
            else:
                root = event.decision.context if event.decision else None
            return _dig(root, rest)

        return read
    if head == "object" and len(rest) >= 3 and rest[1] in ("before", "after"):
        object_type, side, keys = rest[0], rest[1], rest[2:]
        return lambda event: _dig(_object_state(event, object_type, side), keys)
    problems.append(
        f"The field {path[:60]!r} must start with data., context., outcome_details. "
        "or object.<type>.before. / object.<type>.after."
    )
    return None


def _change_reader(path: object, problems: list[str]) -> Callable[[TraceEvent], Any] | None:
    if not isinstance(path, str) or not _text(path):
        problems.append(
            "A value condition's 'change' must be <object type>.<key>, e.g. product.price."
        )
        return None
    parts = path.split(".")
    if len(parts) < 2 or len(parts) > _MAX_DEPTH or not all(_SEGMENT.match(p) for p in parts):
        problems.append(
            f"The change {path[:60]!r} must be <object type>.<key>, e.g. product.price."
        )
        return None
    object_type, keys = parts[0], parts[1:]

    def read(event: TraceEvent) -> float | None:
        before = _number(_dig(_object_state(event, object_type, "before"), keys))
        after = _number(_dig(_object_state(event, object_type, "after"), keys))
        if before is None or after is None or before == 0:
            return None
        return (after - before) / abs(before) * 100

    return read


def _value_predicate(item: object, problems: list[str]) -> _Predicate | None:
    if not isinstance(item, dict):
        problems.append("Each item of 'values' is an object with field (or change), op and value.")
        return None
    unknown = sorted(str(key)[:40] for key in item if key not in ("field", "change", "op", "value"))
    if unknown:
        problems.append(f"Unknown key {unknown[0]!r} in a value condition.")
        return None
    if ("field" in item) == ("change" in item):
        problems.append("A value condition names exactly one of 'field' and 'change'.")
        return None
    threshold = _number(item.get("value"))
    if threshold is None:
        problems.append("A value condition's 'value' must be a finite number.")
        return None
    op = item.get("op")
    ops = _COMPARE_OPS if "field" in item else _CHANGE_OPS
    if not isinstance(op, str) or op not in ops:
        problems.append(f"A value condition's 'op' must be one of {', '.join(ops)}.")
        return None
    compare = ops[op]
    if "field" in item:
        field_reader = _field_reader(item["field"], problems)
        if field_reader is None:
            return None

        def by_field(event: TraceEvent) -> bool:
            value = _number(field_reader(event))
            return value is not None and compare(value, threshold)

        return by_field
    change_reader = _change_reader(item["change"], problems)
    if change_reader is None:
        return None

    def by_change(event: TraceEvent) -> bool:
        change = change_reader(event)
        return change is not None and compare(change, threshold)

    return by_change


def _type_matcher(condition: Mapping[str, Any], problems: list[str]) -> Callable[[str], bool]:
    if "event_type" not in condition:
        return lambda event_type: True
    patterns = _texts("event_type", condition["event_type"], problems)
    matcher = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match
    return lambda event_type: matcher(event_type) is not None


def _predicates(condition: Mapping[str, Any], problems: list[str]) -> list[_Predicate]:
    predicates: list[_Predicate] = []
    if "actor_type" in condition:
        types = frozenset(_choices("actor_type", condition["actor_type"], _ACTOR_TYPES, problems))
        if types:
            predicates.append(lambda e: e.actor is not None and e.actor.type.value in types)
    if "actor_id" in condition:
        ids = frozenset(_texts("actor_id", condition["actor_id"], problems))
        if ids:
            predicates.append(lambda e: e.actor is not None and e.actor.id in ids)
    if "model" in condition:
        models = frozenset(_texts("model", condition["model"], problems))
        if models:
            predicates.append(lambda e: e.actor is not None and e.actor.model in models)
    if "confidence_below" in condition:
        below = _number(condition["confidence_below"])
        if below is None or isinstance(condition["confidence_below"], str) or not 0 <= below <= 1:
            problems.append("'confidence_below' takes a number from 0 to 1.")
        else:
            predicates.append(
                lambda e: (
                    e.decision is not None
                    and e.decision.confidence is not None
                    and e.decision.confidence < below
                )
            )
    if "risk_at_least" in condition:
        levels = _choices("risk_at_least", condition["risk_at_least"], _RISK_LEVELS, problems)
        if len(levels) > 1:
            problems.append("'risk_at_least' takes one risk level.")
        elif levels:
            rank = _RISK_RANK[RiskLevel(levels[0])]
            predicates.append(
                lambda e: (
                    e.decision is not None
                    and e.decision.risk_level is not None
                    and _RISK_RANK[e.decision.risk_level] >= rank
                )
            )
    if "tags" in condition:
        tags = frozenset(_texts("tags", condition["tags"], problems))
        if tags:
            predicates.append(lambda e: tags.issubset(e.tags))
    if "outcome" in condition:
        outcomes = frozenset(_choices("outcome", condition["outcome"], _OUTCOMES, problems))
        if outcomes:
            predicates.append(lambda e: e.outcome.value in outcomes)
    if "values" in condition:
        items = condition["values"]
        if not isinstance(items, list) or not 0 < len(items) <= _MAX_ITEMS:
            problems.append(f"'values' takes a list of 1 to {_MAX_ITEMS} value conditions.")
        else:
            for item in items:
                predicate = _value_predicate(item, problems)
                if predicate is not None:
                    predicates.append(predicate)
    return predicates


class CompiledCondition:
    """A checked condition: ``type_matches(event_type)`` alone, or ``condition(event)`` whole.

    The event type part is separate so that a batch can remember its answer
    per event type (``traces.rules.engine``) instead of asking per event.
    """

    def __init__(
        self, type_matches: Callable[[str], bool], predicates: Sequence[_Predicate]
    ) -> None:
        self.type_matches = type_matches
        self._predicates = tuple(predicates)

    def rest_matches(self, event: TraceEvent) -> bool:
        """Everything but the event type; False, never an exception, when a field is missing."""
        try:
            for predicate in self._predicates:
                if not predicate(event):
                    return False
        except (ArithmeticError, TypeError, ValueError, AttributeError):
            return False
        return True

    def __call__(self, event: TraceEvent) -> bool:
        return self.type_matches(event.event_type) and self.rest_matches(event)


Condition = CompiledCondition


def condition_compile(condition: object) -> CompiledCondition:
    """Check ``condition`` and return a ``CompiledCondition`` telling whether an event matches.

    Raises:
        RuleConditionError: the condition is not an object of the keys above
            with values of the right kind; ``problems`` says what to fix.
    """
    if not isinstance(condition, dict):
        raise RuleConditionError([f"A condition is a JSON object; got {type(condition).__name__}."])
    problems: list[str] = []
    unknown = [str(key)[:40] for key in condition if key not in CONDITION_KEYS]
    if unknown:
        problems.append(f"Unknown condition {unknown[0]!r}; use {', '.join(CONDITION_KEYS)}.")
    type_matches = _type_matcher(condition, problems)
    # In the order built: the cheap checks (actors, levels) before the value lookups.
    predicates = _predicates(condition, problems)
    if problems:
        raise RuleConditionError(problems)
    return CompiledCondition(type_matches, predicates)
