"""Downloads of the timeline (and its search), the review queue and an object's history.

Each view takes the same query string as its page (the filters; a ``cursor`` is
ignored: a download is the whole filtered list) plus ``format=csv|jsonl``, and
streams the file (``traces.formats.exports``). Bad input is a 400 with the
reason as text, never a half file. The pages' rule on decisions holds: without
permission to view decisions, the files have no approval status or approver,
the approval filter is a 403, and so is the review queue's file.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_filters import FilterSet

from decision_trace.enums import ObjectType
from decision_trace.exceptions import TraceValidationError
from decisioning.models import Decision
from traces.filters import EventFilterSet, ReviewFilterSet
from traces.formats.exports import (
    CONTENT_TYPES,
    FORMATS,
    ExportFormat,
    decision_export,
    event_export,
)
from traces.models import EventRecord
from traces.selectors import can_view_decisions, event_filter, events_visible

__all__ = ["BAD_FORMAT", "object_history_export", "review_queue_export", "timeline_export"]

BAD_FORMAT = "format must be one of {allowed}; got {got!r}."
NO_VIEW_PERMISSION = "You have no permission to view decisions."


def _format(request: HttpRequest) -> ExportFormat | None:
    value = request.GET.get("format", "")
    for name in FORMATS:
        if value == name:
            return name
    return None


def _refusal(message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=400, content_type="text/plain; charset=utf-8")


def _bad_format(request: HttpRequest) -> HttpResponse:
    got = request.GET.get("format", "")[:40]
    return _refusal(BAD_FORMAT.format(allowed=", ".join(FORMATS), got=got))


def _filter_errors(filterset: FilterSet) -> HttpResponse:
    lines = [
        f"{name}: {' '.join(str(message) for message in messages)}"
        for name, messages in filterset.form.errors.items()
    ]
    return _refusal("The filters are not valid:\n" + "\n".join(lines))


def _download(
    chunks: Iterator[str], export_format: ExportFormat, name: str
) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[export_format])
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{export_format}"'
    return response


@require_GET
@login_required
def timeline_export(request: HttpRequest) -> HttpResponseBase:
    """The timeline's events with its filters (``q`` included: a search), newest first."""
    export_format = _format(request)
    if export_format is None:
        return _bad_format(request)
    with_decisions = can_view_decisions(request.user)
    visible = events_visible(EventRecord.objects.all(), with_decisions=with_decisions)
    filterset = EventFilterSet(request.GET, queryset=visible, with_review_trail=with_decisions)
    if not with_decisions:
        # As on the timeline: filtering by approval status would tell how decisions went.
        if request.GET.get("approval"):
            raise PermissionDenied(NO_VIEW_PERMISSION)
        del filterset.filters["approval"]
    if not filterset.is_valid():
        return _filter_errors(filterset)
    name = "search" if filterset.form.cleaned_data.get("q") else "timeline"
    chunks = event_export(filterset.qs, export_format=export_format, with_decisions=with_decisions)
    return _download(chunks, export_format, name)


@require_GET
@login_required
def object_history_export(
    request: HttpRequest, object_type: str, object_id: str
) -> HttpResponseBase:
    """Every event that touched one object, oldest first."""
    if object_type not in {member.value for member in ObjectType}:
        raise Http404("Unknown object type.")
    export_format = _format(request)
    if export_format is None:
        return _bad_format(request)
    try:
        events = event_filter(object_ids=[object_id], object_types=[object_type])
    except TraceValidationError as exc:
        return _refusal(str(exc))
    with_decisions = can_view_decisions(request.user)
    chunks = event_export(
        events_visible(events, with_decisions=with_decisions),
        export_format=export_format,
        newest_first=False,
        with_decisions=with_decisions,
    )
    return _download(chunks, export_format, f"history-{object_type}")


@require_GET
@login_required
def review_queue_export(request: HttpRequest) -> HttpResponseBase:
    """The review queue's decisions with its tab and filters, oldest first."""
    if not can_view_decisions(request.user):
        raise PermissionDenied(NO_VIEW_PERMISSION)
    export_format = _format(request)
    if export_format is None:
        return _bad_format(request)
    filterset = ReviewFilterSet(request.GET, queryset=Decision.objects.all())
    if not filterset.is_valid():
        return _filter_errors(filterset)
    tab = filterset.form.cleaned_data["tab"]
    chunks = decision_export(filterset.qs, export_format=export_format)
    return _download(chunks, export_format, f"review-{tab}")
