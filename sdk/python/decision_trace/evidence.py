"""Checking a Decision Trace server's evidence offline: Merkle proofs and signed checkpoints.

The layout is RFC 6962 / RFC 9162's (certificate transparency): SHA-256, a
leaf hashed as ``H(0x00 || data)``, an inner node as ``H(0x01 || left ||
right)``, and a tree of n leaves split at the largest power of two below n.
A leaf's data is ``"<kind>:<key>:<content hash>"`` (:func:`leaf_data`), so a
leaf commits to one recorded row's content.

A **checkpoint** is the tree's size and root at a time, signed with Ed25519.
:func:`checkpoint_verify` and :func:`inclusion_verify` are what a client
needs to check, offline, that a row is in the log a checkpoint it kept
commits to, with a public key they got from the server's operator. The
server (``traces.evidence``) builds its log with the same functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "CHECKPOINT_ORIGIN",
    "Checkpoint",
    "ProofError",
    "canonical_bytes",
    "checkpoint_message",
    "checkpoint_verify",
    "content_hash",
    "event_proof_verify",
    "inclusion_path",
    "inclusion_verify",
    "key_id",
    "leaf_data",
    "leaf_hash",
    "node_hash",
    "root_from_subtrees",
    "subtree_hash",
    "subtrees",
]

CHECKPOINT_ORIGIN = "decision-trace checkpoint v1"

NodeGetter = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof or a checkpoint does not verify; the message says which part failed."""


def _default(value: object) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"naive datetime {value!r} has no canonical form")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no canonical form")


