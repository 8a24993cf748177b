"""Filter form fields rendered once per distinct state, then reused.

Django renders a field group (label, help text, errors, widget) through four
to ten template renders, one more per option of a select or checkbox list:
the timeline's sixteen filters took 7 ms of a 30 ms search page at a million
events. What a field group shows is a function of the state listed in
``_state``; nearly every request asks for the same few states (a filter left
empty), so the HTML of each state is kept (per process, at most
``RENDERED_LIMIT`` states, emptied when full) and a field group whose state
was seen before costs a lookup.
"""

from __future__ import annotations

from typing import Any

from django.forms import BaseForm, BoundField
from django.utils.safestring import SafeString
from django.utils.translation import get_language

__all__ = ["RENDERED_LIMIT", "RenderedOnceBoundField"]

RENDERED_LIMIT = 2_000
_RENDERED: dict[tuple[Any, ...], SafeString] = {}


def _form_key(form: BaseForm) -> tuple[Any, ...]:
    """What a field group takes from its form, once per form instance.

    The form's classes by name, not by identity: django-filter makes a form
    class per filter set instance.
    """
    key = form.__dict__.get("_rendered_once_key")
    if key is None:
        key = (
            tuple(f"{cls.__module__}.{cls.__qualname__}" for cls in type(form).__mro__),
            type(form.renderer),
            form.prefix,
            form.label_suffix,
            form.is_bound,
            form.use_required_attribute,
            getattr(form, "error_css_class", None),
            getattr(form, "required_css_class", None),
        )
        form.__dict__["_rendered_once_key"] = key
    return key


class RenderedOnceBoundField(BoundField):
    """A ``BoundField`` whose ``as_field_group()`` is rendered once per state (see module)."""

    def _state(self) -> tuple[Any, ...]:
        field, form = self.field, self.form
        widget = field.widget
        choices = getattr(widget, "choices", None)
        return (
            _form_key(form),
            get_language(),
            self.name,
            self.auto_id,
            str(self.label),
            str(self.help_text),
            field.required,
            field.disabled,
            field.show_hidden_initial,
            field.localize,
            field.label_suffix,
            getattr(field, "template_name", None),
            type(widget),
            getattr(widget, "format", None),
            repr(sorted(widget.attrs.items())),
            None if choices is None else repr(list(choices)),
            repr(self.value()),
            tuple(str(error) for error in self.errors),
        )

    def as_field_group(self) -> SafeString:
        state = self._state()
        html = _RENDERED.get(state)
        if html is None:
            html = super().as_field_group()
            if len(_RENDERED) >= RENDERED_LIMIT:
                _RENDERED.clear()
            _RENDERED[state] = html
        return html
