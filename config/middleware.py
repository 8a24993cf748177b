"""Input the Django admin cannot take, refused before it reaches the admin (400, never 500).

The admin passes query parameters to the ORM as they come. Some make it
fail instead of answering: a NUL byte (PostgreSQL refuses it in a query), a
40-digit year in the date hierarchy (``OverflowError``), a time at the
edge of the datetime range or with an offset of 16 hours (``OverflowError``
on SQLite, "time zone displacement out of range" on PostgreSQL), an empty
``_to_field`` (``FieldDoesNotExist``), a 100 KB search (SQLite: "LIKE or
GLOB pattern too complex"; PostgreSQL: half a minute of LIKE scans). Each
is answered here with a 400 that says what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import get_script_prefix, reverse
from django.utils.dateparse import parse_datetime

from decision_trace.exceptions import TraceValidationError
from decision_trace.validation import aware

__all__ = [
    "ADMIN_SEARCH_MAX_LENGTH",
    "ADMIN_SEARCH_MAX_WORDS",
    "AdminInputGuardMiddleware",
    "admin_input_problem",
]

ADMIN_SEARCH_MAX_LENGTH = 200
ADMIN_SEARCH_MAX_WORDS = 10
NUL_IN_REQUEST = "The request contains a NUL character (\\x00), which no field can hold."
SEARCH_TOO_LONG = (
    "The search is too long: at most {max_length} characters and {max_words} words; "
    "search for fewer, more specific words."
)
BAD_DATE_PART = "{name} must be a number of at most 4 digits; got {value!r}."
EMPTY_TO_FIELD = "_to_field must name a field; it was empty."

_DATE_PART = re.compile(r"__(year|month|day)$")
_DATE_VALUE = re.compile(r"\d{1,4}")
_DATE_PART_MAX = {"year": 9999, "month": 12, "day": 31}
BAD_DATE_RANGE = "{name} must be from 1 to {high}; got {value}."
_LOOKS_LIKE_TIME = re.compile(r"\s*[+-]?\d{4,}-\d{1,2}-\d{1,2}[T ]")


def _time_problem(name: str, value: str) -> str:
    if not _LOOKS_LIKE_TIME.match(value):
        return ""
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        return ""  # not a time after all: the admin's own form or filter says so
    if parsed is None:
        return ""
    try:
        aware(name, parsed)
    except TraceValidationError as exc:
        return str(exc)
    return ""


def admin_input_problem(request: HttpRequest) -> str:
    """What in this admin request cannot be answered ("" when nothing)."""
    if "\x00" in request.path:
        return NUL_IN_REQUEST
    for data in (request.GET, request.POST) if request.method == "POST" else (request.GET,):
        for name, values in data.lists():
            for value in values:
                if "\x00" in name or "\x00" in value:
                    return NUL_IN_REQUEST
                if name == "q" and (
                    len(value) > ADMIN_SEARCH_MAX_LENGTH
                    or len(value.split()) > ADMIN_SEARCH_MAX_WORDS
                ):
                    return SEARCH_TOO_LONG.format(
                        max_length=ADMIN_SEARCH_MAX_LENGTH, max_words=ADMIN_SEARCH_MAX_WORDS
                    )
                part = _DATE_PART.search(name)
                if part and not _DATE_VALUE.fullmatch(value):
                    return BAD_DATE_PART.format(name=name, value=value[:40])
                if part and not 1 <= int(value) <= _DATE_PART_MAX[part.group(1)]:
                    return BAD_DATE_RANGE.format(
                        name=name, value=value, high=_DATE_PART_MAX[part.group(1)]
                    )
                if name == "_to_field" and not value:
                    return EMPTY_TO_FIELD
                problem = _time_problem(name, value)
                if problem:
                    return problem
    return ""


@lru_cache(maxsize=16)
def _admin_prefix(script_prefix: str) -> str:
    """The admin's URL under this script prefix: reversed once, not on every request."""
    return reverse("admin:index")


@receiver(setting_changed)
def _admin_prefix_forget(*, setting: str, **kwargs: object) -> None:
    if setting == "ROOT_URLCONF":
        _admin_prefix.cache_clear()


class AdminInputGuardMiddleware:
    """Answer 400 with the reason to admin requests the admin would fail on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(_admin_prefix(get_script_prefix())):
            problem = admin_input_problem(request)
            if problem:
                return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
