"""Storage of the evidence layer: corrections, the sealing outbox, the Merkle log, checkpoints.

Append-only (triggers, ``decisioning.appendonly``, migration 0006):
``EventCorrection``, ``LogEntry``, ``LogNode``, ``SignedCheckpoint`` and
``PrunedEntry``. Mutable on purpose: ``SealRequest`` (an outbox: rows are
deleted once sealed) and ``LogHead`` (one row, the lock sealers take and the
log's size; ``verify_traces`` recomputes it).
"""

from __future__ import annotations

from django.db import models

__all__ = [
    "EventCorrection",
    "LogEntry",
    "LogHead",
    "LogNode",
    "PrunedEntry",
    "SealKind",
    "SealRequest",
    "SignedCheckpoint",
]


class SealKind(models.TextChoices):
    """What a log leaf stands for."""

    EVENT = "event", "event"
    CORRECTION = "correction", "correction"
    TRANSITION = "transition", "decision transition"


class EventCorrection(models.Model):
    """A later version of an event's text or data; the event's row itself never changes.

    ``changes`` holds the corrected fields' new values (``description``,
    ``reasoning``, ``alternatives``, ``rejection_reasons``, ``data``). Version
    1 is the event as recorded; its n-th correction is version n + 1.
    """

    event = models.ForeignKey(
        "traces.EventRecord",
        on_delete=models.PROTECT,
        related_name="corrections",
        db_index=False,
        help_text="The corrected event.",
    )
    version = models.PositiveIntegerField(help_text="2 for the first correction, then 3, ...")
    recorded_at = models.DateTimeField(editable=False, help_text="When it was recorded.")
    corrected_by = models.CharField(max_length=255, help_text="Who corrected it.")
    reason = models.TextField(help_text="Why it was corrected.")
    changes = models.JSONField(help_text="The corrected fields with their new values.")

    class Meta:
        verbose_name = "event correction"
        ordering = ["event", "version"]
        constraints = [
            models.UniqueConstraint(fields=["event", "version"], name="correction_version_unique"),
            models.CheckConstraint(condition=models.Q(version__gte=2), name="correction_version_2"),
        ]

    def __str__(self) -> str:
        return f"version {self.version} of {self.event_id}"


class SealRequest(models.Model):
    """Outbox: rows committed by one transaction that the sealer has not logged yet."""

    kind = models.CharField(max_length=12, choices=SealKind.choices, help_text="Row kind.")
    keys = models.JSONField(help_text="The rows' primary keys, as text.")

    class Meta:
        verbose_name = "seal request"

    def __str__(self) -> str:
        return f"{len(self.keys)} {self.kind} rows to seal"


class LogHead(models.Model):
    """The one row sealers lock; ``size`` is the number of leaves logged."""

    size = models.PositiveBigIntegerField(default=0, help_text="Leaves in the log.")

    class Meta:
        verbose_name = "log head"

    def __str__(self) -> str:
        return f"log of {self.size} leaves"


class LogEntry(models.Model):
    """Leaf ``index`` of the Merkle log: one recorded row and its content hash."""

    index = models.PositiveBigIntegerField(primary_key=True, help_text="Position in the log.")
    kind = models.CharField(max_length=12, choices=SealKind.choices, help_text="Row kind.")
    key = models.CharField(max_length=64, help_text="The row's primary key, as text.")
    recorded_at = models.DateTimeField(help_text="The row's recorded_at (or time of action).")
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of its canonical form.")
    sealed_at = models.DateTimeField(help_text="When it was appended.")

    class Meta:
        verbose_name = "log entry"
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="log_entry_row_unique"),
        ]

    def __str__(self) -> str:
        return f"leaf {self.index}: {self.kind} {self.key}"


class LogNode(models.Model):
    """A complete subtree's hash: leaves ``[index * 2**level, (index + 1) * 2**level)``."""

    level = models.PositiveSmallIntegerField(help_text="0 for a leaf.")
    index = models.PositiveBigIntegerField(help_text="Position among the nodes of its level.")
    hash = models.BinaryField(max_length=32, help_text="SHA-256.")

    class Meta:
        verbose_name = "log node"
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="log_node_unique"),
        ]

    def __str__(self) -> str:
        return f"node {self.level}/{self.index}"


class SignedCheckpoint(models.Model):
    """The log's size and root at a time, signed with Ed25519."""

    size = models.PositiveBigIntegerField(unique=True, help_text="Leaves covered.")
    root = models.BinaryField(max_length=32, help_text="The Merkle root at that size.")
    signed_at = models.DateTimeField(help_text="When it was signed.")
    key_id = models.CharField(max_length=16, help_text="Which key signed it.")
    signature = models.BinaryField(max_length=64, help_text="Ed25519 signature.")

    class Meta:
        verbose_name = "signed checkpoint"
        ordering = ["size"]

    def __str__(self) -> str:
        return f"checkpoint of {self.size} leaves"


class PrunedEntry(models.Model):
    """A log entry whose row retention deleted: its leaf stays, its row is gone on purpose."""

    index = models.PositiveBigIntegerField(primary_key=True, help_text="The leaf's position.")
    pruned_at = models.DateTimeField(help_text="When the row was deleted.")
    reason = models.TextField(help_text="Why (the retention rule).")

    class Meta:
        verbose_name = "pruned entry"
        ordering = ["index"]

    def __str__(self) -> str:
        return f"leaf {self.index} pruned"
