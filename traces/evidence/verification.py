"""Checking the evidence: ``verify_traces``, inclusion proofs, exported checkpoints.

:func:`evidence_verify` recomputes everything from the rows: each log
entry's content hash from its row (a pruned entry keeps the hash it had;
a missing row that retention did not prune is a deletion), each leaf hash
against the stored leaf node (an entry moved to another position changes
the leaves there), the tree's root at every checkpoint's size against the
checkpoint, and every checkpoint's signature. It stops at the first
mismatch and names it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import router
from django.db.models import Q

from decision_trace.evidence import (
    Checkpoint,
    ProofError,
    checkpoint_verify,
    inclusion_path,
    leaf_data,
    leaf_hash,
    node_hash,
    root_from_subtrees,
)
from decisioning.models import Decision, DecisionTransition
from traces.evidence.keys import public_key_bytes
from traces.evidence.models import (
    LogEntry,
    LogNode,
    PrunedEntry,
    SealKind,
    SealRequest,
    SignedCheckpoint,
)
from traces.evidence.rows import row_contents
from traces.models import EventRecord

__all__ = [
    "EventProof",
    "VerifyReport",
    "checkpoint_of",
    "checkpoints_export",
    "event_proof",
    "evidence_verify",
]

_CHUNK = 2_000


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify_traces`` found: ``problem`` is None when everything matched."""

    entries: int
    checkpoints: int
    pruned: int
    unsealed_requests: int
    problem: str | None


def checkpoint_of(row: SignedCheckpoint) -> Checkpoint:
    """The plain checkpoint (``decision_trace.evidence.Checkpoint``) of a stored one."""
    return Checkpoint(
        size=row.size,
        root=bytes(row.root),
        signed_at=row.signed_at,
        key_id=row.key_id,
        signature=bytes(row.signature),
    )


def _entries(db: str) -> Iterator[list[LogEntry]]:
    start = 0
    while True:
        chunk = list(LogEntry.objects.using(db).filter(index__gte=start).order_by("index")[:_CHUNK])
        if not chunk:
            return
        yield chunk
        start = chunk[-1].index + 1


class _Frontier:
    """The complete subtrees of the leaves seen so far: the root at any size, O(log n)."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []
        self.size = 0

    def push(self, leaf: bytes) -> None:
        level, current = 0, leaf
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            current = node_hash(left, current)
            level += 1
        self.stack.append((level, current))
        self.size += 1

    def root(self) -> bytes:
        return root_from_subtrees([h for _, h in self.stack])


def _check_chunk(
    chunk: list[LogEntry], pruned: set[int], expected_index: int, db: str
) -> str | None:
    by_kind: dict[str, list[str]] = {}
    for entry in chunk:
        by_kind.setdefault(entry.kind, []).append(entry.key)
    contents = {kind: row_contents(kind, keys, using=db) for kind, keys in by_kind.items()}
    for entry in chunk:
        name = f"{SealKind(entry.kind).label} {entry.key} (log entry {entry.index})"
        if entry.index != expected_index:
            return f"The log skips from entry {expected_index - 1} to {entry.index}."
        expected_index += 1
        if entry.index in pruned:
            continue
        content = contents[entry.kind].get(entry.key)
        if content is None:
            return f"{name} was deleted: the row is gone and retention did not prune it."
        if content.content_hash != entry.content_hash:
            return f"{name} does not match its sealed content hash: it was changed."
    return None


def evidence_verify(*, using: str | None = None, public_key: bytes | None = None) -> VerifyReport:
    """Recompute the whole log from the rows; stop at the first mismatch (see module docstring).

    ``public_key`` (raw 32 bytes) is the configured signing key's when omitted.
    """
    db = using or router.db_for_read(EventRecord)
    key = public_key if public_key is not None else public_key_bytes()
    pruned = set(PrunedEntry.objects.using(db).values_list("index", flat=True))
    checkpoints = list(SignedCheckpoint.objects.using(db).order_by("size"))
    report: dict[str, Any] = {
        "entries": 0,
        "checkpoints": len(checkpoints),
        "pruned": len(pruned),
        "unsealed_requests": SealRequest.objects.using(db).count(),
    }
    for row in checkpoints:
        try:
            checkpoint_verify(checkpoint_of(row), key)
        except ProofError as exc:
            return VerifyReport(**report, problem=str(exc))
    waiting = iter(checkpoints)
    next_checkpoint = next(waiting, None)
    frontier = _Frontier()
    for chunk in _entries(db):
        problem = _check_chunk(chunk, pruned, frontier.size, db)
        if problem is not None:
            return VerifyReport(**report, problem=problem)
        stored = dict(
            LogNode.objects.using(db)
            .filter(level=0, index__gte=chunk[0].index, index__lte=chunk[-1].index)
            .values_list("index", "hash")
        )
        for entry in chunk:
            leaf = leaf_hash(leaf_data(entry.kind, entry.key, entry.content_hash))
            if bytes(stored.get(entry.index, b"")) != leaf:
                return VerifyReport(
                    **report,
                    problem=(
                        f"Log entry {entry.index} ({entry.kind} {entry.key}) is not the leaf "
                        "sealed at that position: the log was reordered or rewritten."
                    ),
                )
            frontier.push(leaf)
            report["entries"] += 1
            while next_checkpoint is not None and next_checkpoint.size == frontier.size:
                if bytes(next_checkpoint.root) != frontier.root():
                    return VerifyReport(
                        **report,
                        problem=(
                            f"The checkpoint of size {next_checkpoint.size} does not match the "
                            f"log's root at that size: entries up to {frontier.size - 1} changed."
                        ),
                    )
                next_checkpoint = next(waiting, None)
    if next_checkpoint is not None:
        return VerifyReport(
            **report,
            problem=(
                f"The checkpoint of size {next_checkpoint.size} covers more entries than the "
                f"log holds ({frontier.size}): entries were deleted from the log."
            ),
        )
    return VerifyReport(**report, problem=_mirror_problem(db))


def _mirror_problem(db: str) -> str | None:
    """The first Decision whose outcome is not where its (sealed) transitions lead, or the
    first event whose ``approval_status`` mirror is not its approval Decision's outcome."""
    last_step: dict[uuid.UUID, str] = {}
    transitions = (
        DecisionTransition.objects.using(db)
        .order_by("decision_id", "at", "id")
        .values_list("decision_id", "to_outcome")
    )
    for decision_id, to_outcome in transitions.iterator(chunk_size=_CHUNK):
        last_step[decision_id] = to_outcome
    content_type = ContentType.objects.db_manager(db).get_for_model(EventRecord)
    decisions = (
        Decision.all_objects.using(db)
        .order_by("target_id", "effective_at", "id")
        .values_list("pk", "target_content_type_id", "target_id", "outcome")
    )
    outcomes: dict[uuid.UUID, str] = {}
    for pk, target_type, target_id, outcome in decisions.iterator(chunk_size=_CHUNK):
        if pk in last_step and last_step[pk] != outcome:
            return (
                f"decision {pk} is {outcome!r} but its transitions end at {last_step[pk]!r}: "
                "its outcome was changed."
            )
        if target_type != content_type.pk:
            continue
        try:
            outcomes[uuid.UUID(target_id)] = outcome
        except ValueError:
            continue
    ids = list(outcomes)
    for start in range(0, len(ids), _CHUNK):
        rows = (
            EventRecord.objects.using(db)
            .filter(pk__in=ids[start : start + _CHUNK], requires_approval=True)
            .order_by("pk")
            .values_list("pk", "approval_status")
        )
        for pk, status in rows:
            if status != outcomes[pk]:
                return (
                    f"event {pk} shows approval {status!r} but its decision's outcome is "
                    f"{outcomes[pk]!r}: the approval mirror was changed."
                )
    return None


