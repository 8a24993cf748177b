"""Who is calling: a bearer service token or a signed-in session; scopes and permissions.

``api_auth`` is the ninja auth callable of every endpoint. It gives an
``ApiPrincipal``: the user whose permissions apply, and the scopes the caller
holds (a session holds every scope; its user's permissions still bound it).
``require`` refuses a principal that lacks a scope (403 ``missing_scope``) or
the permission behind it (403 ``permission_denied``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.utils import check_csrf

from decisioning.permissions import REVIEW_PERMISSIONS
from traces.api.conf import get_rate_limit
from traces.api.errors import ApiError
from traces.api.models import Scope, ServiceToken
from traces.api.tokens import service_token_authenticate
from traces.selectors import can_view_decisions

__all__ = ["ApiAuth", "ApiPrincipal", "require"]

BEARER_CHALLENGE = 'Bearer realm="api"'
ADD_EVENT = "traces.add_eventrecord"
ALL_SCOPES = frozenset(scope.value for scope in Scope)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class ApiPrincipal:
    """The caller: its user, the scopes it holds and its token (None for a session)."""

    user: User
    scopes: frozenset[str]
    token: ServiceToken | None = None

    @property
    def owner_key(self) -> str:
        return f"user:{self.user.pk}"


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": BEARER_CHALLENGE})


def _scope_permitted(user: User | AnonymousUser, scope: str) -> bool:
    if not user.is_active:
        return False
    if scope == Scope.EVENTS_READ:
        return True
    if scope == Scope.EVENTS_WRITE:
        return user.has_perm(ADD_EVENT)
    if scope == Scope.DECISIONS_READ:
        return can_view_decisions(user)
    return any(user.has_perm(permission) for permission in REVIEW_PERMISSIONS)


def require(request: HttpRequest, scope: Scope) -> ApiPrincipal:
    """The request's principal if it holds ``scope`` and the permission behind it; else 403."""
    principal: ApiPrincipal = request.auth  # type: ignore[attr-defined]
    if scope.value not in principal.scopes:
        raise ApiError(403, "missing_scope", f"This token lacks the scope {scope.value!r}.")
    if not _scope_permitted(principal.user, scope):
        raise ApiError(
            403,
            "permission_denied",
            f"The token's owner has no permission for {scope.value!r}.",
        )
    return principal


def _rate_limit(token: ServiceToken) -> None:
    limit = token.rate_limit or get_rate_limit()
    window = int(time.time() // 60)
    key = f"traces_api:rate:{token.prefix}:{window}"
    cache.add(key, 0, timeout=70)
    try:
        count = cache.incr(key)
    except ValueError:
        # Evicted between add and incr: count this request as the window's first.
        cache.set(key, 1, timeout=70)
        count = 1
    if count > limit:
        retry_after = 60 - int(time.time()) % 60
        raise ApiError(
            429,
            "rate_limited",
            f"At most {limit} requests per minute with this token; retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


class ApiAuth(HttpBearer):
    """``Authorization: Bearer <token>``, else a signed-in session (CSRF checked on writes)."""

    def __call__(self, request: HttpRequest) -> ApiPrincipal | None:
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _, text = header.partition(" ")
            if scheme.lower() != "bearer" or not text.strip():
                raise unauthorized("The Authorization header must be 'Bearer <token>'.")
            return self.authenticate(request, text.strip())
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            raise unauthorized("Send Authorization: Bearer <token>, or sign in.")
        if request.method in UNSAFE_METHODS and check_csrf(request) is not None:
            raise ApiError(403, "csrf_failed", "CSRF check failed: send the X-CSRFToken header.")
        return ApiPrincipal(user=user, scopes=ALL_SCOPES)

    def authenticate(self, request: HttpRequest, token: str) -> ApiPrincipal:
        """The principal of a bearer token; 401 when it is unknown, expired or revoked."""
        found = service_token_authenticate(token)
        if found is None:
            # Never echo the token: it may be a real one sent to the wrong place.
            raise unauthorized("The token is unknown, expired or revoked.")
        _rate_limit(found)
        return ApiPrincipal(user=found.owner, scopes=frozenset(found.scopes), token=found)
