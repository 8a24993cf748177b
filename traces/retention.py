"""Retention: delete whole chains of old events in batches, optionally archiving them first.

A chain (a root event and everything under it) goes when its newest event is
older than the cutoff, so no child is ever left without its parent and no
chain loses part of its story. Decisions reviewed by people (an event of the
chain whose ``approval_status`` is approved, rejected, deferred or escalated)
keep their chain unless ``keep_reviewed=False``.

Each batch is one transaction of evidence's sanctioned deletion,
``traces.evidence.retention.retention_delete`` (events, objects, tags,
corrections, search entries and index, hourly counts, Decisions and their
history, inside the retention window the append-only triggers allow; sealed
rows are marked pruned in the log with the rule as the reason), so the counts
and the search index stay exact, ``verify_traces`` tells the pruning from
tampering, and the site keeps answering between batches.
``--archive`` writes each chain first, root first, one JSON object per line in
the API's event shape (``TraceEvent.to_dict()`` plus ``recorded_at`` and
``approval``), each event as its current version (corrections applied);
``TraceEvent.from_dict`` reads the lines back for re-import.

Policies per event family come from the setting ``TRACES_RETENTION``: a dict of
event type pattern (``order.*``, ``*``) to an age (``400d``, ``12h``);
``prune_traces --policies`` applies each in turn, through ``retention_run_policies``,
which a periodic task can call as it is (no arguments needed).
"""

from __future__ import annotations

import gzip
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from decision_trace.exceptions import TraceValidationError
from decisioning.models import Decision, DecisionOutcome
from traces.evidence.corrections import corrections_apply_values
from traces.evidence.retention import retention_delete
from traces.mapping import EVENT_VALUES, event_from_values
from traces.models import EventRecord
from traces.querysets import event_type_q
from traces.rows import fetch_values_in
from traces.selectors import tracked_object_values

__all__ = [
    "REVIEWED_STATUSES",
    "PruneBatch",
    "RuleRun",
    "chains_to_prune",
    "open_archive",
    "parse_age",
    "prune_chains",
    "retention_daily",
    "retention_policies",
    "retention_run",
    "retention_run_policies",
]

REVIEWED_STATUSES = tuple(
    outcome.value for outcome in DecisionOutcome if outcome is not DecisionOutcome.PENDING
)
_AGE = re.compile(r"^\s*(\d{1,6})\s*([dhw])\s*$")
_UNITS = {"d": "days", "h": "hours", "w": "weeks"}


def parse_age(text: object) -> timedelta:
    """``"400d"``, ``"12h"`` or ``"8w"`` as a timedelta; else ``TraceValidationError``."""
    match = _AGE.match(text) if isinstance(text, str) else None
    if match is None:
        raise TraceValidationError(
            f"An age is a whole number of days, hours or weeks such as 400d, 12h or 8w; "
            f"got {str(text)[:40]!r}."
        )
    age = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if age <= timedelta(0):
        raise TraceValidationError("An age must be more than zero.")
    return age


def retention_policies() -> dict[str, timedelta]:
    """``TRACES_RETENTION`` (event type pattern -> age), checked; empty when unset."""
    raw = getattr(settings, "TRACES_RETENTION", {})
    if not isinstance(raw, Mapping):
        raise TraceValidationError("TRACES_RETENTION must be a dict of event type pattern to age.")
    policies = {}
    for pattern, age in raw.items():
        if not isinstance(pattern, str) or not pattern.strip():
            raise TraceValidationError(f"TRACES_RETENTION: {pattern!r} is not a pattern.")
        policies[pattern] = parse_age(age)
    return policies


