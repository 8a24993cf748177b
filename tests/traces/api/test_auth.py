"""Who may call what: tokens, sessions, scopes x permissions, rate limit."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.traces.api.conftest import ALL_SCOPES, ApiClient, approval_payload, event_payload, grant
from traces.api.conf import get_token_cache_seconds
from traces.api.models import ServiceToken
from traces.api.tokens import hash_token, service_token_revoke

pytestmark = pytest.mark.django_db

EVENT_ID = str(uuid.uuid4())
# (method, path, scope needed); every endpoint of the contract.
ENDPOINTS = [
    ("post", "/api/v1/events", "events:write"),
    ("get", "/api/v1/events", "events:read"),
    ("get", f"/api/v1/events/{EVENT_ID}", "events:read"),
    ("get", f"/api/v1/events/{EVENT_ID}/chain", "events:read"),
    ("get", "/api/v1/objects/order/o-1/history", "events:read"),
    ("get", "/api/v1/actors/user/u-1", "events:read"),
    ("get", "/api/v1/search?q=x", "events:read"),
    ("get", "/api/v1/stats", "events:read"),
    ("get", "/api/v1/decisions", "decisions:read"),
    ("get", "/api/v1/decisions/DECISION", "decisions:read"),
    ("post", "/api/v1/decisions/DECISION/actions", "decisions:decide"),
]
# Roles and the scopes their permissions allow.
ROLE_SCOPES = {
    "nobody": {"events:read"},
    "writer": {"events:read", "events:write"},
    "reviewer": {"events:read", "decisions:read"},
    "admin": {"events:read", "decisions:read", "decisions:decide"},
    "superuser": set(ALL_SCOPES),
}


@pytest.fixture
def decision_id(api) -> str:
    payload = approval_payload()
    payload["id"] = EVENT_ID
    return api.post("/api/v1/events", payload).json()["decision_id"]


def _user(make_user: Any, role: str) -> Any:
    if role == "writer":
        user = make_user("nobody")
        grant(user, "traces.add_eventrecord")
        return user
    return make_user(role, username=f"{role}-x") if role == "superuser" else make_user(role)


def _call(api: ApiClient, method: str, path: str, decision_id: str) -> Any:
    path = path.replace("DECISION", decision_id)
    if method == "get":
        return api.get(path)
    body = {"action": "defer"} if path.endswith("/actions") else event_payload()
    return api.post(path, body)


MATRIX = [
    (role, scope, endpoint)
    for role in ROLE_SCOPES
    for scope in ALL_SCOPES
    for endpoint in ENDPOINTS
]


@pytest.mark.parametrize(("role", "scope", "endpoint"), MATRIX)
def test_scope_and_permission_matrix(
    client, make_user, token_for, decision_id, role, scope, endpoint
):
    """Allowed only with the endpoint's scope AND the owner's permission; else 403, never 401."""
    method, path, needed = endpoint
    api = ApiClient(client, token_for(_user(make_user, role), [scope]))
    response = _call(api, method, path, decision_id)
    if scope != needed:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "missing_scope"
    elif needed not in ROLE_SCOPES[role]:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    else:
        assert response.status_code in {200, 201, 404}, response.content


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer dt_00000000_unknown", "Basic dXNlcjpwYXNz", "Bearer \u00e9\u00e9"],
)
def test_missing_or_wrong_token_is_401_with_challenge(client, decision_id, endpoint, authorization):
    """Missing, malformed or unknown tokens: 401 with WWW-Authenticate, token never echoed."""
    method, path, _ = endpoint
    api = ApiClient(client, None)
    headers = {"Authorization": authorization} if authorization else {}
    path = path.replace("DECISION", decision_id)
    response = (
        api.get(path, headers=headers) if method == "get" else api.post(path, {}, headers=headers)
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"
    assert b'unknown"' not in response.content
    assert b"dt_0000" not in response.content


@pytest.mark.parametrize("state", ["expired", "revoked", "inactive owner"])
def test_expired_revoked_or_inactive_is_401(client, root, token_for, state):
    text = token_for(root)
    token = ServiceToken.objects.get(token_hash=hash_token(text))
    if state == "expired":
        ServiceToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    elif state == "revoked":
        assert service_token_revoke(token=token)
        assert not service_token_revoke(token=token)
    else:
        root.is_active = False
        root.save()
    response = ApiClient(client, text).get("/api/v1/events")
    assert response.status_code == 401


def test_token_records_last_used_at_once_a_minute(
    client, root, token_for, django_assert_num_queries
):
    text = token_for(root)
    api = ApiClient(client, text)
    api.get("/api/v1/stats")
    first = ServiceToken.objects.get().last_used_at
    assert first is not None
    api.get("/api/v1/stats")
    assert ServiceToken.objects.get().last_used_at == first


def test_session_reads_and_writes_with_csrf(root, review_groups):
    """A signed-in session works; a write without the CSRF token is 403, with it 201."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(root)
    assert browser.get("/api/v1/events").status_code == 200
    refused = browser.post("/api/v1/events", event_payload(), content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    browser.get("/accounts/login/")
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(
        "/api/v1/events",
        event_payload(),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 201


def test_session_of_user_without_permission_is_403(make_user, review_groups):
    nobody = make_user("nobody")
    browser = Client()
    browser.force_login(nobody)
    assert browser.get("/api/v1/decisions").status_code == 403


def test_rate_limit_answers_429_with_retry_after(client, root, token_for):
    """Past the token's requests per minute: 429 with Retry-After."""
    api = ApiClient(client, token_for(root, rate_limit=3))
    statuses = [api.get("/api/v1/stats").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get("/api/v1/stats")
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_tokens_of_different_owners_have_separate_limits(client, root, make_user, token_for):
    first = ApiClient(client, token_for(root, rate_limit=1))
    second = ApiClient(client, token_for(make_user("nobody"), rate_limit=1))
    assert first.get("/api/v1/stats").status_code == 200
    assert second.get("/api/v1/stats").status_code == 200
    assert first.get("/api/v1/stats").status_code == 429


def test_token_expiry_in_the_future_still_works(client, root, token_for):
    text = token_for(root, expires_at=timezone.now() + timedelta(days=1))
    assert ApiClient(client, text).get("/api/v1/stats").status_code == 200


def _revoke(token: ServiceToken) -> None:
    assert service_token_revoke(token=token)


def _revoke_in_admin(token: ServiceToken) -> None:
    token.revoked_at = timezone.now()
    token.save()


def _expire_in_admin(token: ServiceToken) -> None:
    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save()


def _deactivate_owner(token: ServiceToken) -> None:
    token.owner.is_active = False
    token.owner.save()


def _delete_token(token: ServiceToken) -> None:
    token.delete()


def _delete_owner(token: ServiceToken) -> None:
    token.owner.delete()


@pytest.mark.parametrize(
    "change",
    [_revoke, _revoke_in_admin, _expire_in_admin, _deactivate_owner, _delete_token, _delete_owner],
)
def test_token_changed_in_this_process_is_refused_at_once(client, make_user, token_for, change):
    """A token cached by an earlier request: a change made in this process applies to the next."""
    owner = make_user("superuser")
    text = token_for(owner)
    api = ApiClient(client, text)
    assert api.get("/api/v1/stats").status_code == 200
    change(ServiceToken.objects.select_related("owner").get(token_hash=hash_token(text)))
    response = api.get("/api/v1/stats")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_token_expiring_while_cached_is_refused_at_once(client, root, token_for):
    text = token_for(root, expires_at=timezone.now() + timedelta(seconds=1))
    api = ApiClient(client, text)
    assert api.get("/api/v1/stats").status_code == 200
    time.sleep(1.1)
    assert api.get("/api/v1/stats").status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        {"revoked_at": timezone.now()},
        {"expires_at": timezone.now() - timedelta(seconds=1)},
        "owner inactive",
    ],
)
def test_change_from_another_process_applies_within_the_cache_time(
    client, root, token_for, settings, change
):
    """A write this process did not make (a queryset update sends no signal, as another
    process's write) is seen when the entry ends: TRACES_API_TOKEN_CACHE_SECONDS."""
    settings.TRACES_API_TOKEN_CACHE_SECONDS = 0.5
    text = token_for(root)
    api = ApiClient(client, text)
    assert api.get("/api/v1/stats").status_code == 200
    started = time.monotonic()
    if change == "owner inactive":
        User.objects.filter(pk=root.pk).update(is_active=False)
    else:
        ServiceToken.objects.filter(token_hash=hash_token(text)).update(**change)
    statuses = []
    while time.monotonic() - started < 0.7:
        statuses.append(api.get("/api/v1/stats").status_code)
        time.sleep(0.05)
    assert statuses[0] == 200
    assert statuses[-1] == 401
    assert set(statuses) == {200, 401}
    assert statuses == sorted(statuses)


def test_cache_time_zero_reads_the_row_on_every_request(client, root, token_for, settings):
    settings.TRACES_API_TOKEN_CACHE_SECONDS = 0
    text = token_for(root)
    api = ApiClient(client, text)
    assert api.get("/api/v1/stats").status_code == 200
    ServiceToken.objects.filter(token_hash=hash_token(text)).update(revoked_at=timezone.now())
    assert api.get("/api/v1/stats").status_code == 401


def test_cached_token_reads_no_token_or_owner_row(client, root, token_for):
    api = ApiClient(client, token_for(root))
    assert api.get("/api/v1/stats").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/stats").status_code == 200
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert "traces_api_servicetoken" not in tables
    assert "auth_user" not in tables.replace("auth_user_", "")


def test_permission_taken_from_a_cached_token_owner_applies_at_once(
    client, make_user, token_for, review_groups
):
    """Only the token and owner rows are cached: permissions are read on every request."""
    writer = make_user("nobody")
    grant(writer, "traces.add_eventrecord")
    api = ApiClient(client, token_for(writer, ["events:write"]))
    assert api.post("/api/v1/events", event_payload()).status_code == 201
    writer.user_permissions.clear()
    refused = api.post("/api/v1/events", event_payload())
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("value", [-1, 61, "5", True, None, float("nan")])
def test_token_cache_seconds_must_be_a_number_from_0_to_60(settings, value):
    settings.TRACES_API_TOKEN_CACHE_SECONDS = value
    with pytest.raises(ImproperlyConfigured, match="TRACES_API_TOKEN_CACHE_SECONDS"):
        get_token_cache_seconds()


def test_a_refused_token_is_not_cached(client, root, token_for):
    """Only a token that passed every check is kept: a refused row is read again next time."""
    text = token_for(root)
    rows = ServiceToken.objects.filter(token_hash=hash_token(text))
    rows.update(revoked_at=timezone.now())
    api = ApiClient(client, text)
    assert api.get("/api/v1/stats").status_code == 401
    rows.update(revoked_at=None)
    assert api.get("/api/v1/stats").status_code == 200
