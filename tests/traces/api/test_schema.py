"""Schemathesis against the generated OpenAPI schema, over a real server on a real port.

Bounded (a few examples per operation) so the suite stays fast: no 5xx for
any generated input, and every response matches the schema (status code,
content type, body).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from traces.api.api import api
from traces.api.models import Scope
from traces.api.tokens import service_token_create

schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def bearer(transactional_db, django_user_model) -> dict[str, str]:
    owner = django_user_model.objects.create_superuser("fuzz", "fuzz@example.com", "pw-fuzz-1")
    token = service_token_create(owner=owner, name="fuzz", scopes=[s.value for s in Scope])
    return {"Authorization": f"Bearer {token.text}"}


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_never_5xx_and_conform(case, live_server, bearer):
    """Any generated request: a documented status and body, never a server error."""
    case.call_and_validate(base_url=live_server.url, headers=bearer, checks=CHECKS)


def test_schema_is_served_and_lists_every_endpoint(client):
    """``/api/v1/openapi.json`` is public and names every path of the contract."""
    paths = set(client.get("/api/v1/openapi.json").json()["paths"])
    assert paths == {
        "/api/v1/events",
        "/api/v1/events/{event_id}",
        "/api/v1/events/{event_id}/chain",
        "/api/v1/events/{event_id}/feedback",
        "/api/v1/events/{event_id}/proof",
        "/api/v1/objects/{object_type}/{object_id}/history",
        "/api/v1/actors/{actor_type}/{actor_id}",
        "/api/v1/search",
        "/api/v1/stats",
        "/api/v1/decisions",
        "/api/v1/decisions/{decision_id}",
        "/api/v1/decisions/{decision_id}/actions",
        "/api/v1/decisions/{decision_id}/claim",
        "/api/v1/otlp/v1/traces",
    }


@pytest.mark.django_db
def test_docs_are_staff_only_when_debug_is_off(client, root):
    assert client.get("/api/v1/docs").status_code == 302
    client.force_login(root)
    assert client.get("/api/v1/docs").status_code == 200
