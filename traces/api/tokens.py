"""Writes and the lookup for service tokens: create, revoke, authenticate.

A token is ``dt_<prefix>_<secret>``: ``prefix`` is 8 random hex digits kept
in clear to recognise the token, ``secret`` is 32 random bytes (URL-safe
base64). Only the SHA-256 of the whole text is stored; a token of that
entropy needs no slow hash. Lookups go by the hash's unique index, so the
comparison is the database's equality on a digest, never on the secret.

Each process keeps the tokens it authenticated, by hash, for at most
``TRACES_API_TOKEN_CACHE_SECONDS`` (``get_token_cache_seconds``): a request
within that time reads no token or owner row. Expiry is checked against the
clock on every request. A revocation, and any save or delete of a token or a
user, empties the cache of the process that made it at once (the receivers in
``traces.api.apps``); another process sees the change when its entry ends, so
within the setting. Permissions are not cached: they are read per request.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from traces.api.conf import get_token_cache_seconds
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
    "token_cache_clear",
]

TOKEN_PREFIX = "dt_"
SECRET_BYTES = 32
# last_used_at is written at most once a minute per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_MAX_TOKEN_LENGTH = 200
# Authenticated tokens by hash: (monotonic end of the entry, token with its owner).
# Bounded: emptied when full. The cached objects are never handed out, only copies.
_CACHE: dict[str, tuple[float, ServiceToken]] = {}
_CACHE_LIMIT = 1_000


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


def token_cache_clear(*args: object, **kwargs: object) -> None:
    """Forget every cached token of this process: the next requests read their rows.

    Takes and ignores a signal's arguments: it is the receiver of token and user saves.
    """
    _CACHE.clear()


@transaction.atomic
def service_token_revoke(*, token: ServiceToken, now: datetime | None = None) -> bool:
    """Revoke ``token``; False (and nothing written) when it already was.

    Refused at once in this process; in others within ``get_token_cache_seconds()``.
    """
    updated = ServiceToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
    token_cache_clear()
    # Again after the commit: a request between the two may have cached the old row.
    transaction.on_commit(token_cache_clear)
    return updated == 1


def _cached(token_hash: str) -> ServiceToken | None:
    """A copy of the cached token with a copy of its owner (no permission caches), or None."""
    entry = _CACHE.get(token_hash)
    if entry is None:
        return None
    ends, cached = entry
    if ends <= time.monotonic():
        del _CACHE[token_hash]
        return None
    token = copy.copy(cached)
    token.owner = copy.copy(cached.owner)
    return token


def _cache(token: ServiceToken) -> None:
    seconds = get_token_cache_seconds()
    if not seconds:
        return
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    stored = copy.copy(token)
    stored.owner = copy.copy(token.owner)
    _CACHE[token.token_hash] = (time.monotonic() + seconds, stored)


def service_token_authenticate(text: str, *, now: datetime | None = None) -> ServiceToken | None:
    """The active token with this text (owner joined), or None.

    Unknown, revoked and expired tokens, and an inactive owner, are all None.
    Records ``last_used_at`` at most once per ``LAST_USED_RESOLUTION``.
    """
    if not text.startswith(TOKEN_PREFIX) or len(text) > _MAX_TOKEN_LENGTH:
        return None
    now = now or timezone.now()
    token_hash = hash_token(text)
    token = _cached(token_hash)
    cached = token is not None
    if token is None:
        try:
            # get(), not first(): the hash is unique, and no ORDER BY to build.
            token = ServiceToken.objects.select_related("owner").get(token_hash=token_hash)
        except ServiceToken.DoesNotExist:
            return None
    if not token.is_active(now) or not token.owner.is_active:
        return None
    if not cached:
        _cache(token)
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        ServiceToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        entry = _CACHE.get(token_hash)
        if entry is not None:
            entry[1].last_used_at = now
    return token
