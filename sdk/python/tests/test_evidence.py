"""The Merkle arithmetic against RFC 6962's definitions; proofs and checkpoint signatures."""

from __future__ import annotations

import ast
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from decision_trace import evidence as merkle
from decision_trace.evidence import (
    Checkpoint,
    ProofError,
    canonical_bytes,
    checkpoint_message,
    checkpoint_verify,
    inclusion_path,
    inclusion_verify,
    key_id,
    leaf_hash,
    node_hash,
    root_from_subtrees,
    subtrees,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
GOOD = {"size": 1, "root": "00" * 32, "signed_at": T0.isoformat(), "key_id": "k", "signature": ""}


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, written out recursively."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"leaf {i}".encode()) for i in range(n)]


def _getter(leaves: list[bytes]):
    def node(level: int, index: int) -> bytes:
        size = 1 << level
        return _mth(leaves[index * size : (index + 1) * size])

    return node


def _public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _checkpoint(key: Ed25519PrivateKey, size: int = 5, root: bytes = b"\x07" * 32) -> Checkpoint:
    return Checkpoint(
        size=size,
        root=root,
        signed_at=T0,
        key_id=key_id(_public(key)),
        signature=key.sign(checkpoint_message(size, root, T0)),
    )


def test_leaf_and_node_hashes_use_the_rfc_prefixes():
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 31, 33])
def test_root_from_subtrees_is_the_rfc_root(size):
    """The complete subtrees of a size fold into the same root as the recursive definition."""
    leaves = _leaves(size)
    node = _getter(leaves)
    assert root_from_subtrees([node(*s) for s in subtrees(size)]) == _mth(leaves)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 6, 7, 8, 11, 16, 17])
def test_every_leaf_has_a_verifying_inclusion_proof(size):
    leaves = _leaves(size)
    root = _mth(leaves)
    for index in range(size):
        proof = inclusion_path(index, size, _getter(leaves))
        inclusion_verify(index=index, size=size, leaf=leaves[index], proof=proof, root=root)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"index": 4}, "does not lead"),
        ({"index": 9}, "not in a tree"),
        ({"index": -1}, "not in a tree"),
        ({"size": 17}, "shorter"),
        ({"leaf": b"\x00" * 32}, "does not lead"),
        ({"proof": []}, "shorter"),
        ({"proof": [b"\x00" * 32] * 9}, "longer"),
        ({"root": b"\x00" * 32}, "does not lead"),
    ],
)
def test_a_wrong_proof_is_refused(change, message):
    leaves = _leaves(9)
    arguments = {
        "index": 3,
        "size": 9,
        "leaf": leaves[3],
        "proof": inclusion_path(3, 9, _getter(leaves)),
        "root": _mth(leaves),
    }
    with pytest.raises(ProofError, match=message):
        inclusion_verify(**{**arguments, **change})


def test_checkpoint_signature_verifies_with_its_key():
    key = Ed25519PrivateKey.generate()
    checkpoint = _checkpoint(key)
    checkpoint_verify(checkpoint, _public(key))
    assert Checkpoint.from_dict(checkpoint.to_dict()) == checkpoint


def test_checkpoint_signed_by_another_key_is_refused():
    ours, theirs = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with pytest.raises(ProofError, match="signed by key"):
        checkpoint_verify(_checkpoint(theirs), _public(ours))
    # Claiming our key id does not help a signature made with another key.
    forged = Checkpoint(**{**_checkpoint(theirs).__dict__, "key_id": key_id(_public(ours))})
    with pytest.raises(ProofError, match="does not verify"):
        checkpoint_verify(forged, _public(ours))


@pytest.mark.parametrize("field", ["size", "root", "signed_at"], ids=["size", "root", "time"])
def test_checkpoint_with_a_changed_statement_is_refused(field):
    key = Ed25519PrivateKey.generate()
    good = _checkpoint(key)
    changed = {"size": 6, "root": b"\x08" * 32, "signed_at": T0 + timedelta(seconds=1)}[field]
    with pytest.raises(ProofError, match="does not verify"):
        checkpoint_verify(Checkpoint(**{**good.__dict__, field: changed}), _public(key))


