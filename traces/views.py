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
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, replace_url
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
from traces.claims import claim_blocks, decision_claim
from traces.evidence.corrections import corrections_apply
from traces.feedback import FeedbackError, event_feedback_record, feedback_latest
from traces.filters import (
    DECISION_ORDER_DECIDED,
    SORT_BEST,
    DecisionFilterSet,
    EventFilterSet,
    KnownAtForm,
    PeriodForm,
    ReviewFilterSet,
    active_filter_chips,
)
from traces.forms import FeedbackForm
from traces.models import ActorRecord, EventRecord
from traces.pagination import Cursor, Page, keyset_page
from traces.querysets import AUDIT_EVENT_PREFIX, EventRecordQuerySet
from traces.review_selectors import (
    QUEUE_OUTCOMES,
    decision_detail,
    review_decision_types,
    review_item,
    review_not_overdue,
    review_overdue,
    review_page,
    review_tab_counts,
    user_can_review,
)
from traces.search import (
    SEARCH_RANK_WINDOW,
    highlight,
    search_best,
    search_match_count,
    search_match_limit,
    search_ranked_ids,
)
from traces.selectors import actor_shown, can_view_decisions, events_visible, events_visible_to
from traces.ui.actors import actor_summary
from traces.ui.charts import PERIODS
from traces.ui.common import PAGE_SIZE, known_event_types, pending_decisions_count
from traces.ui.dashboard import dashboard_summary
from traces.ui.decisions import decisions_page
from traces.ui.events import approval_decisions_attach, event_detail
from traces.ui.history import object_history_page

__all__ = [
    "actor_detail",
    "dashboard",
    "decision_detail_view",
    "decision_list",
    "decision_review",
    "event_detail_view",
    "event_feedback",
    "object_history_view",
    "review_queue",
    "timeline",
]

DONE = "{Action} “{decision_type}”."
CLAIMED_BY_OTHER = (
    "Being reviewed by {who} since {since}. Tick “Act anyway” and submit again to act yourself."
)
REPLAYED = "This form was already sent: the decision is {outcome}; nothing changed now."
GONE = "This decision was deleted or no longer exists; it cannot be reviewed."
NO_VIEW_PERMISSION = "You have no permission to view decisions."
NO_FEEDBACK_PERMISSION = "You have no permission to give feedback on events."
FEEDBACK_SAVED = "Marked {label}."
SEARCH_CAPPED = (
    "These words are in more than {limit:,} events: the list covers the {limit:,} most "
    "recently recorded of them. Add a word or a filter to narrow it."
)


# Back from an event to a long timeline reloads at most this many rows (10 pages).
THROUGH_LIMIT = 300
# A best-match search shows this many rows, best first (ranking has no keyset pages): one
# page, as newest first shows (each row costs about 0.3 ms of CPU to render).
BEST_MATCH_LIMIT = PAGE_SIZE

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
    summary = dashboard_summary(
        period=PERIODS[form.cleaned_data["period"]],
        with_decisions=can_view_decisions(request.user),
    )
    context = {"form": form, "summary": summary, "pending_count": summary.pending_count}
    return _render(
        request, "traces/dashboard.html", context, partials={"dashboard": "traces/_dashboard.html"}
    )


def _drop_empty(request: HtmxHttpRequest) -> HttpResponse | None:
    """A redirect to the same list without its empty parameters (a plain form's GET), or None.

    A form sends every field; the address should name only the filter. htmx
    requests drop them before sending (static/js/app.js).
    """
    if request.htmx or not any("" in values for _, values in request.GET.lists()):
        return None
    query = QueryDict(mutable=True)
    for name, values in request.GET.lists():
        kept = [value for value in values if value != ""]
        if kept:
            query.setlist(name, kept)
    return redirect(f"{request.path}?{query.urlencode()}" if query else request.path)