def chains_to_prune(
    cutoff: datetime,
    *,
    event_type: str | None = None,
    keep_reviewed: bool = True,
    using: str = "default",
) -> Any:
    """Roots (depth 0) whose whole chain is older than ``cutoff``, oldest first.

    ``event_type`` is matched against the root's event type: exactly, or by prefix
    with a trailing ``*`` (``order.*``), as the timeline's filter does.
    """
    chain = EventRecord.objects.using(using).filter(root_id=OuterRef("pk"))
    newer = chain.filter(effective_at__gte=cutoff)
    roots = EventRecord.objects.using(using).filter(depth=0, effective_at__lt=cutoff)
    if event_type:
        roots = roots.filter(event_type_q([event_type]))
    roots = roots.filter(~Exists(newer))
    if keep_reviewed:
        roots = roots.filter(~Exists(chain.filter(approval_status__in=REVIEWED_STATUSES)))
    return roots.order_by("effective_at", "id")


@dataclass(frozen=True)
class PruneBatch:
    """What one batch did: chains and events deleted (or that would be, on a dry run)."""

    chains: int
    events: int
    oldest: datetime | None
    newest: datetime | None


def _approvals(event_ids: list[uuid.UUID], using: str) -> dict[str, dict[str, Any]]:
    """The API's ``approval`` object of each event that has a Decision."""
    content_type = ContentType.objects.db_manager(using).get_for_model(EventRecord)
    decisions = Decision.all_objects.using(using).filter(
        target_content_type=content_type, target_id__in=[str(pk) for pk in event_ids]
    )
    approvals = {}
    for decision in decisions.select_related("decided_by"):
        approvals[decision.target_id] = {
            "decision_id": str(decision.pk),
            "status": decision.outcome,
            "decided_by": decision.decided_by.get_username() if decision.decided_by else None,
            "decided_at": decision.decided_at.isoformat() if decision.decided_at else None,
            "reason": decision.reason,
            "rule": None,
        }
    return approvals


def _archive(out: IO[str], roots: list[uuid.UUID], using: str) -> None:
    """Write every event of these chains, root first, one API-shaped JSON object per line."""
    rows = fetch_values_in(
        EventRecord,
        (*EVENT_VALUES, "recorded_at"),
        field="root_id",
        keys=roots,
        order_by=("root_id", "depth", "effective_at", "id"),
        using=using,
    )
    corrections_apply_values(rows, using=using)
    objects = tracked_object_values([row["id"] for row in rows], using=using)
    approvals = _approvals([row["id"] for row in rows], using)
    for row in rows:
        event = event_from_values(row, objects[row["id"]]).to_dict()
        event["recorded_at"] = row["recorded_at"].isoformat()
        event["approval"] = approvals.get(str(row["id"]))
        out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")


def prune_chains(
    cutoff: datetime,
    *,
    event_type: str | None = None,
    keep_reviewed: bool = True,
    batch_size: int = 500,
    dry_run: bool = False,
    archive: IO[str] | None = None,
    using: str = "default",
) -> Iterator[PruneBatch]:
    """Delete (or count, with ``dry_run``) the chains ``chains_to_prune`` selects, batch by batch.

    Each batch is ``batch_size`` chains in one ``retention_delete`` transaction,
    whose pruned log entries give the rule and cutoff as their reason; the next
    batch starts after the last root seen, so a dry run walks the same chains once.
    """
    if not 1 <= batch_size <= 10_000:
        raise TraceValidationError("batch_size must be from 1 to 10,000 chains.")
    roots = chains_to_prune(cutoff, event_type=event_type, keep_reviewed=keep_reviewed, using=using)
    reason = f"prune_traces: chains of {event_type or '*'} older than {cutoff.isoformat()}"
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        page = roots
        if after is not None:
            page = page.filter(
                Q(effective_at__gt=after[0]) | Q(effective_at=after[0], id__gt=after[1])
            )
        batch = list(page.values_list("id", "effective_at")[:batch_size])
        if not batch:
            return
        after = (batch[-1][1], batch[-1][0])
        ids = [pk for pk, _ in batch]
        if dry_run:
            events = EventRecord.objects.using(using).filter(root_id__in=ids).count()
        else:
            if archive is not None:
                _archive(archive, ids, using)
            events = retention_delete(event_ids=ids, reason=reason, using=using)
        yield PruneBatch(chains=len(ids), events=events, oldest=batch[0][1], newest=batch[-1][1])


