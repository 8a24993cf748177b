"""Webhook endpoints in the admin: the secret shown once, unsafe URLs refused, resend."""

from __future__ import annotations

import pytest

from traces.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "/admin/traces_webhooks/webhookendpoint/add/"


def _form(**changes):
    form = {
        "name": "Pricing bot",
        "url": "https://hooks.example.com/decisions",
        "events": ["decision.approved", "decision.rejected"],
        "event_types": '["pricing.*"]',
        "active": "on",
        "deliveries-TOTAL_FORMS": "0",
        "deliveries-INITIAL_FORMS": "0",
    }
    form.update(changes)
    return form


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("superuser"))
    return client


def test_secret_is_shown_once(staff_client):
    response = staff_client.post(URL, _form(), follow=True)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    page = staff_client.get(f"/admin/traces_webhooks/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret not in page.content.decode()


@pytest.mark.parametrize(
    "changes",
    [
        {"url": "http://127.0.0.1/hook"},
        {"url": "http://169.254.169.254/latest"},
        {"url": "ftp://example.com/x"},
        {"url": "http://localhost:8000/"},
        {"url": "https://user:pw@example.com/"},
        {"url": "https://example.com/" + "a" * 3000},
        {"url": "https://exa\x00mple.com/"},
        {"events": ["decision.exploded"]},
        {"events": []},
        {"event_types": '"pricing.*"'},
        {"event_types": "[1, 2]"},
        {"event_types": "{not json"},
        {"event_types": '["\\u0000"]'},
        {"event_types": "9" * 5000},
        {"name": ""},
    ],
)
def test_bad_endpoints_are_refused(staff_client, changes):
    """Unsafe, wrong and hostile input: a form error (or the hostile-input 400), nothing saved."""
    response = staff_client.post(URL, _form(**changes))
    assert response.status_code in (200, 400)
    assert WebhookEndpoint.objects.count() == 0


def test_resend_action_queues_again(staff_client, settings):
    endpoint = WebhookEndpoint.objects.create(name="x", url="https://hooks.example.com/")
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="decision.approved",
        body="{}",
        status="failed",
        created_at="2026-01-01T00:00:00+00:00",
    )
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    response = staff_client.post(
        "/admin/traces_webhooks/webhookdelivery/",
        {"action": "resend", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "pending"
