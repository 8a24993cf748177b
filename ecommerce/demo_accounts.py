"""The demo accounts the run command prints: one per kind of user, each in its review groups."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from decisioning.permissions import ADMINS, REVIEWERS, SENIOR_ADMINS
from decisioning.services import review_groups_ensure

__all__ = ["DEMO_ACCOUNTS", "DemoAccount", "demo_accounts_ensure"]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    is_superuser: bool = False
    groups: tuple[str, ...] = ()


DEMO_ACCOUNTS = (
    DemoAccount(
        "admin",
        "admin-demo-pass",
        "admin: decides pending and escalated decisions",
        is_superuser=True,
        groups=(ADMINS, SENIOR_ADMINS),
    ),
    DemoAccount(
        "reviewer", "reviewer-demo-pass", "reviewer: browses timelines", groups=(REVIEWERS,)
    ),
    DemoAccount("operator", "operator-demo-pass", "operator: filters traces", groups=(REVIEWERS,)),
)


@transaction.atomic
def demo_accounts_ensure() -> list[DemoAccount]:
    """Create the demo accounts that are missing; returns the ones created.

    Makes sure the review groups exist (``review_groups_ensure()``) and that
    every demo account, new or existing, is in its groups: ``admin`` (a
    superuser) in Admins and Senior admins, ``reviewer`` and ``operator`` in
    Reviewers (view only). An existing account's password is left alone.
    """
    groups = review_groups_ensure()
    user_model = get_user_model()
    created = []
    for account in DEMO_ACCOUNTS:
        user = user_model.objects.filter(username=account.username).first()
        if user is None:
            user = user_model(
                username=account.username,
                is_staff=account.is_superuser,
                is_superuser=account.is_superuser,
            )
            user.set_password(account.password)
            user.save()
            created.append(account)
        user.groups.add(*(groups[name] for name in account.groups))
    return created
