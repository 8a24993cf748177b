"""Forms for the review workflow: the admin's reason page and the UI's review action."""

from __future__ import annotations

from typing import Any

from django import forms

from decisioning.choices import DecisionAction, DecisionOutcome
from decisioning.exceptions import REASON_HAS_NUL, REASON_REQUIRED
from decisioning.models import REASON_MAX_LENGTH, REQUEST_TOKEN_MAX_LENGTH
from decisioning.transitions import reason_required

__all__ = ["DecisionReasonForm", "DecisionReviewForm"]

ACTION_MISSING = "Choose an action: approve, reject, defer, escalate or reopen."
ACTION_INVALID = (
    "Unknown review action “%(value)s”; use approve, reject, defer, escalate or reopen."
)
REASON_TOO_LONG_FORM = (
    f"The reason is %(show_value)d characters long; the limit is {REASON_MAX_LENGTH}."
)
TOKEN_MISSING = "This form has no resubmission token; reload the page and try again."
TOKEN_INVALID = "This form's resubmission token is not valid; reload the page and try again."
SEEN_INVALID = "This form's copy of the decision is not valid; reload the page and try again."


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


class DecisionReviewForm(forms.Form):
    """One review action on one decision, as a page or an API submits it.

    ``action`` is the button pressed; ``reason`` is required for reject and
    escalate and optional otherwise; ``request_token`` is the form's hidden
    resubmission token (``decision_request_token_new()``). ``seen_outcome``
    and ``seen_decided_at`` are the decision's state as the page showed it:
    when given, ``decision_transition`` refuses the action if the decision
    has changed since (``DecisionAlreadyDecidedError``), so nobody acts on a
    state they did not see. Without them the action applies to the current
    state.
    """

    action = forms.ChoiceField(
        choices=DecisionAction.choices,
        error_messages={"required": ACTION_MISSING, "invalid_choice": ACTION_INVALID},
    )
    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=f"Required to reject or escalate; at most {REASON_MAX_LENGTH} characters.",
        error_messages={
            "max_length": REASON_TOO_LONG_FORM,
            "null_characters_not_allowed": REASON_HAS_NUL,
        },
    )
    request_token = forms.CharField(
        widget=forms.HiddenInput,
        max_length=REQUEST_TOKEN_MAX_LENGTH,
        error_messages={
            "required": TOKEN_MISSING,
            "max_length": TOKEN_INVALID,
            "null_characters_not_allowed": TOKEN_INVALID,
        },
    )
    seen_outcome = forms.ChoiceField(
        choices=DecisionOutcome.choices,
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": SEEN_INVALID},
    )
    seen_decided_at = forms.DateTimeField(
        required=False, widget=forms.HiddenInput, error_messages={"invalid": SEEN_INVALID}
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        action = data.get("action")
        if action and not data.get("reason") and reason_required(DecisionAction(action)):
            self.add_error("reason", REASON_REQUIRED.format(action=action))
        return data