@_no_store
@require_GET
@login_required
def timeline(request: HtmxHttpRequest) -> HttpResponse:
    if cleaner := _drop_empty(request):
        return cleaner
    with_decisions = can_view_decisions(request.user)
    visible = events_visible(EventRecord.objects.all(), with_decisions=with_decisions)
    scrolling = _is_partial(request) and request.htmx.target == "timeline-more"
    # The filter form (and its suggestions) is not part of a scroll response. The
    # search reuses the stored types to tell the review trail apart.
    stored_types = None if scrolling else known_event_types()
    filterset = EventFilterSet(
        request.GET or None,
        queryset=visible,
        with_review_trail=with_decisions,
        event_types=stored_types,
    )
    if not with_decisions:
        # Filtering by approval status would tell the outcome of decisions.
        if request.GET.get("approval"):
            raise PermissionDenied(NO_VIEW_PERMISSION)
        del filterset.filters["approval"]
    context: dict[str, Any] = {
        "filterset": filterset,
        "event_types": [
            value
            for value in stored_types or ()
            if with_decisions or not value.startswith(AUDIT_EVENT_PREFIX)
        ],
        "cursor": request.GET.get("cursor", ""),
    }
    status = 200
    if filterset.is_bound and not filterset.is_valid():
        status = 400
    else:
        try:
            through = request.GET.get("through", "")
            text = filterset.form.cleaned_data.get("q") if filterset.is_bound else ""
            best = bool(text) and filterset.form.cleaned_data.get("sort") == SORT_BEST
            limit = search_match_limit(text)
            best_count = 0
            if best:
                # Best match: the best-ranked matches among the filtered events, one page.
                # The list of the filter set (filterset.qs) is not read: no count of its own.
                others = _without(request.GET, "q")
                for name in ("sort", "cursor", "through"):
                    others.pop(name, None)
                if any(value for _, values in others.lists() for value in values):
                    restrict = EventRecord.objects.filter(
                        pk__in=EventFilterSet(
                            others, queryset=visible, with_review_trail=with_decisions
                        ).qs.values("pk")
                    )
                    best_count = search_match_count(
                        text,
                        cap=limit + 1,
                        with_review_trail=with_decisions,
                        event_types=stored_types,
                    )
                    # At most the limit of matches: rank them all (no "most recent"
                    # bound to find first; a prefix misjudged by PostgreSQL's planner
                    # made that a walk of every document). None: nothing to rank.
                    ids = (
                        search_ranked_ids(
                            text,
                            restrict,
                            limit=BEST_MATCH_LIMIT,
                            match_limit=limit if best_count > limit else None,
                            with_review_trail=with_decisions,
                            event_types=stored_types,
                        )
                        if best_count
                        else []
                    )
                else:
                    best_count, ids = search_best(
                        text,
                        limit=BEST_MATCH_LIMIT,
                        cap=limit + 1,
                        with_review_trail=with_decisions,
                        event_types=stored_types,
                    )
                best_rows = visible.for_display().filter(pk__in=ids)
                found = {event.pk: event for event in best_rows}
                context["page"] = Page(
                    items=[found[pk] for pk in ids if pk in found], next_cursor=None
                )
                context["best_match"] = True
            else:
                rows = cast(
                    EventRecordQuerySet, filterset.qs
                ).for_display()  # django-filter: QuerySet[Any]
                if through and not scrolling and not context["cursor"]:
                    # Back from an event: every row the reader had scrolled to, again.
                    context["page"] = _rows_through(rows, through)
                else:
                    context["page"] = keyset_page(
                        rows, cursor=context["cursor"] or None, limit=PAGE_SIZE
                    )
            known_at = filterset.form.cleaned_data.get("known_at") if filterset.is_bound else None
            corrections_apply(context["page"].items, known_at=known_at)
            _attach_feedback(context["page"].items)
            approval_decisions_attach(context["page"].items)
            if text:
                _attach_snippets(context["page"].items, text)
            if text and not scrolling:
                count = filterset.match_count if filterset.match_count is not None else best_count
                context["match_count"] = count
                context["match_capped"] = count > limit
                context["search_limit"] = f"{limit:,}"
                context["search_window"] = f"{SEARCH_RANK_WINDOW:,}"
                if filterset.match_limited and not best:
                    context["search_capped"] = SEARCH_CAPPED.format(limit=limit)
        except InvalidCursorError as exc:
            context["cursor_error"] = str(exc)
            status = 400
        context["chips"] = active_filter_chips(filterset)
    response = _render(
        request,
        "traces/timeline.html",
        context,
        partials={"timeline": "traces/_timeline.html", "timeline-more": "traces/_more.html"},
        status=status,
    )
    page = context.get("page")
    if scrolling and page is not None and page.items and request.htmx.current_url_abs_path:
        # The address names every row loaded so far, so Back from an event restores them.
        last = Cursor.of(page.items[-1]).encode()
        replace_url(response, _with_param(request.htmx.current_url_abs_path, "through", last))
    return response


def _with_param(url: str, name: str, value: str) -> str:
    """``url`` with one query parameter set (and ``cursor`` dropped)."""
    parts = urlsplit(url)
    query = QueryDict(parts.query, mutable=True)
    query.pop("cursor", None)
    query[name] = value
    return urlunsplit(("", "", parts.path, query.urlencode(), ""))


