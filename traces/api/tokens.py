"""Writes and the lookup for service tokens: create, revoke, authenticate.

A token is ``dt_<prefix>_<secret>``: ``prefix`` is 8 random hex digits kept
in clear to recognise the token, ``secret`` is 32 random bytes (URL-safe
base64). Only the SHA-256 of the whole text is stored; a token of that
entropy needs no slow hash. Lookups go by the hash's unique index, so the
comparison is the database's equality on a digest, never on the secret.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from traces.api.models import Scope, ServiceToken

__all__ = [
    "LAST_USED_RESOLUTION",
    "TOKEN_PREFIX",
    "CreatedToken",
    "TokenError",
    "hash_token",
    "service_token_authenticate",
    "service_token_check",
    "service_token_create",
    "service_token_revoke",
]

TOKEN_PREFIX = "dt_"
SECRET_BYTES = 32
# last_used_at is written at most once a minute per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_MAX_TOKEN_LENGTH = 200


class TokenError(ValueError):
    """A token cannot be created as asked; the message says what to pass."""


@dataclass(frozen=True)
class CreatedToken:
    """A new token: the row, and the token text, which is shown this once."""

    token: ServiceToken
    text: str


def hash_token(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    allowed = {scope.value for scope in Scope}
    chosen = list(dict.fromkeys(scopes))
    unknown = [scope for scope in chosen if scope not in allowed]
    if unknown or not chosen:
        raise TokenError(
            f"scopes must be one or more of {', '.join(sorted(allowed))}; got {chosen!r}."
        )
    return sorted(chosen)


def service_token_check(
    *,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
    rate_limit: int | None = None,
    now: datetime | None = None,
) -> None:
    """Raise ``TokenError`` saying what to change if these cannot make a token."""
    name = name.strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise TokenError("name must be 1 to 100 characters without NUL.")
    _clean_scopes(scopes)
    if expires_at is not None and (
        timezone.is_naive(expires_at) or expires_at <= (now or timezone.now())
    ):
        raise TokenError("expires_at must be an aware time in the future.")
    if rate_limit is not None and rate_limit < 1:
        raise TokenError("rate_limit must be at least 1 request per minute.")


@transaction.atomic
def service_token_create(
    *,
    owner: User,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
    rate_limit: int | None = None,
    now: datetime | None = None,
) -> CreatedToken:
    """Create a token for ``owner``; the text is in the result and nowhere else.

    Raises:
        TokenError: an unknown scope, no scope, a blank or long name, an
            expiry in the past or a naive one, or a rate limit below 1.
    """
    now = now or timezone.now()
    name = name.strip()
    scopes = list(scopes)
    service_token_check(
        name=name, scopes=scopes, expires_at=expires_at, rate_limit=rate_limit, now=now
    )
    prefix = secrets.token_hex(4)
    text = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    token = ServiceToken(
        name=name,
        prefix=prefix,
        token_hash=hash_token(text),
        owner=owner,
        scopes=_clean_scopes(scopes),
        expires_at=expires_at,
        rate_limit=rate_limit,
        created_at=now,
    )
    token.full_clean()
    token.save()
    return CreatedToken(token=token, text=text)


@transaction.atomic
def service_token_revoke(*, token: ServiceToken, now: datetime | None = None) -> bool:
    """Revoke ``token``; False (and nothing written) when it already was."""
    updated = ServiceToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
    return updated == 1


def service_token_authenticate(text: str, *, now: datetime | None = None) -> ServiceToken | None:
    """The active token with this text (owner joined), or None.

    Unknown, revoked and expired tokens, and an inactive owner, are all None.
    Records ``last_used_at`` at most once per ``LAST_USED_RESOLUTION``.
    """
    if not text.startswith(TOKEN_PREFIX) or len(text) > _MAX_TOKEN_LENGTH:
        return None
    now = now or timezone.now()
    try:
        # get(), not first(): the hash is unique, and no ORDER BY to build on every request.
        token = ServiceToken.objects.select_related("owner").get(token_hash=hash_token(text))
    except ServiceToken.DoesNotExist:
        return None
    if not token.is_active(now) or not token.owner.is_active:
        return None
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        ServiceToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