@pytest.mark.parametrize(
    "data",
    [
        {},
        {**GOOD, "size": "x"},
        {**GOOD, "root": "zz"},
        {**GOOD, "root": "00" * 31},
        {**GOOD, "size": -1},
        {**GOOD, "signed_at": "2026-01-01T00:00"},
        {**GOOD, "signed_at": "\x00"},
    ],
    ids=["empty", "size", "root-hex", "root-short", "negative", "naive-time", "nul"],
)
def test_checkpoint_from_hostile_dict_is_refused(data):
    with pytest.raises(ProofError, match="Not a checkpoint"):
        Checkpoint.from_dict(data)


def test_canonical_bytes_are_stable_and_utc():
    """Key order, spacing and the time zone of an aware datetime do not change the bytes."""
    local = T0.astimezone(timezone(timedelta(hours=-7)))
    assert canonical_bytes({"b": 1, "a": [T0, "é"]}) == canonical_bytes({"a": [local, "é"], "b": 1})
    assert canonical_bytes({"a": T0}) == b'{"a":"2026-01-02T03:04:05.678901Z"}'
    with pytest.raises(TypeError, match="naive"):
        canonical_bytes(datetime(2026, 1, 1))  # noqa: DTZ001


def test_module_imports_no_project_code():
    """Plain Python and cryptography: no Django, no server app (conftest refuses Django too)."""
    tree = ast.parse(Path(merkle.__file__).read_text())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add((node.module or "").split(".")[0])
    assert modules.isdisjoint({"django", "traces", "decisioning", "ecommerce"})


def _proof_dict(key: Ed25519PrivateKey, size: int = 9, index: int = 3) -> dict[str, object]:
    data = [merkle.leaf_data("event", f"id-{i}", f"{i:064x}") for i in range(size)]
    leaves = [leaf_hash(d) for d in data]
    root = _mth(leaves)
    return {
        "event_id": f"id-{index}",
        "kind": "event",
        "leaf_index": index,
        "content_hash": f"{index:064x}",
        "proof": [h.hex() for h in inclusion_path(index, size, _getter(leaves))],
        "checkpoint": _checkpoint(key, size=size, root=root).to_dict(),
    }


def test_event_proof_verifies_offline_against_the_kept_checkpoint():
    key = Ed25519PrivateKey.generate()
    proof = _proof_dict(key)
    kept = Checkpoint.from_dict(proof["checkpoint"])
    assert merkle.event_proof_verify(proof, _public(key), kept=kept) == kept


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"content_hash": "00" * 32}, "does not lead"),
        ({"event_id": "id-4"}, "does not lead"),
        ({"leaf_index": "x"}, "Not an inclusion proof"),
        ({"proof": ["zz"]}, "Not an inclusion proof"),
        ({"checkpoint": {}}, "Not a checkpoint"),
    ],
    ids=["changed-row", "other-event", "bad-index", "bad-hex", "no-checkpoint"],
)
def test_event_proof_that_does_not_hold_is_refused(change, message):
    key = Ed25519PrivateKey.generate()
    with pytest.raises(ProofError, match=message):
        merkle.event_proof_verify({**_proof_dict(key), **change}, _public(key))


def test_event_proof_against_another_checkpoint_or_key_is_refused():
    key = Ed25519PrivateKey.generate()
    kept = Checkpoint.from_dict(_proof_dict(key, size=8)["checkpoint"])
    with pytest.raises(ProofError, match="ask for the proof at size 8"):
        merkle.event_proof_verify(_proof_dict(key), _public(key), kept=kept)
    with pytest.raises(ProofError, match="signed by key"):
        merkle.event_proof_verify(_proof_dict(key), _public(Ed25519PrivateKey.generate()))
