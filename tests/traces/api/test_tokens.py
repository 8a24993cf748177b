"""Service tokens: stored as a hash, created and revoked by command and admin."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from traces.api.models import ServiceToken
from traces.api.tokens import (
    TOKEN_PREFIX,
    TokenError,
    hash_token,
    service_token_authenticate,
    service_token_create,
)

pytestmark = pytest.mark.django_db


def test_create_stores_only_a_hash_and_a_prefix(root):
    """The text has 32 random bytes; the row keeps its SHA-256 and visible prefix only."""
    created = service_token_create(owner=root, name="checkout", scopes=["events:write"])
    text = created.text
    assert text.startswith(f"{TOKEN_PREFIX}{created.token.prefix}_")
    assert len(text.removeprefix(f"{TOKEN_PREFIX}{created.token.prefix}_")) >= 43
    row = ServiceToken.objects.get()
    assert row.token_hash == hash_token(text)
    assert text not in str(ServiceToken.objects.values().get())
    assert service_token_authenticate(text) == row
    assert service_token_authenticate(text[:-1] + "x") is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scopes": []},
        {"scopes": ["events:delete"]},
        {"name": " "},
        {"name": "x" * 101},
        {"expires_at": timezone.now() - timedelta(seconds=1)},
        {"rate_limit": 0},
    ],
)
def test_create_refuses_bad_arguments(root, kwargs):
    """Unknown or no scopes, blank names, past expiry, zero rate: TokenError, nothing stored."""
    arguments = {"owner": root, "name": "n", "scopes": ["events:read"], **kwargs}
    with pytest.raises(TokenError):
        service_token_create(**arguments)
    assert not ServiceToken.objects.exists()


def test_command_create_list_revoke(root):
    """``api_token create`` prints the token once; list shows prefixes; revoke refuses it."""
    out, err = StringIO(), StringIO()
    call_command(
        "api_token",
        "create",
        "--owner",
        root.username,
        "--name",
        "wh",
        "--scope",
        "events:read",
        "--scope",
        "events:write",
        stdout=out,
        stderr=err,
    )
    text = out.getvalue().strip()
    token = ServiceToken.objects.get()
    assert token.token_hash == hash_token(text)
    assert token.scopes == ["events:read", "events:write"]
    listing = StringIO()
    call_command("api_token", "list", stdout=listing)
    assert token.prefix in listing.getvalue()
    assert text not in listing.getvalue()
    call_command("api_token", "revoke", token.prefix, stdout=StringIO())
    assert service_token_authenticate(text) is None
    with pytest.raises(CommandError, match="already revoked"):
        call_command("api_token", "revoke", token.prefix)
    with pytest.raises(CommandError, match="No token"):
        call_command("api_token", "revoke", "nope")
    with pytest.raises(CommandError, match="No user"):
        call_command(
            "api_token", "create", "--owner", "ghost", "--name", "x", "--scope", "events:read"
        )


def test_admin_creates_shows_once_and_revokes(root):
    """The admin creates a token (shown once in a message) and revokes with an action."""
    browser = Client()
    browser.force_login(root)
    response = browser.post(
        "/admin/traces_api/servicetoken/add/",
        {"name": "admin-made", "owner": root.pk, "scopes": ["events:read"]},
        follow=True,
    )
    assert response.status_code == 200
    token = ServiceToken.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any(TOKEN_PREFIX + token.prefix in message for message in shown)
    assert browser.get("/admin/traces_api/servicetoken/").status_code == 200
    browser.post(
        "/admin/traces_api/servicetoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.parametrize(
    "fields",
    [
        {"expires_at_0": "2000-01-01", "expires_at_1": "00:00:00"},
        {"rate_limit": "0"},
        {"scopes": []},
    ],
)
def test_admin_refuses_bad_tokens_with_the_form(root, fields):
    """A past expiry, a zero rate or no scope re-renders the form; nothing is created."""
    browser = Client()
    browser.force_login(root)
    data = {"name": "bad", "owner": root.pk, "scopes": ["events:read"], **fields}
    response = browser.post("/admin/traces_api/servicetoken/add/", data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not ServiceToken.objects.exists()