def canonical_bytes(value: object) -> bytes:
    """JSON with sorted keys, no spaces, UTF-8; datetimes as UTC ``...%fZ``, UUIDs as text."""
    return json.dumps(
        value, default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8", "surrogatepass")


def content_hash(value: object) -> str:
    """Hex SHA-256 of :func:`canonical_bytes`."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def leaf_data(kind: str, key: str, digest: str) -> bytes:
    """What a leaf of the log holds: the row's kind, its key and its content hash."""
    return f"{kind}:{key}:{digest}".encode()


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 inner node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def subtrees(size: int) -> list[tuple[int, int]]:
    """The complete subtrees a tree of ``size`` leaves is made of, left to right, as (level, index).

    A subtree (level, index) covers the leaves ``[index * 2**level, (index + 1) * 2**level)``.
    """
    result = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            result.append((level, start >> level))
            start += 1 << level
    return result


def root_from_subtrees(hashes: list[bytes]) -> bytes:
    """The root from the complete subtrees' hashes (left to right); the empty tree's is H("")."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def subtree_hash(start: int, end: int, node: NodeGetter) -> bytes:
    """MTH of the leaves ``[start, end)``, from stored complete nodes (``node(level, index)``)."""
    size = end - start
    if size & (size - 1) == 0 and start % size == 0:
        return node(size.bit_length() - 1, start // size)
    k = _split(size)
    return node_hash(subtree_hash(start, start + k, node), subtree_hash(start + k, end, node))


def _path_ranges(index: int, start: int, end: int) -> list[tuple[int, int]]:
    size = end - start
    if size == 1:
        return []
    k = _split(size)
    if index < start + k:
        return [*_path_ranges(index, start, start + k), (start + k, end)]
    return [*_path_ranges(index, start + k, end), (start, start + k)]


def inclusion_path(index: int, size: int, node: NodeGetter) -> list[bytes]:
    """RFC 6962 ``PATH(index, D[size])``: the audit path of leaf ``index``, bottom up."""
    if not 0 <= index < size:
        raise ProofError(f"Leaf {index} is not in a tree of {size} leaves.")
    return [subtree_hash(start, end, node) for start, end in _path_ranges(index, 0, size)]


def inclusion_verify(
    *, index: int, size: int, leaf: bytes, proof: Iterable[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf hash) is leaf ``index`` of the tree of ``size`` with ``root``.

    RFC 9162 section 2.1.3.2. Raises :class:`ProofError` when it is not.
    """
    if not 0 <= index < size:
        raise ProofError(f"Leaf {index} is not in a tree of {size} leaves.")
    fn, sn = index, size - 1
    result = leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("The proof is longer than the tree is deep.")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("The proof is shorter than the tree is deep.")
    if result != root:
        raise ProofError("The proof does not lead to the checkpoint's root.")


def key_id(public_key: bytes) -> str:
    """A short name for an Ed25519 public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the log had ``size`` leaves with ``root`` at ``signed_at``."""

    size: int
    root: bytes
    signed_at: datetime
    key_id: str
    signature: bytes

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``root`` and ``signature`` in hex, ``signed_at`` ISO 8601)."""
        return {
            "size": self.size,
            "root": self.root.hex(),
            "signed_at": self.signed_at.isoformat(),
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        """Read :meth:`to_dict`'s form; raises :class:`ProofError` for anything else."""
        try:
            signed_at = datetime.fromisoformat(str(data["signed_at"]))
            checkpoint = cls(
                size=int(data["size"]),
                root=bytes.fromhex(str(data["root"])),
                signed_at=signed_at,
                key_id=str(data["key_id"]),
                signature=bytes.fromhex(str(data["signature"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProofError(f"Not a checkpoint: {exc}") from None
        if signed_at.tzinfo is None or checkpoint.size < 0 or len(checkpoint.root) != 32:
            raise ProofError("Not a checkpoint: size, root or time out of range.")
        return checkpoint


def checkpoint_message(size: int, root: bytes, signed_at: datetime) -> bytes:
    """The bytes a checkpoint's signature covers."""
    when = signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{CHECKPOINT_ORIGIN}\n{size}\n{root.hex()}\n{when}\n".encode()


def checkpoint_verify(checkpoint: Checkpoint, public_key: bytes) -> None:
    """Check the checkpoint's Ed25519 signature with ``public_key`` (32 raw bytes).

    Raises:
        ProofError: the key is not the one that signed it, or the signature
            does not match the size, root and time.
    """
    if checkpoint.key_id != key_id(public_key):
        raise ProofError(
            f"The checkpoint of size {checkpoint.size} was signed by key {checkpoint.key_id}, "
            f"not by {key_id(public_key)}."
        )
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            checkpoint.signature,
            checkpoint_message(checkpoint.size, checkpoint.root, checkpoint.signed_at),
        )
    except (InvalidSignature, ValueError):
        raise ProofError(
            f"The signature of the checkpoint of size {checkpoint.size} does not verify."
        ) from None


def event_proof_verify(
    proof: Mapping[str, Any], public_key: bytes, *, kept: Checkpoint | None = None
) -> Checkpoint:
    """Check an event's inclusion proof (the server's ``/events/{id}/proof`` answer) offline.

    The proof's checkpoint must be signed by ``public_key``; with ``kept`` (a
    checkpoint saved earlier, e.g. from ``export_checkpoints``) it must also
    be that very checkpoint (ask the server for the proof at its size).
    Returns the checkpoint the event is proven against.

    Raises:
        ProofError: anything does not verify; the message says what.
    """
    try:
        checkpoint = Checkpoint.from_dict(dict(proof["checkpoint"]))
        index = int(proof["leaf_index"])
        leaf = leaf_hash(
            leaf_data(str(proof["kind"]), str(proof["event_id"]), str(proof["content_hash"]))
        )
        path = [bytes.fromhex(str(item)) for item in proof["proof"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofError(f"Not an inclusion proof: {exc}") from None
    checkpoint_verify(checkpoint, public_key)
    if kept is not None and (kept.size, kept.root) != (checkpoint.size, checkpoint.root):
        raise ProofError(
            f"The proof is against the checkpoint of size {checkpoint.size}, not the one kept "
            f"(size {kept.size}): ask for the proof at size {kept.size}."
        )
    inclusion_verify(index=index, size=checkpoint.size, leaf=leaf, proof=path, root=checkpoint.root)
    return checkpoint
