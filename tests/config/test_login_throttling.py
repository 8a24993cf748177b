"""Login throttling (django-axes): per account and per address, with a clear message (issue 20)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def ann():
    return get_user_model().objects.create_user("ann", password=PASSWORD)


def _login(client, username, password, address="203.0.113.7", url=None):
    return client.post(
        url or reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_wrong_passwords_below_the_limit_answer_the_form(client, ann, settings):
    """Up to the limit, a wrong password is the form again with its error (200)."""
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _login(client, "ann", "wrong")
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content


def test_thirty_wrong_passwords_lock_the_account_with_a_clear_message(client, ann, settings):
    """From the limit on: 429 and a page saying why and for how long, even for the right one."""
    statuses = [_login(client, "ann", "wrong").status_code for _ in range(30)]
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)
    assert set(statuses[limit - 1 :]) == {429}
    response = _login(client, "ann", PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed logins" in html
    assert f"After {limit} wrong passwords in a row for “ann”" in html
    assert "15 minutes" in html
    assert "_auth_user_id" not in client.session


def test_an_account_is_locked_whatever_the_address(client, ann, settings):
    """Per account: failures spread over many addresses still lock it."""
    for index in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "ann", "wrong", address=f"198.51.100.{index + 1}")
    assert _login(client, "ann", PASSWORD, address="192.0.2.200").status_code == 429


def test_an_address_is_locked_whatever_the_account(client, ann, settings):
    """Per address: guessing many accounts from one address locks that address."""
    for index in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"someone-{index}", "wrong", address="198.51.100.9")
    assert _login(client, "ann", PASSWORD, address="198.51.100.9").status_code == 429
    # Another address may still log in to the account.
    assert _login(client, "ann", PASSWORD, address="192.0.2.1").status_code == 302


def test_a_correct_login_starts_the_count_again(client, ann, settings):
    """Forgetting the password now and then never adds up to a lockout."""
    for _ in range(3):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            _login(client, "ann", "wrong")
        assert _login(client, "ann", PASSWORD).status_code == 302
        client.logout()


def test_the_admin_login_is_throttled_too(client, settings):
    """The admin's own login form goes through the same backend."""
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    url = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "root", "wrong", url=url)
    assert _login(client, "root", PASSWORD, url=url).status_code == 429
