"""The template filters that format trace events."""

from __future__ import annotations

import pytest

from traces.templatetags.traces_ui import first_line, percent, pretty_json, seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("one\ntwo", "one"),
        ("\n\n  padded  \nnext", "padded"),
        ("", ""),
        (None, ""),
        ("x" * 300, "x" * 199 + "…"),
    ],
)
def test_first_line(text, expected):
    """The first non-blank line, cut at 200 characters."""
    assert first_line(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), (0.35, "350 ms"), (4.25, "4.2 s"), (185, "3 min 5 s"), (7260, "2 h 1 min")],
)
def test_seconds(value, expected):
    """Durations read in the unit that suits them."""
    assert seconds(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(None, ""), (0.874, "87%"), (1, "100%")])
def test_percent(value, expected):
    """Confidence as a whole percentage."""
    assert percent(value) == expected


def test_pretty_json_is_plain_text():
    """JSON is indented and sorted, and left to the template to escape."""
    text = pretty_json({"b": "<b>", "a": 1})
    assert text == '{\n  "a": 1,\n  "b": "<b>"\n}'
    assert not hasattr(text, "__html__")
