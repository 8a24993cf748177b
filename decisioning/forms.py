"""Forms for the review workflow (the admin's reason page; the UI may reuse them)."""

from __future__ import annotations

from typing import Any

from django import forms

from decisioning.models import REASON_MAX_LENGTH, REQUEST_TOKEN_MAX_LENGTH

__all__ = ["DecisionReasonForm"]


class DecisionReasonForm(forms.Form):
    """A reason and the form's resubmission token.

    ``reason_required`` (default True) makes a blank reason an error, as
    reject and escalate need; the token goes in a hidden field and is passed
    to ``decision_transition(request_token=...)``.
    """

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=REASON_MAX_LENGTH,
        help_text=f"Why; at most {REASON_MAX_LENGTH} characters.",
    )
    request_token = forms.CharField(widget=forms.HiddenInput, max_length=REQUEST_TOKEN_MAX_LENGTH)

    def __init__(self, *args: Any, reason_required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required
