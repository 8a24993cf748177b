"""The web UI's one write form of its own: feedback on an event (reviews use decisioning's)."""

from __future__ import annotations

from typing import Any

from django import forms

from traces.feedback import FEEDBACK_NOTE_MAX, FeedbackLabel

__all__ = ["FEEDBACK_PLACES", "FeedbackForm"]

# Where the form was sent from: the event page's box or a timeline row (a compact box).
FEEDBACK_PLACES = ("page", "row")


class FeedbackForm(forms.Form):
    """Correct, incorrect or unsure, with an optional note and corrected value."""

    label = forms.ChoiceField(
        choices=FeedbackLabel.choices, widget=forms.RadioSelect, label="This decision is"
    )
    note = forms.CharField(
        required=False,
        max_length=FEEDBACK_NOTE_MAX,
        label="Note",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    corrected_value = forms.CharField(
        required=False,
        max_length=FEEDBACK_NOTE_MAX,
        label="Should have been",
        help_text="What it should have been, e.g. 54.99 EUR.",
    )
    place = forms.ChoiceField(
        choices=[(place, place) for place in FEEDBACK_PLACES],
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
