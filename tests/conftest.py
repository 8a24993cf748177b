from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from decisioning.permissions import ADMINS, REVIEWERS, SENIOR_ADMINS
from decisioning.review import review_groups_ensure
from tests.decisioning.factories import UserFactory
from traces.evidence.keys import key_file_create

# Role -> the review group it belongs to (anonymous: not signed in).
ROLES = {"reviewer": REVIEWERS, "admin": ADMINS, "senior": SENIOR_ADMINS}


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def review_groups(db):
    """The groups as the migration leaves them (a transactional test's flush removes them)."""
    return review_groups_ensure()


@pytest.fixture
def make_user(review_groups) -> Callable[..., object]:
    """``make_user("admin")`` -> a fresh user in that role's group; "anonymous" -> AnonymousUser.

    Also "superuser", and "nobody" (signed in, in no group).
    """

    def make(role: str, **kwargs: object) -> object:
        if role == "anonymous":
            return AnonymousUser()
        if role == "superuser":
            return get_user_model().objects.create_superuser(
                kwargs.pop("username", "root"), "root@example.com", "pw-root-123"
            )
        if role == "nobody":
            return UserFactory(**kwargs)
        return UserFactory(groups=[ROLES[role]], **kwargs)

    return make


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="alice")


@pytest.fixture
def senior(make_user):
    return make_user("senior", username="sam")


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {connection.vendor} ({connection.settings_dict['NAME']})"


@pytest.fixture(scope="session", autouse=True)
def evidence_signing_key() -> Iterator[Path]:
    """The checkpoint signing key of this test run (a temporary file, removed at the end)."""
    path = Path(settings.TRACES_EVIDENCE_SIGNING_KEY_FILE)
    key_file_create(path)
    yield path
    path.unlink(missing_ok=True)
