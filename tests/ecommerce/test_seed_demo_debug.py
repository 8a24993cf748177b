"""seed_demo and DEBUG: the published demo accounts only locally or when asked for (issue 20)."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from ecommerce.management.commands.seed_demo import DEMO_ACCOUNTS_REFUSED
from traces.models import EventRecord

pytestmark = pytest.mark.django_db

SMALL = ("--days", "1", "--scale", "0.02", "--now", "2025-03-01T12:00:00Z")


@pytest.mark.parametrize("args", [(), ("--if-empty",), ("--reset",)])
def test_seed_demo_with_debug_off_refuses_and_writes_nothing(settings, args):
    """DEBUG off and no --demo-accounts: a clear refusal, no account and no event."""
    settings.DEBUG = False
    with pytest.raises(CommandError) as info:
        call_command("seed_demo", *args, *SMALL, stdout=io.StringIO())
    assert str(info.value) == DEMO_ACCOUNTS_REFUSED
    assert get_user_model().objects.count() == 0
    assert EventRecord.objects.count() == 0


def test_seed_demo_with_debug_off_and_the_flag_creates_the_accounts(settings):
    """--demo-accounts is the explicit opt-in for a throw-away demo site."""
    settings.DEBUG = False
    call_command("seed_demo", "--demo-accounts", *SMALL, stdout=io.StringIO())
    assert get_user_model().objects.filter(username="admin").exists()


def test_seed_demo_with_debug_on_needs_no_flag(settings):
    """make run sets DEBUG=1: it keeps working without the flag."""
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", "--if-empty", *SMALL, stdout=out)
    assert "Demo logins" in out.getvalue()
    assert get_user_model().objects.filter(username="reviewer").exists()
