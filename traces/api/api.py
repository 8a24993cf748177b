"""The ``NinjaAPI`` of ``/api/v1/``: auth, routers, and one error shape for everything.

``urlpatterns`` wraps ninja's views so that what happens outside an endpoint
also answers in the error shape: a body over ``TRACES_API_MAX_BODY_BYTES``
(413, checked before the body is read), a method the path does not take
(405), and any path under ``/api/v1/`` that names no endpoint (404).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from decisioning.exceptions import ClaimLostError
from traces.api import decisions, events, otlp
from traces.api.auth import ApiAuth, unauthorized
from traces.api.conf import get_max_body_bytes
from traces.api.errors import ApiError, error_response

__all__ = ["api", "urlpatterns"]

logger = logging.getLogger(__name__)


def _docs_guard(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The schema is public; the interactive docs are for staff unless DEBUG is on."""
    func = getattr(view, "func", view)  # ninja passes functools.partial objects
    if settings.DEBUG or getattr(func, "__name__", "") == "openapi_json":
        return view
    return staff_member_required(view)


api = NinjaAPI(
    title="Decision Trace API",
    version="1",
    urls_namespace="api-v1",
    auth=ApiAuth(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    docs_decorator=_docs_guard,
)
api.add_router("", events.router)
api.add_router("", decisions.router)
api.add_router("", otlp.router)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
}


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())[1:]),
            "message": str(error.get("msg", "")),
        }
        for error in exc.errors
    ]
    return error_response(ApiError(422, "validation_error", "The request is not valid.", details))


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(unauthorized("Send Authorization: Bearer <token>, or sign in."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    return error_response(ApiError(status, _STATUS_CODES.get(status, "error"), str(exc)))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(ApiError(404, "not_found", "Not found."))


@api.exception_handler(ClaimLostError)
def _claim_lost(request: HttpRequest, exc: ClaimLostError) -> HttpResponse:
    return error_response(ApiError(409, "idempotency_key_in_use", str(exc)))


@api.exception_handler(DataError)
def _data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    # A value the database cannot take (e.g. a time offset PostgreSQL refuses).
    logger.warning("API request refused by the database: %s", exc)
    return error_response(
        ApiError(400, "bad_parameter", "A value is out of the range the database stores.")
    )


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A bug, not an answer: logged with its traceback, answered in the one error shape.
    logger.exception("Unexpected error in %s %s", request.method, request.path)
    return error_response(ApiError(500, "internal_error", "Something went wrong on our side."))


def _read_body(request: HttpRequest) -> HttpResponse | None:
    """Read at most the limit into ``request.body``; 413 above it."""
    limit = get_max_body_bytes()
    too_large = ApiError(
        413, "payload_too_large", f"The body may be at most {limit} bytes; send a smaller batch."
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return error_response(ApiError(400, "bad_request", "Content-Length is not a number."))
    if declared > limit:
        return error_response(too_large)
    if request.method in ("POST", "PUT", "PATCH"):
        # Django's own DATA_UPLOAD_MAX_MEMORY_SIZE check is for forms; this is the API's.
        body = request.read(limit + 1)
        if len(body) > limit:
            return error_response(too_large)
        request._body = body
    return None


def _guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = _read_body(request)
        if refused is not None:
            return refused
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return _no_endpoint(request)
        if response.status_code == 405:
            allowed = response.get("Allow", "")
            refusal = error_response(
                ApiError(
                    405,
                    "method_not_allowed",
                    f"{request.method} is not allowed here; use {allowed or 'another method'}.",
                )
            )
            refusal["Allow"] = allowed
            return refusal
        return response

    return wrapper


@csrf_exempt
def _no_endpoint(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error_response(ApiError(404, "not_found", "No API endpoint at this path."))


def _patterns() -> list[Any]:
    patterns, _app_name, _namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _guarded(pattern.callback)
    return [*patterns, re_path(r"^(?P<rest>.*)$", _no_endpoint)]


urlpatterns = _patterns()
