"""Filter form fields rendered once per state (traces.ui.fields): same HTML, fewer renders."""

from __future__ import annotations

import pytest
from django.forms import BoundField
from django.http import QueryDict
from django.test.signals import template_rendered
from django.utils import translation

from traces.filters import EventFilterSet, ReviewFilterForm
from traces.models import EventRecord
from traces.ui import fields
from traces.ui.fields import RENDERED_LIMIT, RenderedOnceBoundField


@pytest.fixture(autouse=True)
def _empty_cache():
    fields._RENDERED.clear()
    yield
    fields._RENDERED.clear()


def _form(query: str):
    filterset = EventFilterSet(QueryDict(query), queryset=EventRecord.objects.none())
    filterset.form.is_valid()
    return filterset.form


def _django_html(form, name: str) -> str:
    """What Django's own BoundField renders for the same field."""
    return BoundField(form, form.fields[name], name).as_field_group()


def _renders(fn) -> int:
    seen: list[object] = []

    def count(sender, **kwargs):
        seen.append(kwargs["template"])

    template_rendered.connect(count)
    try:
        fn()
    finally:
        template_rendered.disconnect(count)
    return len(seen)


def test_every_timeline_field_renders_as_django_renders_it():
    """Bound values, checkbox lists, selects and errors: the HTML Django makes, every time."""
    for query in (
        "",
        "q=refund&actor_type=ai_agent&actor_type=user&object_type=order",
        "since=2026-02-01T00:00&until=2026-01-01T00:00&object_type=order",
        "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E&tag=a%22b",
    ):
        for _ in range(2):
            form = _form(query)
            for name in form.fields:
                assert isinstance(form[name], RenderedOnceBoundField)
                assert form[name].as_field_group() == _django_html(form, name), (query, name)


def test_a_state_seen_before_renders_no_template():
    first = _renders(lambda: _form("q=refund")["outcome"].as_field_group())
    again = _renders(lambda: _form("q=refund")["outcome"].as_field_group())
    assert first > 0
    assert again == 0


def test_what_the_field_shows_is_part_of_its_state():
    """A value, an error or the language: another state, rendered anew."""
    empty = _form("")["q"].as_field_group()
    typed = _form("q=refund")["q"].as_field_group()
    assert 'value="refund"' in typed
    assert "value=" not in empty
    ok = _form("since=2026-01-01T00:00&until=2026-02-01T00:00")["until"].as_field_group()
    wrong = _form("since=2026-02-01T00:00&until=2026-01-01T00:00")["until"].as_field_group()
    assert "errorlist" in wrong
    assert "errorlist" not in ok
    assert 'aria-invalid="true"' in wrong
    assert len(fields._RENDERED) == 4
    english = _form("")["q"]._state()
    with translation.override("de"):
        german = _form("")["q"]
        assert german.as_field_group() == _django_html(german.form, "q")
        assert german._state() != english
    assert len(fields._RENDERED) == 5


def test_forms_with_the_same_field_names_do_not_share_html():
    review = ReviewFilterForm(QueryDict(""))
    timeline = _form("")
    shared = sorted(set(review.fields) & set(timeline.fields))
    for name in shared:
        assert review[name].as_field_group() == _django_html(review, name)
        assert timeline[name].as_field_group() == _django_html(timeline, name)


def test_the_cache_is_bounded():
    for number in range(RENDERED_LIMIT + 5):
        _form(f"q=word{number}")["q"].as_field_group()
    assert len(fields._RENDERED) <= RENDERED_LIMIT
