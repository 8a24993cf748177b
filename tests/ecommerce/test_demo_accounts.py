"""The demo accounts printed by the run command."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

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
    user = authenticate(username=account.username, password=account.password)
    assert user is not None
    assert user.is_superuser is account.is_superuser


def test_demo_accounts_keep_existing_password():
    """An existing account is left alone (a changed password is not reset)."""
    user = get_user_model().objects.create_user("reviewer", password="changed-by-owner-1")
    demo_accounts_ensure()
    user.refresh_from_db()
    assert user.check_password("changed-by-owner-1")


def test_seed_demo_prints_logins(capsys):
    """seed_demo --if-empty prints every login with its password."""
    call_command("seed_demo", "--if-empty")
    out = capsys.readouterr().out
    for account in DEMO_ACCOUNTS:
        assert account.username in out
        assert account.password in out
