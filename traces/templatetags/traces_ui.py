"""Template filters for rendering trace events: first lines, JSON, confidence, durations."""

from __future__ import annotations

import json
import math
import uuid
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import timesince_filter, urlencode
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.timezone import localtime
from django.utils.translation import get_language

from traces.ui.common import PENDING_COUNT_CAP, pending_decisions_count

register = template.Library()


# Choice labels by (model, field, language): a few models and fields, a language or two.
_CHOICE_LABELS: dict[tuple[type[Any], str, str], dict[Any, str]] = {}


def choice_label(instance: Any, field: str) -> Any:
    """``instance.get_<field>_display()``, from a table made once per model, field and language.

    Django's own builds a dict of every choice and translates the label on each call:
    about 6 calls a list row made that 1 ms of a 30-row page.
    """
    model = type(instance)
    if not hasattr(model, "_meta"):
        # Not a model row (a value object standing in for one): its own method.
        return getattr(instance, f"get_{field}_display")()
    key = (model, field, get_language() or "")
    labels = _CHOICE_LABELS.get(key)
    if labels is None:
        choices = model._meta.get_field(field).flatchoices
        labels = _CHOICE_LABELS[key] = {value: str(label) for value, label in choices}
    value = getattr(instance, field)
    return labels.get(value, value)


FIRST_LINE_LENGTH = 200


