"""The reviewer's and operator's pages: parse the input, call a selector, render.

Every list view answers a plain request with the whole page and an htmx
request with the partial its ``hx-target`` names (``request.htmx.target``).
Bad filter input re-renders the form with its errors (status 400, which the
page's htmx config swaps in); a forged cursor is a 400 too.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from decisioning.models import Decision
from traces.enums import ObjectType, choices
from traces.exceptions import InvalidCursorError
from traces.filters import DecisionFilterSet, EventFilterSet, PeriodForm, active_filter_chips
from traces.models import ActorRecord, EventRecord
from traces.pagination import keyset_page
from traces.ui_selectors import (
    PAGE_SIZE,
    PERIODS,
    actor_summary,
    dashboard_summary,
    decisions_page,
    event_detail,
    known_event_types,
    object_history,
    pending_decisions_count,
)

__all__ = [
    "actor_detail",
    "dashboard",
    "decision_list",
    "event_detail_view",
    "object_history_view",
    "timeline",
]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _is_partial(request: HtmxHttpRequest) -> bool:
    # A history-restore request wants the whole page, whatever htmx sends.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _render(
    request: HtmxHttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partials: dict[str, str],
    status: int = 200,
) -> TemplateResponse:
    """The page, or the partial named by the htmx target (the first partial by default)."""
    if _is_partial(request):
        name = partials.get(request.htmx.target or "", next(iter(partials.values())))
    else:
        name = template
    response = TemplateResponse(request, name, context, status=status)
    # The same URL serves a page and a partial: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@login_required
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "pending_count": pending_decisions_count()}
        return _render(
            request,
            "traces/dashboard.html",
            context,
            partials={"dashboard": "traces/_dashboard.html"},
            status=400,
        )
    summary = dashboard_summary(period=PERIODS[form.cleaned_data["period"]])
    context = {"form": form, "summary": summary, "pending_count": summary.pending_count}
    return _render(
        request, "traces/dashboard.html", context, partials={"dashboard": "traces/_dashboard.html"}
    )


@require_GET
@login_required
def timeline(request: HtmxHttpRequest) -> HttpResponse:
    filterset = EventFilterSet(request.GET or None, queryset=EventRecord.objects.all())
    scrolling = _is_partial(request) and request.htmx.target == "timeline-more"
    context: dict[str, Any] = {
        "filterset": filterset,
        # The filter form (and its suggestions) is not part of a scroll response.
        "event_types": [] if scrolling else known_event_types(),
        "cursor": request.GET.get("cursor", ""),
    }
    status = 200
    if filterset.is_bound and not filterset.is_valid():
        status = 400
    else:
        try:
            context["page"] = keyset_page(
                filterset.qs.for_display(), cursor=context["cursor"] or None, limit=PAGE_SIZE
            )
        except InvalidCursorError as exc:
            context["cursor_error"] = str(exc)
            status = 400
        context["chips"] = active_filter_chips(filterset)
    return _render(
        request,
        "traces/timeline.html",
        context,
        partials={"timeline": "traces/_timeline.html", "timeline-more": "traces/_more.html"},
        status=status,
    )


@require_GET
@login_required
def event_detail_view(request: HtmxHttpRequest, event_id: Any) -> HttpResponse:
    event = get_object_or_404(EventRecord.objects.select_related("actor"), pk=event_id)
    return TemplateResponse(request, "traces/event_detail.html", {"detail": event_detail(event)})


@require_GET
@login_required
def object_history_view(request: HtmxHttpRequest, object_type: str, object_id: str) -> HttpResponse:
    labels = dict(choices(ObjectType))
    if object_type not in labels:
        raise Http404("Unknown object type.")
    context: dict[str, Any] = {"object_type_label": labels[object_type]}
    status = 200
    try:
        context["history"] = object_history(
            object_type=object_type,
            object_id=object_id,
            cursor=request.GET.get("cursor") or None,
        )
    except InvalidCursorError as exc:
        context["cursor_error"] = str(exc)
        context["history"] = None
        status = 400
    context["object_type"], context["object_id"] = object_type, object_id
    return _render(
        request,
        "traces/object_history.html",
        context,
        partials={"history": "traces/_history.html"},
        status=status,
    )


@require_GET
@login_required
def actor_detail(request: HtmxHttpRequest, actor_type: str, actor_id: str) -> HttpResponse:
    actor = get_object_or_404(ActorRecord, actor_type=actor_type, actor_id=actor_id)
    form = PeriodForm(request.GET)
    context: dict[str, Any] = {"actor": actor, "form": form}
    status = 200
    if form.is_valid():
        context["summary"] = actor_summary(actor, period=PERIODS[form.cleaned_data["period"]])
    else:
        status = 400
    return _render(
        request,
        "traces/actor_detail.html",
        context,
        partials={"actor-activity": "traces/_actor_activity.html"},
        status=status,
    )


@require_GET
@login_required
def decision_list(request: HtmxHttpRequest) -> HttpResponse:
    filterset = DecisionFilterSet(request.GET or None, queryset=Decision.objects.all())
    context: dict[str, Any] = {"filterset": filterset, "target": None}
    status = 200
    if filterset.is_bound and not filterset.is_valid():
        status = 400
    else:
        target_id = filterset.form.cleaned_data.get("target") if filterset.is_bound else None
        if target_id:
            context["target"] = (
                EventRecord.objects.select_related("actor").filter(pk=target_id).first()
            )
        try:
            # About one target: its story, oldest first. Across targets: newest first.
            context["page"] = decisions_page(
                filterset.qs,
                cursor=request.GET.get("cursor") or None,
                newest_first=not target_id,
            )
        except InvalidCursorError as exc:
            context["cursor_error"] = str(exc)
            status = 400
    return _render(
        request,
        "traces/decision_list.html",
        context,
        partials={"decisions": "traces/_decisions.html"},
        status=status,
    )
