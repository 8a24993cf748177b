"""DecisionReasonForm (the admin's reason page) and DecisionReviewForm (the UI's action)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from decisioning.exceptions import REASON_HAS_NUL, REASON_REQUIRED
from decisioning.forms import (
    ACTION_INVALID,
    ACTION_MISSING,
    SEEN_INVALID,
    TOKEN_INVALID,
    TOKEN_MISSING,
    DecisionReasonForm,
    DecisionReviewForm,
)
from decisioning.models import REASON_MAX_LENGTH, REQUEST_TOKEN_MAX_LENGTH


@pytest.mark.parametrize(
    ("data", "required", "valid"),
    [
        ({"reason": "Fraud", "request_token": "t"}, True, True),
        ({"reason": "", "request_token": "t"}, True, False),
        ({"reason": "   ", "request_token": "t"}, True, False),
        ({"request_token": "t"}, True, False),
        ({"reason": "", "request_token": "t"}, False, True),
        ({"reason": "x" * REASON_MAX_LENGTH, "request_token": "t"}, True, True),
        ({"reason": "x" * (REASON_MAX_LENGTH + 1), "request_token": "t"}, True, False),
        ({"reason": "a\x00b", "request_token": "t"}, True, False),
        ({"reason": "Fraud"}, True, False),
        ({"reason": "Fraud", "request_token": "t" * (REQUEST_TOKEN_MAX_LENGTH + 1)}, True, False),
        ({"reason": "<script>alert(1)</script>", "request_token": "t"}, True, True),
    ],
)
def test_reason_form_validation(data, required, valid):
    """Blank (when required), missing, huge or NUL input is invalid; markup is just text."""
    assert DecisionReasonForm(data, reason_required=required).is_valid() is valid


def test_reason_form_strips_and_keeps_markup():
    """The reason is stripped of surrounding whitespace and otherwise kept as typed."""
    form = DecisionReasonForm({"reason": "  <b>why</b>  ", "request_token": "t"})
    assert form.is_valid()
    assert form.cleaned_data == {"reason": "<b>why</b>", "request_token": "t"}


def _review(**changes):
    data = {
        "action": "approve",
        "reason": "",
        "request_token": "t",
        "seen_outcome": "pending",
        "seen_decided_at": "",
    }
    data.update(changes)
    return DecisionReviewForm({key: value for key, value in data.items() if value is not None})


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"action": None}, "action", ACTION_MISSING),
        ({"action": "fly"}, "action", ACTION_INVALID % {"value": "fly"}),
        ({"action": "reject"}, "reason", REASON_REQUIRED.format(action="reject")),
        (
            {"action": "escalate", "reason": "  "},
            "reason",
            REASON_REQUIRED.format(action="escalate"),
        ),
        ({"reason": "x" * (REASON_MAX_LENGTH + 1)}, "reason", f"limit is {REASON_MAX_LENGTH}"),
        ({"reason": "a\x00b"}, "reason", REASON_HAS_NUL),
        ({"request_token": None}, "request_token", TOKEN_MISSING),
        ({"request_token": "t" * (REQUEST_TOKEN_MAX_LENGTH + 1)}, "request_token", TOKEN_INVALID),
        ({"request_token": "\x00"}, "request_token", TOKEN_INVALID),
        ({"seen_outcome": "maybe"}, "seen_outcome", SEEN_INVALID),
        ({"seen_decided_at": "yesterday"}, "seen_decided_at", SEEN_INVALID),
    ],
)
def test_review_form_errors_say_what_to_do(changes, field, message):
    """Each wrong, missing, huge or NUL field is an error on that field saying what to do."""
    form = _review(**changes)
    assert not form.is_valid()
    assert any(message in error for error in form.errors[field])


@pytest.mark.parametrize("action", ["approve", "defer", "reopen"])
def test_review_form_reason_optional(action):
    """Approve, defer and reopen need no reason."""
    assert _review(action=action).is_valid()


def test_review_form_cleans_seen_state():
    """The seen state comes back as an outcome and an aware datetime (None: never decided)."""
    at = datetime(2026, 11, 23, 10, 15, 30, 123456, tzinfo=UTC)
    form = _review(action="reject", reason="  why  ", seen_decided_at=at.isoformat())
    assert form.is_valid()
    assert form.cleaned_data["reason"] == "why"
    assert form.cleaned_data["seen_decided_at"] == at
    blank = _review()
    assert blank.is_valid()
    assert blank.cleaned_data["seen_decided_at"] is None
    unseen = _review(seen_outcome=None)
    assert unseen.is_valid()
    assert unseen.cleaned_data["seen_outcome"] == ""
