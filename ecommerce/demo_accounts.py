"""The demo accounts the run command prints: one per kind of user."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

__all__ = ["DEMO_ACCOUNTS", "DemoAccount", "demo_accounts_ensure"]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    is_superuser: bool = False


DEMO_ACCOUNTS = (
    DemoAccount("admin", "admin-demo-pass", "admin: decides pending decisions", is_superuser=True),
    DemoAccount("reviewer", "reviewer-demo-pass", "reviewer: browses timelines"),
    DemoAccount("operator", "operator-demo-pass", "operator: filters traces"),
)


@transaction.atomic
def demo_accounts_ensure() -> list[DemoAccount]:
    """Create the demo accounts that are missing; returns the ones created."""
    user_model = get_user_model()
    created = []
    for account in DEMO_ACCOUNTS:
        if user_model.objects.filter(username=account.username).exists():
            continue
        user = user_model(
            username=account.username,
            is_staff=account.is_superuser,
            is_superuser=account.is_superuser,
        )
        user.set_password(account.password)
        user.save()
        created.append(account)
    return created
