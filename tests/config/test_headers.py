"""Security headers: the Content-Security-Policy everywhere, no caching of trace data (issue 20)."""

from __future__ import annotations

import uuid

import pytest
from csp.constants import NONE, SELF
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import override_settings
from django.urls import reverse

from config.content_security import ContentSecurityPolicyMiddleware
from decisioning.models import Decision
from tests.traces.factories import EventRecordFactory, TrackedObjectRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    event = EventRecordFactory(requires_approval=True, approval_status="pending")
    TrackedObjectRecordFactory(event=event, object_id="ord-1")
    decision = Decision.objects.create(target=event, decision_type="refund_approval")
    return event, decision


def _trace_pages(event, decision) -> list[tuple[str, dict[str, str]]]:
    pages = [
        reverse("home"),
        reverse("traces:timeline"),
        reverse("traces:timeline") + "?since=bad",  # a 400 carries trace data's form too
        reverse("traces:event_detail", args=[event.pk]),
        reverse("traces:object_history", args=["order", "ord-1"]),
        reverse("traces:actor_detail", args=[event.actor.actor_type, event.actor.actor_id]),
        reverse("traces:decision_list"),
        reverse("traces:review_queue"),
        reverse("traces:decision_detail", args=[decision.pk]),
    ]
    return [(url, {}) for url in pages] + [(url, {"HX-Request": "true"}) for url in pages]


def test_trace_pages_and_partials_are_never_stored(admin_client, rows):
    """Every page and partial showing trace data: ``Cache-Control: private, no-store``."""
    for url, headers in _trace_pages(*rows):
        response = admin_client.get(url, headers=headers)
        assert response.status_code in (200, 400), url
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives, url


def test_review_answer_is_never_stored(admin_client, rows):
    """The review POST's answer shows the decision again: not stored either."""
    _, decision = rows
    response = admin_client.post(
        reverse("traces:decision_review", args=[decision.pk]),
        {"action": "approve", "request_token": uuid.uuid4().hex},
        headers={"HX-Request": "true", "HX-Target": "decision-review"},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    "url", ["/", "/traces/", "/accounts/login/", "/admin/", "/admin/login/", "/healthz"]
)
def test_every_response_carries_the_content_security_policy(admin_client, url):
    """Only the app's own scripts and styles; no inline code, no framing, no plugins."""
    response = admin_client.get(url)
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert "unsafe" not in response["Content-Security-Policy"]


def test_htmx_is_served_as_a_static_file_of_the_app(admin_client):
    """htmx needs no nonce: ``{% htmx_script %}`` links the app's own static file."""
    html = admin_client.get("/").content.decode()
    assert '<script src="/static/django-htmx/htmx' in html or 'src="/static/django_htmx/' in html
    assert "<script>" not in html
    assert "style=" not in html
    assert '"includeIndicatorStyles": false' in html


def test_the_policy_is_django_csps_own_text(client):
    """Built once by django-csp's build_policy, the same text on a page and an API answer."""
    expected = build_policy()
    assert client.get("/accounts/login/")["Content-Security-Policy"] == expected
    assert client.get("/api/v1/events")["Content-Security-Policy"] == expected
    assert "Content-Security-Policy-Report-Only" not in client.get("/accounts/login/")


def _directives(text: str) -> dict[str, str]:
    """A policy's directives (django-csp writes them in no fixed order)."""
    return dict(part.strip().split(" ", 1) for part in text.split(";"))


def test_a_changed_setting_changes_the_header(client):
    """override_settings (or any setting_changed) builds the text again; report-only too,
    and a policy's EXCLUDE_URL_PREFIXES leaves those paths without it."""
    policy = {"DIRECTIVES": {"default-src": [NONE], "frame-ancestors": [NONE]}}
    report = {
        "DIRECTIVES": {"default-src": [SELF], "report-uri": ["/csp-report"]},
        "EXCLUDE_URL_PREFIXES": ["/api/"],
    }
    with override_settings(
        CONTENT_SECURITY_POLICY=policy, CONTENT_SECURITY_POLICY_REPORT_ONLY=report
    ):
        page = client.get("/accounts/login/")
        api = client.get("/api/v1/events")
    strict = {"default-src": "'none'", "frame-ancestors": "'none'"}
    assert _directives(page["Content-Security-Policy"]) == strict
    assert _directives(page["Content-Security-Policy-Report-Only"]) == {
        "default-src": "'self'",
        "report-uri": "/csp-report",
    }
    assert _directives(api["Content-Security-Policy"]) == strict
    assert "Content-Security-Policy-Report-Only" not in api
    assert client.get("/accounts/login/")["Content-Security-Policy"] == build_policy()


def test_a_header_set_by_the_view_is_kept_and_debug_error_pages_have_none(rf):
    """A response with its own policy keeps it; with DEBUG on, Django's 404 and 500 pages
    (inline styles and scripts) get none, and with DEBUG off they get the policy."""
    own = HttpResponse()
    own["Content-Security-Policy"] = "default-src 'none'"
    middleware = ContentSecurityPolicyMiddleware(lambda request: own)
    assert middleware(rf.get("/"))["Content-Security-Policy"] == "default-src 'none'"
    for status in (404, 500):
        answer = HttpResponse(status=status)
        middleware = ContentSecurityPolicyMiddleware(lambda request, a=answer: a)
        with override_settings(DEBUG=True):
            assert "Content-Security-Policy" not in middleware(rf.get("/"))
        assert middleware(rf.get("/"))["Content-Security-Policy"] == build_policy()
        del answer["Content-Security-Policy"]
