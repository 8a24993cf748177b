"""The demo accounts printed by the run command, and their review groups."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import RequestFactory

from decisioning.permissions import (
    ADMINS,
    APPROVE_DECISION,
    DECIDE_ESCALATED_DECISION,
    REVIEWERS,
    SENIOR_ADMINS,
    VIEW_DECISION,
)
from ecommerce.demo_accounts import DEMO_ACCOUNTS, demo_accounts_ensure

pytestmark = pytest.mark.django_db


def test_demo_accounts_ensure_creates_each_once():
    """The first call creates admin, reviewer and operator; the second creates nothing."""
    created = demo_accounts_ensure()
    assert [a.username for a in created] == ["admin", "reviewer", "operator"]
    assert demo_accounts_ensure() == []
    assert get_user_model().objects.count() == 3


@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=lambda a: a.username)
def test_demo_accounts_log_in_with_printed_password(account):
    """Each printed password really logs that user in."""
    demo_accounts_ensure()
    # django-axes (login throttling) needs the request the login came with.
    request = RequestFactory().post("/accounts/login/")
    user = authenticate(request, username=account.username, password=account.password)
    assert user is not None
    assert user.is_superuser is account.is_superuser


@pytest.mark.parametrize(
    ("username", "groups", "can_view", "can_decide", "can_decide_escalated"),
    [
        ("admin", {ADMINS, SENIOR_ADMINS}, True, True, True),
        ("reviewer", {REVIEWERS}, True, False, False),
        ("operator", {REVIEWERS}, True, False, False),
    ],
)
def test_demo_accounts_are_in_their_review_groups(
    username, groups, can_view, can_decide, can_decide_escalated
):
    """admin decides everything; reviewer and operator only view decisions."""
    demo_accounts_ensure()
    user = get_user_model().objects.get(username=username)
    assert set(user.groups.values_list("name", flat=True)) == groups
    assert user.has_perm(VIEW_DECISION) is can_view
    assert user.has_perm(APPROVE_DECISION) is can_decide
    assert user.has_perm(DECIDE_ESCALATED_DECISION) is can_decide_escalated


def test_demo_accounts_restore_missing_groups():
    """After a flush removed the groups, the next call brings them back with their members."""
    demo_accounts_ensure()
    Group.objects.all().delete()
    assert demo_accounts_ensure() == []
    reviewer = get_user_model().objects.get(username="reviewer")
    assert list(reviewer.groups.values_list("name", flat=True)) == [REVIEWERS]


def test_demo_accounts_keep_existing_password():
    """An existing account keeps its password, and joins its groups."""
    user = get_user_model().objects.create_user("reviewer", password="changed-by-owner-1")
    demo_accounts_ensure()
    user.refresh_from_db()
    assert user.check_password("changed-by-owner-1")
    assert list(user.groups.values_list("name", flat=True)) == [REVIEWERS]


def test_seed_demo_prints_logins(capsys):
    """seed_demo --if-empty prints every login with its password (a one-day store is enough)."""
    call_command("seed_demo", "--if-empty", "--demo-accounts", "--days", "1", "--scale", "0.05")
    out = capsys.readouterr().out
    for account in DEMO_ACCOUNTS:
        assert account.username in out
        assert account.password in out