def _rows_through(queryset: EventRecordQuerySet, through: str) -> Page[EventRecord]:
    """The rows from the newest down to the one at ``through`` (a cursor), at most
    ``THROUGH_LIMIT``; the page's next cursor continues after them.

    Raises:
        InvalidCursorError: ``through`` is not a cursor of this list.
    """
    position = Cursor.decode(through)
    upto = queryset.filter(
        Q(effective_at__gt=position.effective_at)
        | Q(effective_at=position.effective_at, id__gte=position.id)
    )
    page = keyset_page(upto, limit=THROUGH_LIMIT)
    if page.next_cursor is None and page.items:
        last = Cursor.of(page.items[-1])
        older = queryset.filter(
            Q(effective_at__lt=last.effective_at)
            | Q(effective_at=last.effective_at, id__lt=last.id)
        )
        if older.exists():
            return Page(items=page.items, next_cursor=last.encode())
    return page


def _attach_feedback(events: list[EventRecord]) -> None:
    """Give each row its latest label (``event.latest_feedback``, None if unlabelled): one query."""
    latest = feedback_latest(event.pk for event in events)
    for event in events:
        vars(event)["latest_feedback"] = latest.get(event.pk)


def _without(data: QueryDict, name: str) -> QueryDict:
    copy = data.copy()
    copy.pop(name, None)
    return copy


def _attach_snippets(events: list[EventRecord], text: str) -> None:
    """Give each row the part of its text where the words matched (``event.search_snippet``)."""
    for event in events:
        reasons = event.rejection_reasons if isinstance(event.rejection_reasons, dict) else {}
        places = [
            ("reasoning", event.reasoning),
            ("rejection reasons", " · ".join(f"{key}: {value}" for key, value in reasons.items())),
            ("description", event.description),
        ]
        vars(event)["search_snippet"] = next(
            ((place, snippet) for place, body in places if (snippet := highlight(body, text))),
            None,
        )


@_no_store
@require_GET
@login_required
def event_detail_view(request: HtmxHttpRequest, event_id: Any) -> HttpResponse:
    known_at = _known_at(request)
    # A review-trail event (decision.*) is a 404 for a user who may not view decisions.
    events = events_visible_to(EventRecord.objects.for_display(), request.user)
    if known_at is not None:
        events = events.recorded_before(known_at)
    event = get_object_or_404(events, pk=event_id)
    return _event_page(request, event, known_at=known_at)


def _known_at(request: HtmxHttpRequest) -> datetime | None:
    """``?known_at=`` (ISO 8601; naive means the site's time zone); a bad value is a 400."""
    form = KnownAtForm(request.GET)
    if not form.is_valid():
        problems: list[str] = [str(problem) for problem in form.errors.get("known_at") or []]
        raise BadRequest("known_at: " + " ".join(problems))
    known_at: datetime | None = form.cleaned_data["known_at"]
    return known_at


def _event_page(
    request: HtmxHttpRequest,
    event: EventRecord,
    *,
    form: FeedbackForm | None = None,
    error: str = "",
    status: int = 200,
    known_at: datetime | None = None,
) -> TemplateResponse:
    can_review = can_view_decisions(request.user)
    detail = event_detail(event, with_decisions=can_review, known_at=known_at)
    context = {
        "detail": detail,
        "known_at": known_at,
        "event": event,
        "feedback": feedback_latest([event.pk]).get(event.pk),
        "feedback_form": form or FeedbackForm(initial={"place": "page"}),
        "feedback_error": error,
        "can_give_feedback": can_review,
        "place": "page",
    }
    return TemplateResponse(request, "traces/event_detail.html", context, status=status)


@_no_store
@require_http_methods(["GET", "POST"])
def event_feedback(request: HtmxHttpRequest, event_id: Any) -> HttpResponse:
    """Mark an event correct, incorrect or unsure (``FeedbackForm``), as the signed-in reviewer.

    GET (htmx, from a timeline row) answers the row's box with the form open;
    a plain GET goes to the event page's box. POST: htmx gets the updated
    feedback box (the page's or the row's, by the form's ``place``); a plain
    post is redirected back (PRG) with a message, or gets the event page
    again with the errors (400).
    """
    page = reverse("traces:event_detail", args=[event_id])
    if request.method == "GET":
        if not request.htmx:
            return redirect(f"{page}#feedback-{event_id}")
        if not request.user.is_authenticated:
            return HttpResponseClientRedirect(redirect_to_login(page).url)
        if not can_view_decisions(request.user):
            raise PermissionDenied(NO_FEEDBACK_PERMISSION)
        event = get_object_or_404(EventRecord, pk=event_id)
        return _feedback_box(request, event, place="row", opened=True)
    if not request.user.is_authenticated:
        if request.htmx:
            back = request.htmx.current_url_abs_path or page
            return HttpResponseClientRedirect(redirect_to_login(back).url)
        return redirect_to_login(page)
    if not can_view_decisions(request.user):
        raise PermissionDenied(NO_FEEDBACK_PERMISSION)
    event = get_object_or_404(EventRecord.objects.select_related("actor"), pk=event_id)
    form = FeedbackForm(request.POST)
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            event_feedback_record(
                event=event,
                user=request.user,
                label=data["label"],
                note=data["note"],
                corrected_value=data["corrected_value"],
            )
        except FeedbackError as exc:
            error = str(exc)
        else:
            notice = FEEDBACK_SAVED.format(label=data["label"])
            if not request.htmx:
                messages.success(request, notice)
                return redirect(_safe_next(request, page))
            return _feedback_box(request, event, place=data["place"], notice=notice)
    else:
        error = " ".join(map(str, form.errors.get("place") or []))
    place = "row" if form.data.get("place") == "row" else "page"
    if not request.htmx:
        return _event_page(request, event, form=form, error=error, status=400)
    return _feedback_box(request, event, place=place, form=form, error=error, status=400)


