"""The Content-Security-Policy headers, their text built once from the settings.

django-csp's middleware builds the header's text again for every response,
because a view may change the policy (its decorators) or put a nonce in it.
This project does neither: its policy is the same for every response, and
building it twice (the policy and the report-only policy) was 76 µs of the
810 µs of CPU a single-event ``POST /api/v1/events`` took (same-process A/B,
SQLite). This middleware takes the text from django-csp's own
``build_policy``, once, from ``CONTENT_SECURITY_POLICY`` and
``CONTENT_SECURITY_POLICY_REPORT_ONLY`` in django-csp's format, and builds it
again when one of them changes (``override_settings`` in tests).

As django-csp's middleware does: a response that carries the header already
keeps it, paths under a policy's ``EXCLUDE_URL_PREFIXES`` get none, and with
``DEBUG`` on, Django's 404 and 500 debug pages (inline styles and scripts)
get none.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

__all__ = ["ContentSecurityPolicyMiddleware"]

_SETTINGS = {
    HEADER: "CONTENT_SECURITY_POLICY",
    HEADER_REPORT_ONLY: "CONTENT_SECURITY_POLICY_REPORT_ONLY",
}
_DEBUG_PAGES = (404, 500)


@cache
def _headers() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(header, its text, excluded path prefixes) of each policy the settings define."""
    found = []
    for header, name in _SETTINGS.items():
        policy: dict[str, Any] = getattr(settings, name, None) or {}
        text = build_policy(report_only=header == HEADER_REPORT_ONLY)
        if text:
            found.append((header, text, tuple(policy.get("EXCLUDE_URL_PREFIXES") or ())))
    return tuple(found)


@receiver(setting_changed)
def _headers_forget(*, setting: str, **kwargs: object) -> None:
    if setting in _SETTINGS.values():
        _headers.cache_clear()


class ContentSecurityPolicyMiddleware:
    """Adds the policy headers to every response (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code in _DEBUG_PAGES:
            return response
        for header, text, excluded in _headers():
            if header not in response and not request.path_info.startswith(excluded):
                response[header] = text
        return response