@dataclass(frozen=True)
class EventProof:
    """An inclusion proof of one event in the log, against the latest checkpoint."""

    event_id: str
    index: int
    content_hash: str
    proof: list[bytes]
    checkpoint: Checkpoint

    @property
    def leaf(self) -> bytes:
        """The leaf hash the proof starts from."""
        return leaf_hash(leaf_data(SealKind.EVENT.value, self.event_id, self.content_hash))

    def to_dict(self) -> dict[str, Any]:
        """JSON form: hex hashes, the checkpoint as ``Checkpoint.to_dict``."""
        return {
            "event_id": self.event_id,
            "kind": SealKind.EVENT.value,
            "leaf_index": self.index,
            "content_hash": self.content_hash,
            "proof": [h.hex() for h in self.proof],
            "checkpoint": self.checkpoint.to_dict(),
        }


def event_proof(
    event_id: str | uuid.UUID, *, size: int | None = None, using: str | None = None
) -> EventProof | None:
    """The inclusion proof of an event against the latest checkpoint (or the one of ``size``).

    None when the event is not sealed yet (or not within that checkpoint), or
    no checkpoint has that size. Reads O(log² n) nodes in one query.
    """
    db = using or router.db_for_read(EventRecord)
    key = str(event_id)
    entry = LogEntry.objects.using(db).filter(kind=SealKind.EVENT.value, key=key).first()
    checkpoints = SignedCheckpoint.objects.using(db)
    if size is not None:
        checkpoints = checkpoints.filter(size=size)
    latest = checkpoints.order_by("-size").first()
    if entry is None or latest is None or entry.index >= latest.size:
        return None
    wanted: set[tuple[int, int]] = set()

    def collect(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return b"\x00" * 32

    inclusion_path(entry.index, latest.size, collect)
    nodes = _nodes(wanted, db)
    proof = inclusion_path(entry.index, latest.size, lambda level, index: nodes[(level, index)])
    return EventProof(
        event_id=key,
        index=entry.index,
        content_hash=entry.content_hash,
        proof=proof,
        checkpoint=checkpoint_of(latest),
    )


def _nodes(wanted: set[tuple[int, int]], db: str) -> dict[tuple[int, int], bytes]:
    if not wanted:
        return {}
    condition = Q()
    for level, index in wanted:
        condition |= Q(level=level, index=index)
    return {
        (level, index): bytes(h)
        for level, index, h in LogNode.objects.using(db)
        .filter(condition)
        .values_list("level", "index", "hash")
    }


def checkpoints_export(*, using: str | None = None, after_size: int = 0) -> list[dict[str, Any]]:
    """Every stored checkpoint larger than ``after_size``, oldest first, in JSON form."""
    db = using or router.db_for_read(EventRecord)
    rows = SignedCheckpoint.objects.using(db).filter(size__gt=after_size).order_by("size")
    return [checkpoint_of(row).to_dict() for row in rows]