def _feedback_box(
    request: HtmxHttpRequest,
    event: EventRecord,
    *,
    place: str,
    form: FeedbackForm | None = None,
    notice: str = "",
    error: str = "",
    status: int = 200,
    opened: bool = False,
) -> TemplateResponse:
    context = {
        "feedback_open": opened,
        "event": event,
        "feedback": feedback_latest([event.pk]).get(event.pk),
        "feedback_form": form or FeedbackForm(initial={"place": place}),
        "feedback_error": error,
        "feedback_notice": notice,
        "next_url": _safe_next(request, reverse("traces:event_detail", args=[event.pk]))
        if request.method == "POST"
        else (request.htmx.current_url_abs_path or ""),
        "can_give_feedback": True,
        "place": place or "page",
    }
    return TemplateResponse(request, "traces/_feedback.html", context, status=status)


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
            with_decisions=can_view_decisions(request.user),
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
    with_decisions = can_view_decisions(request.user)
    if not actor_shown(actor, with_decisions=with_decisions):
        raise Http404("No actor has this type and id.")
    form = PeriodForm(request.GET)
    context: dict[str, Any] = {"actor": actor, "form": form}
    status = 200
    if form.is_valid():
        context["summary"] = actor_summary(
            actor,
            period=PERIODS[form.cleaned_data["period"]],
            with_decisions=with_decisions,
        )
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
    if cleaner := _drop_empty(request):
        return cleaner
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
            order = filterset.form.cleaned_data.get("order") if filterset.is_bound else ""
            context["recently_decided"] = order == DECISION_ORDER_DECIDED
            context["page"] = decisions_page(
                filterset.qs,
                cursor=request.GET.get("cursor") or None,
                newest_first=not target_id,
                recently_decided=context["recently_decided"],
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
    if not can_view_decisions(request.user):
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
        queryset = filterset.qs
        if not filterset.form.cleaned_data.get("overdue"):
            # Overdue first: the most overdue above the list, which then holds the rest.
            now = timezone.now()
            if not context["cursor"] and not appending:
                context["overdue"], context["overdue_count"] = review_overdue(
                    queryset, user=request.user, now=now
                )
            queryset = review_not_overdue(queryset, now=now)
        try:
            context["page"] = review_page(
                queryset, user=request.user, cursor=context["cursor"] or None
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
    if claim_blocks(decision, request.user) and request.POST.get("confirm_claim") != "1":
        claimer = decision.claimed_by.get_username() if decision.claimed_by else "someone"
        since = (
            timezone.localtime(decision.claimed_at).strftime("%H:%M") if decision.claimed_at else ""
        )
        return _review_answer(
            request,
            decision,
            next_url=next_url,
            status=409,
            error=CLAIMED_BY_OTHER.format(who=claimer, since=since),
        )
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


@require_POST
@login_required
def decision_claim_view(request: HtmxHttpRequest, decision_id: Any) -> HttpResponse:
    """Claim one decision for review (a lock others see; it expires)."""
    _require_decision_viewer(request)
    page = reverse("traces:decision_detail", args=[decision_id])
    next_url = _safe_next(request, page)
    decision = Decision.objects.filter(pk=decision_id).first()
    if decision is None:
        return _review_gone(request, decision_id)
    try:
        decision_claim(
            decision=decision,
            user=request.user,  # type: ignore[arg-type]
            can_review=user_can_review(request.user),
        )
    except DecisionPermissionError as exc:
        return _review_answer(request, decision, next_url=next_url, status=403, error=str(exc))
    notice = f"You are reviewing {decision.decision_type}."
    if not request.htmx:
        messages.success(request, notice)
        return redirect(next_url)
    return _review_answer(request, decision, next_url=next_url, status=200, notice=notice)


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
        Decision.objects.select_related("decided_by", "target_content_type", "claimed_by")
        .filter(pk=decision.pk)
        .first()
    )
    if fresh is None:
        return _review_gone(request, decision.pk)
    errors = [error] if error else []
    reason_error = ""
    if form is not None:
        reason_error = " ".join(str(message) for message in form.errors.get("reason", []))
        errors.extend(
            str(message)
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