@register.filter
def first_line(text: str) -> str:
    """The first non-blank line of ``text``, cut at 200 characters with an ellipsis."""
    for line in str(text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= FIRST_LINE_LENGTH else line[: FIRST_LINE_LENGTH - 1] + "…"
    return ""


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON (escaped by the template like any other text)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.filter
def percent(value: float | None) -> str:
    """0.874 -> "87%"; empty for no value."""
    if value is None:
        return ""
    return f"{round(value * 100)}%"


@register.filter
def seconds(value: float | None) -> str:
    """A duration in seconds, in the unit that reads best: 350 ms, 4.2 s, 3 min 5 s."""
    if value is None or not math.isfinite(value):
        return ""
    if value < 1:
        return f"{round(value * 1000)} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


@register.filter
def minutes(value: timedelta) -> int:
    """A duration in whole minutes, rounded up (a lockout of 90 s reads "2 minutes")."""
    return math.ceil(value.total_seconds() / 60)


# A page links the same actors and objects many times: reverse() each (type, id) once per
# script prefix (rendering cost, issue 18 point 1). Bounded, so hostile ids cannot grow it.
@lru_cache(maxsize=4096)
def _reverse_or_empty(prefix: str, name: str, first: str, second: str) -> str:
    try:
        return reverse(name, args=[first, second])
    except NoReverseMatch:
        return ""


@register.filter
def actor_url(actor: Any) -> str:
    """The actor's page, or "" when a stored row's type or id cannot be a URL (no link then)."""
    return _reverse_or_empty(
        get_script_prefix(), "traces:actor_detail", actor.actor_type, actor.actor_id
    )


@register.filter
def object_url(obj: Any) -> str:
    """The object's history page, or "" when a stored row's type or id cannot be a URL."""
    return _reverse_or_empty(
        get_script_prefix(), "traces:object_history", obj.object_type, obj.object_id
    )


_PLACEHOLDER = uuid.UUID(int=0)


@lru_cache(maxsize=64)
def _uuid_url_parts(prefix: str, name: str) -> tuple[str, str]:
    head, _, tail = reverse(name, args=[_PLACEHOLDER]).partition(str(_PLACEHOLDER))
    return head, tail


@register.filter
def uuid_url(pk: uuid.UUID, name: str) -> str:
    """``{% url name pk %}`` for a view taking one UUID, without a reverse() per row."""
    head, tail = _uuid_url_parts(get_script_prefix(), name)
    return f"{head}{uuid.UUID(str(pk))}{tail}"


_NO_ACTOR = mark_safe(
    '<span class="actor-badge actor-none"><span class="actor-kind">No actor</span></span>'
)


@register.simple_tag
def actor_badge(actor: Any) -> SafeString:
    """An actor's badge (kind and name), a link to its page when it has one; "No actor" without.

    Built here rather than in an included template: a list renders it once per row.
    """
    if not actor:
        return _NO_ACTOR
    href = actor_url(actor)
    inner = format_html(
        '<span class="actor-kind">{}</span><span class="actor-name">{}</span>',
        choice_label(actor, "actor_type"),
        actor.name or actor.actor_id,
    )
    if href:
        return format_html(
            '<a href="{}" class="actor-badge actor-{}">{}</a>', href, actor.actor_type, inner
        )
    return format_html('<span class="actor-badge actor-{}">{}</span>', actor.actor_type, inner)


_OUTCOME_BADGES = {
    "proposal": ("proposed", "Proposal"),
    "rejected": ("proposal-rejected", "Proposal rejected"),
    "open": ("proposed", "Proposed, not applied"),
}


@register.simple_tag
def outcome_badge(event: Any, show_decisions: Any) -> SafeString:
    """An event's outcome, or what its proposal is (``proposal_state``), as a badge."""
    state = proposal_state(event, show_decisions)
    css, label = _OUTCOME_BADGES.get(state) or (event.outcome, choice_label(event, "outcome"))
    return format_html(
        '<span class="outcome outcome-{}"><span class="outcome-icon" aria-hidden="true"></span>'
        "{}</span>",
        css,
        label,
    )


@register.filter
def capped_count(count: int) -> str:
    """A count read up to ``PENDING_COUNT_CAP``: ``"1000+"`` when it reached it."""
    return f"{count}+" if count >= PENDING_COUNT_CAP else str(count)


@register.simple_tag(takes_context=True)
def pending_count(context: template.Context) -> int:
    """The pending-decisions count for the navigation; reuses one the view already computed."""
    if "pending_count" in context:
        count: int = context["pending_count"]
        return count
    return pending_decisions_count()


@register.filter
def proposal_state(event: Any, show_decisions: Any) -> str:
    """What a needs-approval event is: "" (none, or approved: a fact), "proposal" (status
    hidden from this user), "rejected", or "open" (pending, deferred or escalated)."""
    if not getattr(event, "requires_approval", False):
        return ""
    if not show_decisions:
        return "proposal"
    status = getattr(event, "approval_status", "")
    if status == "approved":
        return ""
    return "rejected" if status == "rejected" else "open"


# The numbers a reader looks for first, in this order, in the main object's state or the context.
_KEY_NUMBERS = (
    ("quantity", "quantity"),
    ("qty", "quantity"),
    ("amount", "amount"),
    ("refund_amount", "refund"),
    ("total", "total"),
    ("price", "price"),
    ("new_price", "price"),
)
_MONEY = {"amount", "refund", "total", "price"}


@register.filter
def subject(event: Any) -> str:
    """What an event is about: its main object and key numbers, e.g.
    "Product SKU-100 · quantity 40" or "Order ord-123 · refund 99.99 EUR" ("" when unknown).

    Reads the prefetched tracked objects (``for_display``): no query.
    """
    objects = list(event.tracked_objects.all()) if hasattr(event, "tracked_objects") else []
    if not objects:
        return ""
    main = objects[0]
    parts = [f"{choice_label(main, 'object_type')} {main.external_id or main.object_id}"]
    order = next((o for o in objects[1:] if o.object_type == "order"), None)
    if order is not None:
        parts.append(f"order {order.object_id}")
    sources = [
        s for s in (main.state_after, event.context, main.state_before) if isinstance(s, dict)
    ]
    shown: set[str] = set()
    for key, label in _KEY_NUMBERS:
        if label in shown:
            continue
        source = next((s for s in sources if isinstance(s.get(key), int | float | str)), None)
        if source is None or isinstance(source[key], bool) or source[key] == "":
            continue
        value = f"{source[key]}"
        currency = source.get("currency")
        if label in _MONEY and isinstance(currency, str) and currency:
            value = f"{value} {currency}"
        parts.append(f"{label} {value}")
        shown.add(label)
    return " · ".join(parts)


def _time(at: Any) -> SafeString:
    """``<time>`` with the ISO datetime, the exact local time as its title and "… ago"."""
    local = localtime(at)
    return format_html(
        '<time datetime="{}" title="{}">{} ago</time>',
        local.isoformat(),
        date_filter(local, "Y-m-d H:i:s T"),
        timesince_filter(at),
    )


def approval_caption(event: Any) -> SafeString:
    decision = getattr(event, "approval_decision", None)
    by = getattr(decision, "decided_by", None)
    if not by:
        return SafeString("")
    reason = decision.reason  # type: ignore[union-attr]
    return format_html(
        '<span class="approval-by">by {}{}</span>',
        by.get_username(),
        format_html(": “{}”", Truncator(reason).chars(140)) if reason else "",
    )


def _feedback_box(event: Any, feedback: Any, show_decisions: Any) -> SafeString:
    latest = SafeString("")
    if feedback:
        latest = format_html(
            '\n    <p class="feedback-latest"><span class="feedback-label feedback-{}">{}</span>'
            " by <strong>{}</strong> {}{}{}</p>",
            feedback.label,
            feedback.label_display,
            feedback.by,
            _time(feedback.at),
            format_html(": “{}”", first_line(feedback.note)) if feedback.note else "",
            format_html(' <span class="muted">· should be</span> {}', feedback.corrected_value)
            if feedback.corrected_value
            else "",
        )
    link = SafeString("")
    if show_decisions:
        url = uuid_url(event.pk, "traces:event_feedback")
        link = format_html(
            '\n  <a class="feedback-open" href="{}?place=row" hx-get="{}?place=row"'
            ' hx-target="#feedback-{}" hx-swap="outerHTML">{}</a>',
            url,
            url,
            event.pk,
            "Label again" if feedback else "Give feedback",
        )
    return format_html(
        '<section id="feedback-{}" class="feedback-row" aria-labelledby="feedback-title-{}">\n'
        '  <h3 id="feedback-title-{}" class="visually-hidden">Feedback</h3>{}{}\n</section>',
        event.pk,
        event.pk,
        event.pk,
        latest,
        link,
    )


def risk_badges(event: Any, *, with_confidence: bool = True) -> list[SafeString]:
    """The event's risk level and (unless told not to) confidence badges; either may be absent."""
    badges = []
    if event.risk_level:
        badges.append(
            format_html(
                '<span class="risk risk-{}">Risk {}</span>',
                event.risk_level,
                str(choice_label(event, "risk_level")).lower(),
            )
        )
    if with_confidence and event.confidence is not None:
        badges.append(
            format_html(
                '<span class="confidence" title="Confidence"><meter min="0" max="1" value="{}"'
                ' aria-hidden="true"></meter>{} confident</span>',
                f"{event.confidence:.3f}",
                percent(event.confidence),
            )
        )
    return badges


def why_line(reasoning: str) -> SafeString:
    """The "Why" line of a row: the first line of the reasoning."""
    return format_html(
        '<p class="event-why"><span class="why-label">Why</span> {}</p>', first_line(reasoning)
    )


def event_href(context: template.Context, event: Any) -> str:
    """The event page's address, keeping the page's ``known_at`` (as known at) if any."""
    request = context.get("request")
    known_at = request.GET.get("known_at") if request is not None else None
    href = uuid_url(event.pk, "traces:event_detail")
    return f"{href}?known_at={urlencode(known_at)}" if known_at else href


@register.simple_tag(takes_context=True)
def event_row(context: template.Context, event: Any) -> SafeString:
    """One timeline row (``<li class="event-row">``), built here in one pass.

    A list renders thirty of these a page: as a template with includes it cost about
    0.5 ms a row in template nodes alone (issue 18 point 1). Everything goes through
    ``format_html``, so stored text is escaped exactly as the template did.
    """
    show_decisions = context.get("show_decisions")
    href = event_href(context, event)
    local = localtime(event.effective_at)
    about = subject(event)
    snippet = getattr(event, "search_snippet", None)
    if snippet:
        why = format_html(
            '\n      <p class="event-match"><span class="why-label">Matched in {}</span> {}</p>',
            snippet[0],
            snippet[1],
        )
    elif event.reasoning:
        why = format_html("\n      {}", why_line(event.reasoning))
    else:
        why = SafeString("")
    meta = [actor_badge(event.actor), outcome_badge(event, show_decisions), *risk_badges(event)]
    if show_decisions and event.approval_status:
        meta.append(
            format_html(
                '<span class="approval approval-{}">{}</span>{}',
                event.approval_status,
                choice_label(event, "approval_status"),
                approval_caption(event),
            )
        )
    objects = list(event.tracked_objects.all())
    tags = event.tags or ()
    links = SafeString("")
    if objects or tags:
        links = format_html(
            '\n      <div class="event-objects">\n        {}\n        {}\n      </div>',
            format_html_join(
                "",
                '<a class="object-link" href="{}"><span class="object-kind">{}</span> {}</a>',
                (
                    (url, choice_label(obj, "object_type"), obj.object_id)
                    for obj in objects
                    if (url := object_url(obj))
                ),
            ),
            format_html_join("", '<span class="tag">#{}</span>', ((tag,) for tag in tags)),
        )
    feedback = getattr(event, "latest_feedback", None)
    box = (
        format_html("\n      {}", _feedback_box(event, feedback, show_decisions))
        if feedback or show_decisions
        else ""
    )
    return format_html(
        '<li class="event-row">\n'
        '  <article class="event" aria-labelledby="ev-{}">\n'
        '    <div class="event-time">\n'
        "      {}\n"
        '      <span class="exact">{}</span>\n'
        "    </div>\n"
        '    <div class="event-body">\n'
        '      <div class="event-headline">\n'
        '        <code class="event-type">{}</code>\n'
        '        <a id="ev-{}" class="event-title" href="{}">{}</a>\n'
        "      </div>{}{}\n"
        '      <div class="event-meta">\n        {}\n      </div>{}{}\n'
        "    </div>\n"
        "  </article>\n"
        "</li>",
        event.pk,
        _time(event.effective_at),
        date_filter(local, "M j, H:i"),
        event.event_type,
        event.pk,
        href,
        event.description or event.event_type,
        format_html('\n      <p class="event-subject">{}</p>', about) if about else "",
        why,
        format_html_join("\n        ", "{}", ((part,) for part in meta)),
        links,
        box,
    )
