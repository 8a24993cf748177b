"""The review rule form: the condition as JSON text, refused cleanly when it is not."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.forms.fields import InvalidJSONInput

from traces.rules.models import ReviewRule

__all__ = ["ConditionField", "ReviewRuleForm"]

_MAX_CONDITION_LENGTH = 20_000


class ConditionField(forms.JSONField):
    """A JSON field that never fails on what ``json`` itself refuses late.

    Django's field catches ``JSONDecodeError`` only; a 5,000-digit number is a
    plain ``ValueError`` and a lone surrogate escape (``"\\ud800"``) parses
    but cannot be rendered back as UTF-8. Both become form errors here.
    """

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > _MAX_CONDITION_LENGTH:
            raise forms.ValidationError(
                f"A condition is at most {_MAX_CONDITION_LENGTH} characters of JSON."
            )
        try:
            result = super().to_python(value)
        except ValueError as exc:
            raise forms.ValidationError(f"Enter a valid JSON object: {exc}"[:200]) from None
        try:
            json.dumps(result, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise forms.ValidationError(
                "The condition's JSON object has text that is not valid Unicode."
            ) from None
        return result

    def bound_data(self, data: Any, initial: Any) -> Any:
        try:
            return super().bound_data(data, initial)
        except ValueError:
            return InvalidJSONInput(data)

    def prepare_value(self, value: Any) -> str:
        text: str = super().prepare_value(value)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class ReviewRuleForm(forms.ModelForm[ReviewRule]):
    condition = ConditionField(
        required=False,
        initial=dict,
        help_text=ReviewRule._meta.get_field("condition").help_text,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
    )

    class Meta:
        model = ReviewRule
        fields = (
            "name",
            "enabled",
            "order",
            "condition",
            "action",
            "sample_percent",
            "decision_type",
            "deciding_group",
            "due_in_minutes",
        )

    def clean_condition(self) -> Any:
        value = self.cleaned_data.get("condition")
        return {} if value is None else value
