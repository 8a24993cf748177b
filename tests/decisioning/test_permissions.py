"""The review permissions and groups: the declarations and migration 0004 that creates them."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from decisioning.models import Decision
from decisioning.permissions import (
    ADMINS,
    APPROVE_DECISION,
    DECIDE_ESCALATED_DECISION,
    ESCALATE_DECISION,
    REVIEW_GROUPS,
    REVIEW_PERMISSIONS,
    REVIEWERS,
    SENIOR_ADMINS,
    VIEW_DECISION,
)

MIGRATION = importlib.import_module("decisioning.migrations.0004_review_groups")
BEFORE = ("decisioning", "0003_review_workflow")
AFTER = ("decisioning", "0004_review_groups")
CODENAMES = ["view_decision", "approve_decision", "escalate_decision", "decide_escalated_decision"]


@pytest.fixture
def back_to_latest():
    """Migrate the test database forward again after a test that moved it back."""
    yield
    call_command("migrate", verbosity=0)


def _group_codenames() -> dict[str, set[str]]:
    return {
        group.name: set(group.permissions.values_list("codename", flat=True))
        for group in Group.objects.filter(name__in=list(REVIEW_GROUPS))
    }


def test_permission_names_and_groups_as_specified():
    """Three custom permissions; Reviewers view, Admins decide, Senior admins decide escalated."""
    assert dict(Decision._meta.permissions) == {
        "approve_decision": "Can approve, reject, defer or reopen decisions",
        "escalate_decision": "Can escalate decisions",
        "decide_escalated_decision": "Can approve or reject escalated decisions",
    }
    assert (VIEW_DECISION, APPROVE_DECISION, ESCALATE_DECISION, DECIDE_ESCALATED_DECISION) == (
        "decisioning.view_decision",
        "decisioning.approve_decision",
        "decisioning.escalate_decision",
        "decisioning.decide_escalated_decision",
    )
    assert set(REVIEW_PERMISSIONS) == {
        APPROVE_DECISION,
        ESCALATE_DECISION,
        DECIDE_ESCALATED_DECISION,
    }
    assert dict(REVIEW_GROUPS) == {
        REVIEWERS: {"view_decision"},
        ADMINS: {"view_decision", "approve_decision", "escalate_decision"},
        SENIOR_ADMINS: set(CODENAMES),
    }
    assert (REVIEWERS, ADMINS, SENIOR_ADMINS) == ("Reviewers", "Admins", "Senior admins")


def test_migration_matches_current_definitions():
    """The migration's frozen copy agrees with decisioning.permissions and Meta.permissions."""
    assert {name: set(codenames) for name, codenames in MIGRATION.GROUPS.items()} == dict(
        REVIEW_GROUPS
    )
    assert {k: v for k, v in MIGRATION.PERMISSIONS.items() if k != "view_decision"} == dict(
        Decision._meta.permissions
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_groups_migration_on_a_database_without_the_permissions():
    """Run 0004 for real where the permissions do not exist yet: exact groups, no duplicates."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    assert not Group.objects.filter(name__in=list(REVIEW_GROUPS)).exists(), "reverse removes them"
    # A fresh database: post_migrate has not created the permissions yet.
    Permission.objects.filter(content_type__app_label="decisioning").delete()

    executor.loader.build_graph()
    executor.migrate([AFTER])

    assert _group_codenames() == dict(REVIEW_GROUPS)
    names = dict(Permission.objects.filter(codename__in=CODENAMES).values_list("codename", "name"))
    assert names == MIGRATION.PERMISSIONS
    # post_migrate's create_permissions finds them and adds nothing twice.
    call_command("migrate", verbosity=0)
    for codename in CODENAMES:
        assert Permission.objects.filter(codename=codename).count() == 1
    assert _group_codenames() == dict(REVIEW_GROUPS)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_groups_migration_resets_existing_groups_to_exact_permissions():
    """A group that already exists with other permissions ends up with exactly its own."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    reviewers = Group.objects.create(name=REVIEWERS)
    reviewers.permissions.add(Permission.objects.get(codename="approve_decision"))

    executor.loader.build_graph()
    executor.migrate([AFTER])

    assert _group_codenames() == dict(REVIEW_GROUPS)
    # Back to the latest migrations (later ones add the append-only triggers).
    call_command("migrate", verbosity=0)
