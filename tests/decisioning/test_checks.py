"""System checks and accessors for the DECISIONING_* settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings

from decisioning.checks import check_settings
from decisioning.conf import DEFAULT_STALE_AFTER, get_default_expires_in, get_stale_after


def test_defaults_are_clean():
    """With nothing configured: no errors, 10-minute stale timeout, no expiry."""
    assert check_settings() == []
    assert get_stale_after() == DEFAULT_STALE_AFTER == timedelta(minutes=10)
    assert get_default_expires_in() is None


@override_settings(
    DECISIONING_STALE_AFTER=timedelta(seconds=30),
    DECISIONING_DEFAULT_EXPIRES_IN=timedelta(days=1),
)
def test_valid_settings_are_read():
    """Positive timedeltas are accepted and returned."""
    assert check_settings() == []
    assert get_stale_after() == timedelta(seconds=30)
    assert get_default_expires_in() == timedelta(days=1)


@pytest.mark.parametrize("value", [600, "10m", None, timedelta(0), -timedelta(seconds=1)])
def test_bad_stale_after_is_e001(value):
    """A stale timeout that is not a positive timedelta is decisioning.E001."""
    with override_settings(DECISIONING_STALE_AFTER=value):
        assert [e.id for e in check_settings()] == ["decisioning.E001"]
        with pytest.raises(ImproperlyConfigured, match="DECISIONING_STALE_AFTER"):
            get_stale_after()


@pytest.mark.parametrize("value", [86400, "1d", timedelta(0), -timedelta(days=1)])
def test_bad_default_expires_in_is_e002(value):
    """A default expiry that is not a positive timedelta or None is decisioning.E002."""
    with override_settings(DECISIONING_DEFAULT_EXPIRES_IN=value):
        assert [e.id for e in check_settings()] == ["decisioning.E002"]
        with pytest.raises(ImproperlyConfigured, match="DECISIONING_DEFAULT_EXPIRES_IN"):
            get_default_expires_in()


@override_settings(DECISIONING_STALE_AFTER="soon")
def test_check_is_registered():
    """manage.py check reports the error."""
    with pytest.raises(Exception, match=r"decisioning\.E001"):
        call_command("check")
