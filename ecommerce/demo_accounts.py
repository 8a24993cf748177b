"""The demo accounts the run command prints: one per kind of user, each in its review groups."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from decisioning.permissions import ADMINS, REVIEWERS, SENIOR_ADMINS
from decisioning.review import review_groups_ensure

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
        # get_or_create: a concurrent run that creates the account first wins,
        # this one then reads it (no IntegrityError).
        user, was_created = user_model.objects.get_or_create(
            username=account.username,
            defaults={
                "password": make_password(account.password),
                "is_staff": account.is_superuser,
                "is_superuser": account.is_superuser,
            },
        )
        if was_created:
            created.append(account)
        user.groups.add(*(groups[name] for name in account.groups))
    return created