def open_archive(path: str) -> IO[str]:
    """A gzip text file for ``--archive`` (``.jsonl.gz``), created or appended to."""
    return gzip.open(path, "at", encoding="utf-8")


@dataclass(frozen=True)
class RuleRun:
    """What one retention rule did (so far, in a progress report)."""

    pattern: str | None
    cutoff: datetime
    older: int  # events older than the cutoff before the run, of any type
    chains: int
    events: int
    seconds: float


def retention_run(
    rules: Sequence[tuple[str | None, timedelta]],
    *,
    keep_reviewed: bool = True,
    batch_size: int = 500,
    dry_run: bool = False,
    archive: IO[str] | None = None,
    now: datetime | None = None,
    using: str = "default",
    progress: Callable[[RuleRun], None] | None = None,
) -> list[RuleRun]:
    """Apply each (event type pattern or None, age) rule in turn with ``prune_chains``.

    ``progress`` is called after every batch with the rule's run so far.
    Returns one ``RuleRun`` per rule, in order.
    """
    moment = timezone.now() if now is None else now
    runs = []
    for pattern, age in rules:
        cutoff = moment - age
        older = EventRecord.objects.using(using).filter(effective_at__lt=cutoff).count()
        began = time.monotonic()
        run = RuleRun(pattern=pattern, cutoff=cutoff, older=older, chains=0, events=0, seconds=0.0)
        for batch in prune_chains(
            cutoff,
            event_type=pattern,
            keep_reviewed=keep_reviewed,
            batch_size=batch_size,
            dry_run=dry_run,
            archive=archive,
            using=using,
        ):
            run = replace(
                run,
                chains=run.chains + batch.chains,
                events=run.events + batch.events,
                seconds=time.monotonic() - began,
            )
            if progress is not None:
                progress(run)
        runs.append(replace(run, seconds=time.monotonic() - began))
    return runs


def retention_run_policies(
    *,
    keep_reviewed: bool = True,
    batch_size: int = 500,
    archive_path: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    using: str = "default",
    progress: Callable[[RuleRun], None] | None = None,
) -> list[RuleRun]:
    """Apply every ``TRACES_RETENTION`` rule (``prune_traces --policies``); none when unset.

    What a daily periodic task runs, with no arguments. ``archive_path``: a
    ``.jsonl.gz`` file every deleted chain is appended to first.

    Raises:
        TraceValidationError: the setting is malformed.
    """
    rules = list(retention_policies().items())
    if not rules:
        return []
    archive = open_archive(archive_path) if archive_path else None
    try:
        return retention_run(
            rules,
            keep_reviewed=keep_reviewed,
            batch_size=batch_size,
            dry_run=dry_run,
            archive=archive,
            now=now,
            using=using,
            progress=progress,
        )
    finally:
        if archive is not None:
            archive.close()


def retention_daily(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """The worker's daily retention run (``TRACES_PERIODIC_TASKS["traces_retention"]``).

    Every ``TRACES_RETENTION`` rule (none when the setting is empty), reviewed
    decisions kept; with ``TRACES_RETENTION_ARCHIVE_DIR`` set, every deleted
    chain is appended first to ``pruned-<local date>.jsonl.gz`` in it.

    Returns:
        One JSON object per rule (the periodic task's stored result).
    """
    now = now or timezone.now()
    directory = getattr(settings, "TRACES_RETENTION_ARCHIVE_DIR", "")
    archive = None
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        archive = str(Path(directory) / f"pruned-{timezone.localdate(now):%Y-%m-%d}.jsonl.gz")
    return [
        {
            "pattern": run.pattern,
            "cutoff": run.cutoff.isoformat(),
            "older": run.older,
            "chains": run.chains,
            "events": run.events,
            "seconds": round(run.seconds, 3),
            "archive": archive,
        }
        for run in retention_run_policies(archive_path=archive, now=now)
    ]
