"""The reviewer's and operator's pages: parse the input, call a selector, render.

Every list view answers a plain request with the whole page and an htmx
request with the partial its ``hx-target`` names (``request.htmx.target``).
Bad filter input re-renders the form with its errors (status 400, which the
page's htmx config swaps in); a forged cursor is a 400 too.

The review pages (queue, decision page) need ``decisioning.view_decision``
(or a review permission). ``decision_review`` is their one POST: it calls
``decision_transition`` and answers htmx with the updated queue row or
decision panel (plus the navigation's pending count, out of band), and a
plain form post with a redirect and a message. Refusals keep their meaning:
400 bad input (the form again, with the error), 403 no permission, 404 a
missing or deleted decision, 409 someone else changed it first (who and when).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from decision_trace.enums import ObjectType, choices
from decision_trace.exceptions import InvalidCursorError
from decisioning.exceptions import (
    PERMISSION_MISSING,
    PERMISSION_NONE,
    DecisionDeletedError,
    DecisionPermissionError,
    InvalidReasonError,
    InvalidRequestTokenError,
    InvalidTransitionError,
)
from decisioning.forms import DecisionReviewForm
from decisioning.models import Decision, DecisionAction
from decisioning.services import decision_request_token_new, decision_transition
from decisioning.transitions import allowed_actions, past_tense, required_permission
from traces.evidence.corrections import corrections_apply
from traces.filters import (
    DecisionFilterSet,
    EventFilterSet,
    KnownAtForm,
    PeriodForm,
    ReviewFilterSet,
    active_filter_chips,
)
from traces.models import ActorRecord, EventRecord
from traces.pagination import keyset_page
from traces.review_selectors import (
    QUEUE_OUTCOMES,
    decision_detail,
    review_decision_types,
    review_item,
    review_page,
    review_tab_counts,
    user_can_review,
    user_can_view_decisions,
)
from traces.search import SEARCH_MATCH_LIMIT, search_match_count
from traces.ui.actors import actor_summary
from traces.ui.charts import PERIODS
from traces.ui.common import PAGE_SIZE, known_event_types, pending_decisions_count
from traces.ui.dashboard import dashboard_summary
from traces.ui.decisions import decisions_page
from traces.ui.events import event_detail
from traces.ui.history import object_history_page

__all__ = [
    "actor_detail",
    "dashboard",
    "decision_detail_view",
    "decision_list",
    "decision_review",
    "event_detail_view",
    "object_history_view",
    "review_queue",
    "timeline",
]

DONE = "{Action} “{decision_type}”."
REPLAYED = "This form was already sent: the decision is {outcome}; nothing changed now."
GONE = "This decision was deleted or no longer exists; it cannot be reviewed."
NO_VIEW_PERMISSION = "You have no permission to view decisions."
SEARCH_CAPPED = (
    "These words are in more than {limit:,} events: the list covers the {limit:,} most "
    "recently recorded of them. Add a word or a filter to narrow it."
)


# Trace data is for the signed-in user only: no shared cache keeps it, no browser stores it.
_no_store = cache_control(private=True, no_store=True)


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


@_no_store
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


@_no_store
@require_GET
@login_required
def timeline(request: HtmxHttpRequest) -> HttpResponse:
    filterset = EventFilterSet(request.GET or None, queryset=EventRecord.objects.all())
    if not user_can_view_decisions(request.user):
        # Filtering by approval status would tell the outcome of decisions.
        if request.GET.get("approval"):
            raise PermissionDenied(NO_VIEW_PERMISSION)
        del filterset.filters["approval"]
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
            known_at = filterset.form.cleaned_data.get("known_at") if filterset.is_bound else None
            corrections_apply(context["page"].items, known_at=known_at)
            text = filterset.form.cleaned_data.get("q") if filterset.is_bound else ""
            if text and not scrolling:
                context["search_capped"] = _search_capped(text)
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


def _search_capped(text: str) -> str:
    """The notice for words in more events than a search reads ("" when all are read)."""
    if search_match_count(text, cap=SEARCH_MATCH_LIMIT + 1) <= SEARCH_MATCH_LIMIT:
        return ""
    return SEARCH_CAPPED.format(limit=SEARCH_MATCH_LIMIT)


@_no_store
@require_GET
@login_required
def event_detail_view(request: HtmxHttpRequest, event_id: Any) -> HttpResponse:
    known_at = _known_at(request)
    events = EventRecord.objects.select_related("actor")
    if known_at is not None:
        events = events.recorded_before(known_at)
    event = get_object_or_404(events, pk=event_id)
    detail = event_detail(
        event, with_decisions=user_can_view_decisions(request.user), known_at=known_at
    )
    context = {"detail": detail, "known_at": known_at}
    return TemplateResponse(request, "traces/event_detail.html", context)


def _known_at(request: HtmxHttpRequest) -> datetime | None:
    """``?known_at=`` (ISO 8601; naive means the site's time zone); a bad value is a 400."""
    form = KnownAtForm(request.GET)
    if not form.is_valid():
        problems: list[str] = [str(problem) for problem in form.errors.get("known_at") or []]
        raise BadRequest("known_at: " + " ".join(problems))
    known_at: datetime | None = form.cleaned_data["known_at"]
    return known_at


@_no_store
@require_GET
@login_required
def object_history_view(request: HtmxHttpRequest, object_type: str, object_id: str) -> HttpResponse:
    labels = dict(choices(ObjectType))
    if object_type not in labels:
        raise Http404("Unknown object type.")
    context: dict[str, Any] = {"object_type_label": labels[object_type]}
    status = 200
    try:
        context["history"] = object_history_page(
            object_type=object_type,
            object_id=object_id,
            cursor=request.GET.get("cursor") or None,
            known_at=_known_at(request),
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


@_no_store
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


@_no_store
@require_GET
@login_required
def decision_list(request: HtmxHttpRequest) -> HttpResponse:
    _require_decision_viewer(request)
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


def _tabs(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    return [(outcome.value, outcome.label, counts[outcome.value]) for outcome in QUEUE_OUTCOMES]


def _require_decision_viewer(request: HtmxHttpRequest) -> None:
    if not user_can_view_decisions(request.user):
        raise PermissionDenied(NO_VIEW_PERMISSION)


@_no_store
@require_GET
@login_required
def review_queue(request: HtmxHttpRequest) -> HttpResponse:
    _require_decision_viewer(request)
    # Always bound: an empty query string is the pending tab.
    filterset = ReviewFilterSet(request.GET, queryset=Decision.objects.all())
    counts = review_tab_counts()
    appending = _is_partial(request) and request.htmx.target == "review-more"
    context: dict[str, Any] = {
        "filterset": filterset,
        "pending_count": counts["pending"],
        "tabs": _tabs(counts),
        "tab": "pending",
        "filtered": False,
        "decision_types": [] if appending else review_decision_types(),
        "cursor": request.GET.get("cursor", ""),
        "next_url": request.get_full_path(),
    }
    status = 200
    if not filterset.is_valid():
        status = 400
    else:
        context["tab"] = filterset.form.cleaned_data["tab"]
        context["filtered"] = any(
            value for name, value in filterset.form.cleaned_data.items() if name != "tab"
        )
        try:
            context["page"] = review_page(
                filterset.qs, user=request.user, cursor=context["cursor"] or None
            )
        except InvalidCursorError as exc:
            context["cursor_error"] = str(exc)
            status = 400
    return _render(
        request,
        "traces/review_queue.html",
        context,
        partials={
            "review-queue": "traces/_review_queue.html",
            "review-more": "traces/_review_more.html",
        },
        status=status,
    )


@_no_store
@require_GET
@login_required
def decision_detail_view(request: HtmxHttpRequest, decision_id: Any) -> HttpResponse:
    _require_decision_viewer(request)
    decision = get_object_or_404(
        Decision.objects.select_related("decided_by", "target_content_type"), pk=decision_id
    )
    detail = decision_detail(decision, user=request.user)
    context = {"detail": detail, "item": detail.item, "next_url": request.get_full_path()}
    return TemplateResponse(request, "traces/decision_detail.html", context)


def _safe_next(request: HtmxHttpRequest, default: str) -> str:
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default


@_no_store
@require_POST
def decision_review(request: HtmxHttpRequest, decision_id: Any) -> HttpResponse:
    """Approve, reject, defer, escalate or reopen one decision (``DecisionReviewForm``)."""
    page = reverse("traces:decision_detail", args=[decision_id])
    if not request.user.is_authenticated:
        if request.htmx:
            back = request.htmx.current_url_abs_path or page
            return HttpResponseClientRedirect(redirect_to_login(back).url)
        return redirect_to_login(page)
    _require_decision_viewer(request)
    next_url = _safe_next(request, page)
    decision = Decision.objects.filter(pk=decision_id).first()
    if decision is None:
        return _review_gone(request, decision_id)

    form = DecisionReviewForm(request.POST)
    refusal = _permission_refusal(request, decision)
    if refusal:
        return _review_answer(request, decision, next_url=next_url, status=403, error=refusal)
    if not form.is_valid():
        return _review_answer(request, decision, next_url=next_url, status=400, form=form)

    data = form.cleaned_data
    # The state the reviewer saw (the form carries it): acting on anything else is a conflict.
    seen_outcome = data["seen_outcome"] or decision.outcome
    seen_decided_at = data["seen_decided_at"] if data["seen_outcome"] else decision.decided_at
    action = DecisionAction(data["action"])
    try:
        result = decision_transition(
            decision=decision,
            action=action,
            user=request.user,
            reason=data["reason"],
            request_token=data["request_token"],
            expected_outcome=seen_outcome,
            expected_decided_at=seen_decided_at,
        )
    except DecisionPermissionError as exc:
        return _review_answer(request, decision, next_url=next_url, status=403, error=str(exc))
    except InvalidTransitionError as exc:
        return _review_answer(
            request, decision, next_url=next_url, status=409, error=str(exc), seen=seen_outcome
        )
    except (InvalidReasonError, InvalidRequestTokenError) as exc:
        return _review_answer(request, decision, next_url=next_url, status=400, error=str(exc))
    except DecisionDeletedError:
        return _review_gone(request, decision_id)

    if result.replayed:
        notice = REPLAYED.format(outcome=result.decision.get_outcome_display().lower())
    else:
        notice = DONE.format(
            Action=past_tense(action).capitalize(), decision_type=decision.decision_type
        )
    if not request.htmx:
        (messages.info if result.replayed else messages.success)(request, notice)
        return redirect(next_url)
    return _review_answer(
        request, decision, next_url=next_url, status=200, notice=notice, seen=seen_outcome
    )


def _permission_refusal(request: HtmxHttpRequest, decision: Decision) -> str:
    """Why this user may not take the posted action now ("" if they may try).

    Checked before the form, so a forged post without the permission is a
    403 whatever else it holds; ``decision_transition`` checks again under
    its lock.
    """
    user = request.user
    if not user_can_review(user):
        return PERMISSION_NONE
    action = request.POST.get("action")
    if action in DecisionAction.values and DecisionAction(action) in allowed_actions(
        decision.outcome
    ):
        action = DecisionAction(action)
        if not user.has_perm(required_permission(from_outcome=decision.outcome, action=action)):
            return PERMISSION_MISSING.format(action=action.value, from_outcome=decision.outcome)
    return ""


def _review_answer(
    request: HtmxHttpRequest,
    decision: Decision,
    *,
    next_url: str,
    status: int,
    form: DecisionReviewForm | None = None,
    error: str = "",
    notice: str = "",
    seen: str | None = None,
) -> HttpResponse:
    """The updated row or panel (htmx), or the decision page again (a plain post's refusal)."""
    fresh = (
        Decision.objects.select_related("decided_by", "target_content_type")
        .filter(pk=decision.pk)
        .first()
    )
    if fresh is None:
        return _review_gone(request, decision.pk)
    errors = [error] if error else []
    reason_error = ""
    if form is not None:
        reason_error = " ".join(form.errors.get("reason", []))
        errors.extend(
            message
            for name, field_errors in form.errors.items()
            if name != "reason"
            for message in field_errors
        )
    posted_token = form.data.get("request_token", "") if form is not None else ""
    token_ok = form is not None and "request_token" not in form.errors and posted_token
    context: dict[str, Any] = {
        "next_url": next_url,
        "errors": errors,
        "reason_error": reason_error,
        "notice": notice,
        # A refused submission stored nothing: keep its token and its reason.
        "reason": request.POST.get("reason", "").replace("\x00", "") if status != 200 else "",
        "request_token": posted_token if token_ok else decision_request_token_new(),
        "resolved": seen is not None and fresh.outcome != seen,
    }
    if request.htmx and request.htmx.target != "decision-review":
        # A queue row: the row itself, and the counts it changed (out of band).
        counts = review_tab_counts()
        context.update(
            item=review_item(fresh, user=request.user),
            tabs=_tabs(counts),
            pending_count=counts["pending"],
            oob=True,
        )
        return TemplateResponse(request, "traces/_review_row.html", context, status=status)
    detail = decision_detail(fresh, user=request.user)
    context.update(detail=detail, item=detail.item)
    if request.htmx:
        context["oob"] = True
        return TemplateResponse(request, "traces/_decision_review.html", context, status=status)
    return TemplateResponse(request, "traces/decision_detail.html", context, status=status)


def _review_gone(request: HtmxHttpRequest, decision_id: Any) -> HttpResponse:
    if not request.htmx:
        raise Http404(GONE)
    context = {
        "message": GONE,
        "is_row": request.htmx.target != "decision-review",
        "oob": True,
    }
    return TemplateResponse(request, "traces/_review_gone.html", context, status=404)
