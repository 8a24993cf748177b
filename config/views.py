"""Project-level views: the health check (the home page is the trace dashboard)."""

from __future__ import annotations

import logging

from django.contrib.contenttypes import views as contenttype_views
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every configured database answers a query, 503 when one does not."""
    failures: dict[str, str] = {}
    for alias in connections:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError as exc:
            logger.warning("healthz: database %r unreachable: %s", alias, exc)
            failures[alias] = exc.__class__.__name__
    if failures:
        return JsonResponse({"status": "unavailable", "databases": failures}, status=503)
    return JsonResponse({"status": "ok"})


def view_on_site(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    """The admin's "view on site" redirect; an id its model cannot hold is a 404 too.

    Django's own view turns a missing object or a ``ValueError`` into a 404
    but lets the ``ValidationError`` of a malformed UUID through (a 500).
    """
    try:
        return contenttype_views.shortcut(request, content_type_id, object_id)
    except ValidationError as exc:
        raise Http404("No object of that type has that id.") from exc
