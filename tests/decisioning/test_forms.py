"""DecisionReasonForm: the reason and the hidden resubmission token."""

from __future__ import annotations

import pytest

from decisioning.forms import DecisionReasonForm
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
