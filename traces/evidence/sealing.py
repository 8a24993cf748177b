"""Sealing: after commit, new rows are appended to the Merkle log and a checkpoint is signed.

Ingest never waits on the log. A write transaction adds one ``SealRequest``
row per kind (the outbox: the keys of the rows it recorded) and, through
``transaction.on_commit``, asks for the ``seal_traces`` task
(``traces.evidence.tasks``) at most once per second per process, to run a
second later, so a burst of commits is sealed in one batch.

:func:`seal_pending` is what the task runs. It locks ``LogHead`` (sealers
wait for each other, writers never wait for a sealer), takes the outbox rows
in order, hashes the rows they name (``traces.evidence.rows``), appends them
to the log in recorded order (recorded time, then kind, then key), stores
the new leaf and inner nodes, deletes the outbox rows and signs a checkpoint
of the new size, all in one transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import router, transaction
from django.utils import timezone

from decision_trace.evidence import (
    checkpoint_message,
    key_id,
    leaf_data,
    leaf_hash,
    node_hash,
    root_from_subtrees,
    subtrees,
)
from traces.bulk import RowBatch
from traces.evidence.keys import public_key_bytes, signing_key
from traces.evidence.models import (
    LogEntry,
    LogHead,
    LogNode,
    SealKind,
    SealRequest,
    SignedCheckpoint,
)
from traces.evidence.rows import row_contents, row_keys_present
from traces.models import EventRecord

__all__ = ["SealResult", "seal_pending", "seal_request"]

_KIND_ORDER = {SealKind.EVENT.value: 0, SealKind.CORRECTION.value: 1, SealKind.TRANSITION.value: 2}
# About how many rows one sealing transaction appends.
_KEYS_PER_BATCH = 5_000
# A process asks for the task at most this often and the task runs this long after
# (``TRACES_EVIDENCE_SEAL_DELAY``, seconds; 0 asks after every commit, for tests).
_DEBOUNCE_SECONDS = 1.0

_last_enqueued = 0.0
_enqueue_lock = threading.Lock()


@dataclass(frozen=True)
class SealResult:
    """What one :func:`seal_pending` call appended."""

    appended: int
    size: int


def _enqueue() -> None:
    global _last_enqueued
    delay = float(getattr(settings, "TRACES_EVIDENCE_SEAL_DELAY", _DEBOUNCE_SECONDS))
    with _enqueue_lock:
        now = time.monotonic()
        if delay and now - _last_enqueued < delay:
            return
        _last_enqueued = now
    # The task module imports this one.
    from traces.evidence.tasks import seal_traces_enqueue

    seal_traces_enqueue(delay=delay)


def seal_request(*, kind: SealKind, keys: Iterable[object], using: str) -> None:
    """In a write transaction: note rows to seal, and ask for the sealer after commit."""
    # Keys as the primary keys print: TraceEvent ids are canonical already.
    wanted = [str(key) for key in keys]
    if not wanted:
        return
    # One plain INSERT (traces.bulk), not Model.objects.create(): this runs in every
    # write transaction, and the ORM's per-instance overhead showed in record()'s speed.
    batch = RowBatch(SealRequest, using=using, with_pk=False)
    batch.add({"kind": kind.value, "keys": wanted})
    batch.insert()
    transaction.on_commit(_enqueue, using=using)


def _frontier(size: int, using: str) -> dict[tuple[int, int], bytes]:
    """The stored nodes a new leaf after ``size`` leaves may combine with."""
    wanted = subtrees(size)
    if not wanted:
        return {}
    query = LogNode.objects.using(using).none()
    for level, index in wanted:
        query = query | LogNode.objects.using(using).filter(level=level, index=index)
    return {
        (level, index): bytes(h) for level, index, h in query.values_list("level", "index", "hash")
    }


def _take(db: str, max_keys: int) -> list[SealRequest]:
    """The oldest outbox rows, up to about ``max_keys`` row keys (at least one row)."""
    taken: list[SealRequest] = []
    count = 0
    for request in SealRequest.objects.using(db).order_by("pk").iterator(chunk_size=100):
        taken.append(request)
        count += len(request.keys)
        if count >= max_keys:
            break
    return taken


def _hashed(requests: list[SealRequest], db: str) -> list[tuple[datetime, str, str, str]]:
    """(recorded time, kind, key, content hash) of the rows the requests name, not yet logged."""
    wanted: dict[str, list[str]] = {}
    for request in requests:
        wanted.setdefault(request.kind, []).extend(request.keys)
    leaves: list[tuple[datetime, str, str, str]] = []
    for kind, keys in wanted.items():
        logged = set(
            LogEntry.objects.using(db).filter(kind=kind, key__in=keys).values_list("key", flat=True)
        )
        contents = row_contents(kind, (k for k in keys if k not in logged), using=db)
        leaves.extend(
            (content.recorded_at, kind, k, content.content_hash) for k, content in contents.items()
        )
    leaves.sort(key=lambda leaf: (leaf[0], _KIND_ORDER[leaf[1]], leaf[2]))
    return leaves


def _still_there(leaves: list[tuple[datetime, str, str, str]], db: str) -> set[tuple[str, str]]:
    """The (kind, key) of these leaves whose rows exist and are not logged yet (under the lock)."""
    present: set[tuple[str, str]] = set()
    for kind in {leaf[1] for leaf in leaves}:
        keys = [leaf[2] for leaf in leaves if leaf[1] == kind]
        logged = set(
            LogEntry.objects.using(db).filter(kind=kind, key__in=keys).values_list("key", flat=True)
        )
        present |= {(kind, k) for k in row_keys_present(kind, keys, using=db) if k not in logged}
    return present


def seal_pending(*, using: str | None = None, max_keys: int = _KEYS_PER_BATCH) -> SealResult:
    """Append the rows the outbox names to the log and sign a checkpoint.

    The rows are read and hashed first, without a lock (recorded rows never
    change); then one short transaction locks ``LogHead`` (sealers and
    retention take it, writers never do), keeps the outbox rows no other
    sealer took meanwhile and the rows retention did not delete, appends
    them, deletes the outbox rows and signs. Rows already logged are skipped
    (a request seen twice appends nothing). Returns how many leaves were
    appended and the log's size.

    Raises:
        django.core.exceptions.ImproperlyConfigured: no signing key (nothing
            is written).
    """
    db = using or router.db_for_write(EventRecord)
    key = signing_key()
    requests = _take(db, max_keys)
    hashed = _hashed(requests, db)
    with transaction.atomic(using=db):
        head, _ = LogHead.objects.using(db).select_for_update().get_or_create(pk=1)
        mine = SealRequest.objects.using(db).filter(pk__in=[r.pk for r in requests])
        still_queued = {r.pk for r in requests} & set(mine.values_list("pk", flat=True))
        queued_keys = {(r.kind, k) for r in requests if r.pk in still_queued for k in r.keys}
        keep = queued_keys & _still_there(hashed, db)
        leaves = [leaf for leaf in hashed if (leaf[1], leaf[2]) in keep]
        mine.delete()
        if not leaves:
            return SealResult(appended=0, size=head.size)
        now = timezone.now()
        size = head.size
        nodes = _frontier(size, db)
        new_nodes: list[LogNode] = []
        entries = []
        for offset, (recorded_at, kind, row_key, digest) in enumerate(leaves):
            index = size + offset
            entries.append(
                LogEntry(
                    index=index,
                    kind=kind,
                    key=row_key,
                    recorded_at=recorded_at,
                    content_hash=digest,
                    sealed_at=now,
                )
            )
            level, position = 0, index
            current = leaf_hash(leaf_data(kind, row_key, digest))
            while True:
                nodes[(level, position)] = current
                new_nodes.append(LogNode(level=level, index=position, hash=current))
                if position % 2 == 0:
                    break
                current = node_hash(nodes[(level, position - 1)], current)
                level, position = level + 1, position // 2
        LogEntry.objects.using(db).bulk_create(entries, batch_size=500)
        LogNode.objects.using(db).bulk_create(new_nodes, batch_size=500)
        size += len(leaves)
        root = root_from_subtrees([nodes[node] for node in subtrees(size)])
        signature = key.sign(checkpoint_message(size, root, now))
        SignedCheckpoint.objects.using(db).create(
            size=size,
            root=root,
            signed_at=now,
            key_id=key_id(public_key_bytes(key)),
            signature=signature,
        )
        LogHead.objects.using(db).filter(pk=1).update(size=size)
        return SealResult(appended=len(leaves), size=size)
