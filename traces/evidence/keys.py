"""The Ed25519 key that signs checkpoints.

``TRACES_EVIDENCE_SIGNING_KEY`` (a PEM text, e.g. from the environment) wins;
otherwise the PKCS #8 PEM file ``TRACES_EVIDENCE_SIGNING_KEY_FILE`` (default
``var/evidence-signing-key.pem``, git-ignored). ``manage.py evidence_keygen``
creates that file on first run (mode 0600) and never overwrites one.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "MISSING_KEY",
    "key_file",
    "key_file_create",
    "public_key_bytes",
    "signing_key",
]

MISSING_KEY = (
    "No checkpoint signing key: set TRACES_EVIDENCE_SIGNING_KEY (a PEM text) or run "
    "'manage.py evidence_keygen' to create {path}."
)


def key_file() -> Path:
    """``TRACES_EVIDENCE_SIGNING_KEY_FILE``; by default ``var/evidence-signing-key.pem``."""
    configured = getattr(settings, "TRACES_EVIDENCE_SIGNING_KEY_FILE", None)
    if configured:
        return Path(configured)
    return Path(settings.BASE_DIR) / "var" / "evidence-signing-key.pem"


def _load(pem: bytes, origin: str) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{origin} is not an unencrypted PEM private key.") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{origin} is not an Ed25519 key.")
    return key


def signing_key() -> Ed25519PrivateKey:
    """The configured private key.

    Raises:
        ImproperlyConfigured: there is none, or it is not an Ed25519 PEM key.
    """
    text = getattr(settings, "TRACES_EVIDENCE_SIGNING_KEY", "")
    if text:
        return _load(str(text).encode(), "TRACES_EVIDENCE_SIGNING_KEY")
    path = key_file()
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise ImproperlyConfigured(MISSING_KEY.format(path=path)) from None
    return _load(pem, str(path))


def public_key_bytes(key: Ed25519PrivateKey | None = None) -> bytes:
    """The raw 32-byte public key of ``key`` (the configured one when omitted)."""
    return (key or signing_key()).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_file_create(path: Path | None = None) -> bool:
    """Create a new key file (mode 0600) unless one exists; True when one was created."""
    target = path or key_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return True
