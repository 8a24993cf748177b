"""The API's one error shape: ``{"error": {"code", "message", "details": [...]}}``.

``ApiError`` is raised anywhere below an endpoint; ``error_response`` builds
the answer for it and for everything that is not raised as one (ninja's
own validation errors, 404, 405, 413 before the endpoint runs).
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

__all__ = ["ApiError", "error_body", "error_response"]


class ApiError(Exception):
    """An HTTP error the API answers in its error shape.

    Args:
        status: the HTTP status (400-499).
        code: a stable machine-readable code, e.g. ``validation_error``.
        message: what went wrong and what to send instead.
        details: per-field or per-item problems (dicts).
        headers: extra response headers (``Retry-After``, ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}


def error_body(
    code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def error_response(error: ApiError) -> JsonResponse:
    response = JsonResponse(
        error_body(error.code, error.message, error.details), status=error.status
    )
    for name, value in error.headers.items():
        response[name] = value
    return response
