"""Evidence that can be trusted: append-only rows, corrections as versions, a Merkle log.

- ``traces.evidence.retention``: ``retention_delete``, the one sanctioned way
  to delete recorded rows (the append-only triggers refuse every other);
- ``traces.evidence.corrections``: corrections as versions, and the current
  version of an event as known at a time;
- ``traces.evidence.sealing``: the after-commit worker task appending new rows
  to the Merkle log and signing checkpoints (``traces.evidence.tasks``);
- ``traces.evidence.verification``: ``verify_traces`` and inclusion proofs;
- ``decision_trace.evidence``: the tree and proof arithmetic, no Django import;
- ``traces.evidence.keys``: the Ed25519 signing key.

See docs/evidence.md.
"""

from __future__ import annotations
