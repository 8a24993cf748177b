"""Fixtures for the API tests: tokens, an HTTP client bound to one, event payloads."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from traces import Actor, DecisionTrace, RiskLevel, TraceEvent
from traces.api.models import Scope
from traces.api.tokens import service_token_create, token_cache_clear

ALL_SCOPES = [scope.value for scope in Scope]
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class ApiClient:
    """Django's test client speaking JSON with a bearer token (or none)."""

    def __init__(self, client: Client, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        merged = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        merged.update(headers or {})
        return merged

    def get(self, path: str, data: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.get(path, data, headers=self._headers(headers))

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:

        content = raw if raw is not None else json.dumps(body)
        return self.client.post(
            path, content, content_type="application/json", headers=self._headers(headers)
        )

    def delete(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.delete(path, headers=self._headers(headers))


def grant(user: Any, *codenames: str) -> None:
    for codename in codenames:
        app_label, _, name = codename.partition(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=name)
        )


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> None:
    """No test sees tokens another test authenticated (rolled-back rows keep no entry)."""
    token_cache_clear()


@pytest.fixture
def token_for(db) -> Callable[..., str]:
    """``token_for(user, scopes)`` -> the text of a new token."""

    def make(user: Any, scopes: list[str] | None = None, **kwargs: Any) -> str:
        return service_token_create(
            owner=user, name="test", scopes=scopes or ALL_SCOPES, **kwargs
        ).text

    return make


@pytest.fixture
def root(make_user) -> Any:
    return make_user("superuser")


@pytest.fixture
def api(client: Client, root: Any, token_for: Callable[..., str]) -> ApiClient:
    """A client with an all-scopes token of a superuser."""
    return ApiClient(client, token_for(root))


@pytest.fixture
def api_as(client: Client, token_for: Callable[..., str]) -> Callable[..., ApiClient]:
    def make(user: Any, scopes: list[str] | None = None) -> ApiClient:
        return ApiClient(client, token_for(user, scopes))

    return make


def event_payload(**changes: Any) -> dict[str, Any]:
    """A valid ``TraceEvent.to_dict()`` payload; keyword arguments replace fields of ``data``."""
    event = TraceEvent(
        id=str(uuid.uuid4()),
        timestamp=changes.pop("timestamp", T0),
        event_type=changes.pop("event_type", "order.created"),
        description="Order placed",
        actor=Actor.ai_agent("pricing-ai", "Pricing AI", model="m1"),
        tags=("checkout",),
        correlation_id="flow-1",
    )
    payload = event.to_dict()
    payload["data"].update(changes)
    return payload


def approval_payload(**changes: Any) -> dict[str, Any]:
    payload = event_payload(**changes)
    payload["data"]["decision"] = DecisionTrace(
        reasoning="Big refund", requires_approval=True, risk_level=RiskLevel.HIGH
    ).to_dict()
    return payload


def later(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    """Rate-limit counters live in the cache, which outlives a test's database."""
    from django.core.cache import cache

    cache.clear()
