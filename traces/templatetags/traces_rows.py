"""List rows built in one pass: the review queue, the decision list, an object's history, the
dashboard's lists (issue 18 point 1).

A list renders 25 - 50 of these a page; as templates with per-row ``{% include %}``s each
cost 0.3 - 0.6 ms in template nodes alone. Everything goes through ``format_html``, so
stored text is escaped exactly as the templates did, and the markup is the templates'.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import timesince_filter, timeuntil_filter, urlencode
from django.urls import reverse
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from traces.templatetags.traces_ui import (
    actor_badge,
    approval_caption,
    capped_count,
    event_href,
    first_line,
    object_url,
    outcome_badge,
    proposal_state,
    risk_badges,
    subject,
    uuid_url,
    why_line,
)

register = template.Library()

_EMPTY = SafeString("")
_DASH = SafeString('<span class="muted">—</span>')


def _date(value: datetime | None, fmt: str) -> str:
    """``{{ value|date:fmt }}``: in the current time zone, "" for no value."""
    if value is None:
        return ""
    if fmt == "c":
        return localtime(value).isoformat()  # what the "c" format is, without parsing it
    return date_filter(localtime(value), fmt)


def _before(first: Any, second: Any) -> bool:
    """``{% if first < second %}``: False when the two cannot be compared (e.g. None)."""
    try:
        return bool(first < second)
    except TypeError:
        return False


def _at_most(first: Any, second: Any) -> bool:
    """``{% if first <= second %}``: False when the two cannot be compared."""
    try:
        return bool(first <= second)
    except TypeError:
        return False


def _join(parts: Iterable[SafeString | str], sep: str = "\n") -> SafeString:
    return format_html_join(sep, "{}", ((part,) for part in parts if part))


def _csrf_input(context: template.Context) -> SafeString:
    """``{% csrf_token %}``."""
    token = context.get("csrf_token")
    if not token or token == "NOTPROVIDED":
        return _EMPTY
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)


def _username(user: Any) -> str:
    return str(user.get_username())


@register.simple_tag
def review_tab_count(key: str, count: int, oob: Any = False) -> SafeString:
    """A queue tab's count, ``1000+`` from the cap on (swapped out of band when ``oob``)."""
    return format_html(
        '<span id="tab-count-{}" class="tab-count"{}>{}</span>\n',
        key,
        SafeString(' hx-swap-oob="true"') if oob else _EMPTY,
        capped_count(count),
    )


def _review_hitl(context: template.Context, decision: Any) -> SafeString:
    """The rule that sent it to review, its due time, and who is reviewing it."""
    if not (decision.rule or decision.due_at or decision.claimed_by):
        return _EMPTY
    parts: list[SafeString] = []
    if decision.rule:
        parts.append(
            format_html(
                '<span class="review-rule">Needs approval: rule &lsquo;{}&rsquo;</span>',
                decision.rule,
            )
        )
    if decision.due_at:
        if _before(decision.due_at, context.get("now")):
            parts.append(
                format_html(
                    '<span class="risk risk-high">Overdue since {}</span>',
                    timesince_filter(decision.due_at),
                )
            )
        elif decision.outcome == "pending":
            parts.append(
                format_html(
                    '<span class="muted">due in {}</span>', timeuntil_filter(decision.due_at)
                )
            )
    if (
        decision.claimed_by
        and decision.claimed_at
        and _before(context.get("claim_cutoff"), decision.claimed_at)
    ):
        parts.append(
            format_html(
                '<span class="review-claim">Being reviewed by {} since {}</span>',
                _username(decision.claimed_by),
                _date(decision.claimed_at, "H:i"),
            )
        )
    return format_html('<p class="review-hitl small">\n  {}\n</p>', _join(parts, "\n  "))


def _review_last(decision: Any) -> SafeString:
    """Who decided it last, when, and why."""
    if decision.outcome == "pending":
        state: SafeString = SafeString("Reopened")
    else:
        state = format_html(
            '<span class="approval approval-{}">{}</span>',
            decision.outcome,
            decision.get_outcome_display(),
        )
    by = _username(decision.decided_by) if decision.decided_by else "a removed user"
    when = _EMPTY
    if decision.decided_at:
        when = format_html(
            ' <time datetime="{}" title="{}">{} ago</time>',
            _date(decision.decided_at, "c"),
            _date(decision.decided_at, "Y-m-d H:i:s T"),
            timesince_filter(decision.decided_at),
        )
    why = format_html(": “{}”", first_line(decision.reason)) if decision.reason else _EMPTY
    return format_html("{} by <strong>{}</strong>{}{}\n", state, by, when, why)


@register.simple_tag(takes_context=True)
def review_form(context: template.Context, item: Any, panel: Any = False) -> SafeString:
    """The review form of a queue row (``panel``: of the decision page) and its claim form."""
    decision = item.decision
    if not item.actions:
        if decision.outcome == "escalated":
            text: Any = (
                "Escalated decisions are decided by a senior admin; you can follow them here."
            )
        elif decision.outcome in ("approved", "rejected"):
            text = format_html("{} is final.", decision.get_outcome_display())
        else:
            text = "You can view this decision; deciding it needs an admin."
        return format_html('\n<p class="muted small review-view-only">{}</p>\n', text)
    user = context.get("user")
    user_pk = getattr(user, "pk", None)
    cutoff = context.get("claim_cutoff")
    next_url = context.get("next_url", "")
    csrf = _csrf_input(context)
    review_url = uuid_url(decision.pk, "traces:decision_review")
    reason_error = context.get("reason_error")
    pk = decision.pk
    invalid = (
        format_html(' aria-invalid="true" aria-describedby="reason-{}-error"', pk)
        if reason_error
        else _EMPTY
    )
    error = (
        format_html('<p id="reason-{}-error" class="errorlist">{}</p>', pk, reason_error)
        if reason_error
        else _EMPTY
    )
    claimed_by_other = (
        decision.claimed_by
        and decision.claimed_by_id != user_pk
        and _before(cutoff, decision.claimed_at)
    )
    act_anyway = (
        format_html(
            '<label class="small"><input type="checkbox" name="confirm_claim" value="1"> '
            "Act anyway (being reviewed by {})</label>",
            _username(decision.claimed_by),
        )
        if claimed_by_other
        else _EMPTY
    )
    claim = _EMPTY
    if (
        not decision.claimed_by_id
        or decision.claimed_by_id != user_pk
        or _at_most(decision.claimed_at, cutoff)
    ):
        claim = format_html(
            '<form class="claim-form" method="post" action="{}">{}'
            '<input type="hidden" name="next" value="{}">'
            '<button type="submit" class="review-claim-button">Claim for review</button></form>',
            uuid_url(pk, "traces:decision_claim"),
            csrf,
            next_url,
        )
    return format_html(
        '\n<form class="review-form" method="post" action="{}"\n'
        '      hx-post="{}" hx-target="{}" hx-swap="outerHTML" hx-disabled-elt="find button">\n'
        "  {}\n"
        '  <input type="hidden" name="request_token" value="{}">\n'
        '  <input type="hidden" name="seen_outcome" value="{}">\n'
        '  <input type="hidden" name="seen_decided_at" value="{}">\n'
        '  <input type="hidden" name="next" value="{}">\n'
        '  <label for="reason-{}">Reason <span class="muted small">'
        "(required to reject or escalate)</span></label>\n"
        '  <textarea id="reason-{}" name="reason" rows="2" maxlength="2000"{}>{}</textarea>\n'
        "  {}\n"
        "  {}\n"
        '  <div class="review-buttons">\n'
        "    {}\n"
        "  </div>\n"
        "</form>\n"
        "{}\n",
        review_url,
        review_url,
        "#decision-review" if panel else f"#review-row-{pk}",
        csrf,
        context.get("request_token") or item.request_token,
        decision.outcome,
        decision.decided_at.isoformat() if decision.decided_at else "",
        next_url,
        pk,
        pk,
        invalid,
        context.get("reason", ""),
        error,
        act_anyway,
        format_html_join(
            "",
            '<button type="submit" name="action" value="{}" class="review-action action-{}">'
            "{}</button>",
            ((action.value, action.value, action.label) for action in item.actions),
        ),
        claim,
    )


def _review_event_meta(event: Any) -> SafeString:
    parts = [
        format_html('<span class="muted">by</span> {}', actor_badge(event.actor)),
        *risk_badges(event),
    ]
    return format_html(
        '<div class="event-meta">\n          {}\n        </div>',
        _join(parts, "\n          "),
    )


@register.simple_tag(takes_context=True)
def review_row(context: template.Context, item: Any) -> SafeString:
    """One queue row (``<li class="card review-row">``): what is proposed, by whom, why, and
    the review form; after a review (``resolved``) who decided it."""
    decision = item.decision
    event = item.event
    pk = decision.pk
    decision_url = uuid_url(pk, "traces:decision_detail")
    event_url = uuid_url(event.pk, "traces:event_detail") if event else ""
    resolved = context.get("resolved")
    notice = context.get("notice")
    errors = context.get("errors")
    parts: list[SafeString | str] = [_review_hitl(context, decision)]
    if notice:
        parts.append(format_html('<p class="review-notice" role="status">{}</p>', notice))
    if errors:
        parts.append(
            format_html(
                '<div class="errors" role="alert">{}</div>',
                format_html_join("", "<p>{}</p>", ((error,) for error in errors)),
            )
        )
    if event:
        action = (
            format_html(' <span class="muted">action</span> <code>{}</code>', event.action)
            if event.action
            else _EMPTY
        )
        parts.append(
            format_html(
                '<p class="review-proposal"><a class="event-title" href="{}">{}</a>\n'
                '        <code class="event-type">{}</code>{}</p>',
                event_url,
                event.description or event.event_type,
                event.event_type,
                action,
            )
        )
        about = subject(event)
        if about:
            parts.append(format_html('<p class="event-subject">{}</p>', about))
    elif item.target:
        parts.append(
            format_html(
                '<p class="review-proposal"><span class="muted">About</span> {}</p>', item.target
            )
        )
    else:
        parts.append(
            format_html(
                '<p class="review-proposal muted">About {} {} (not found)</p>',
                decision.target_content_type.name,
                decision.target_id,
            )
        )
    if resolved:
        parts.append(
            format_html(
                '<p class="review-resolved small">{} · <a href="{}">Open the decision →</a></p>',
                _review_last(decision),
                decision_url,
            )
        )
    else:
        if event:
            parts.append(_review_event_meta(event))
        if item.reasoning:
            parts.append(why_line(item.reasoning))
        if decision.decided_at:
            parts.append(format_html('<p class="review-last small">{}</p>', _review_last(decision)))
        event_link = (
            format_html('<a href="{}">Open the event</a> · ', event_url) if event else _EMPTY
        )
        parts.append(
            format_html(
                '<p class="review-links small">{}<a href="{}">Decision page and history</a></p>',
                event_link,
                decision_url,
            )
        )
        parts.append(review_form(context, item))
    return format_html(
        '<li id="review-row-{}" class="card review-row{}">\n'
        '  <article aria-labelledby="review-title-{}">\n'
        '    <div class="review-head">\n'
        '      <span class="approval approval-{}">{}</span>\n'
        '      <h3 id="review-title-{}" class="review-type"><a href="{}">{}</a></h3>\n'
        '      <time class="muted small" datetime="{}" title="{}">proposed {} ago</time>\n'
        "    </div>\n    {}\n"
        "  </article>\n"
        "</li>\n",
        pk,
        " is-resolved" if resolved else "",
        pk,
        decision.outcome,
        decision.get_outcome_display(),
        pk,
        decision_url,
        decision.decision_type,
        _date(decision.effective_at, "c"),
        _date(decision.effective_at, "Y-m-d H:i:s T"),
        timesince_filter(decision.effective_at),
        _join(parts, "\n    "),
    )


@register.simple_tag
def decision_row(decision: Any) -> SafeString:
    """One decision of the decision list (``<li class="card decision">``)."""
    if decision.decided_by:
        by: SafeString | str = _username(decision.decided_by)
    elif decision.outcome == "pending":
        by = SafeString('<span class="muted">nobody yet</span>')
    else:
        by = "system"
    decided_at = _EMPTY
    if decision.decided_at:
        decided_at = format_html(
            ' <span class="decided-at">on <time datetime="{}">{}</time> ({} ago)</span>',
            _date(decision.decided_at, "c"),
            _date(decision.decided_at, "M j, Y H:i"),
            timesince_filter(decision.decided_at),
        )
    parts: list[SafeString] = []
    if decision.reason:
        parts.append(
            format_html(
                '<p class="reasoning"><span class="field-label">Why</span> {}</p>', decision.reason
            )
        )
    target = getattr(decision, "target", None)
    if target:
        parts.append(
            format_html(
                '<p class="decision-target"><span class="field-label">About</span>'
                ' <a href="{}">{}</a>\n'
                '              <code class="event-type">{}</code>\n'
                "              {}\n</p>",
                uuid_url(target.pk, "traces:event_detail"),
                target.description or target.event_type,
                target.event_type,
                actor_badge(target.actor),
            )
        )
    return format_html(
        '<li class="card decision">\n'
        '          <div class="decision-head">\n'
        '            <span class="approval approval-{}">{}</span>\n'
        '            <strong><a href="{}">{}</a></strong>\n'
        '            <span class="muted">proposed <time datetime="{}">{}</time> ({} ago)</span>\n'
        "          </div>\n"
        '          <p><span class="field-label">Decided by</span> {}{}</p>\n'
        "          {}\n"
        "        </li>",
        decision.outcome,
        decision.get_outcome_display(),
        uuid_url(decision.pk, "traces:decision_detail"),
        decision.decision_type,
        _date(decision.effective_at, "c"),
        _date(decision.effective_at, "M j, Y H:i"),
        timesince_filter(decision.effective_at),
        by,
        decided_at,
        _join(parts, "\n          "),
    )


@register.simple_tag(takes_context=True)
def state_diff(
    context: template.Context,
    changes: Sequence[Any],
    event: Any,
    proposal_reason: Any = "",
    proposal_by: Any = "",
) -> SafeString:
    """An object's state before and after an event, as a table (a proposal's says so)."""
    if not changes:
        return SafeString('\n<p class="muted small">No state was recorded.</p>\n')
    state = proposal_state(event, context.get("show_decisions"))
    caption = _EMPTY
    if state == "proposal":
        caption = SafeString("Proposed change; it needed approval.")
    elif state == "rejected":
        decided = getattr(event, "approval_decision", None)
        decided_by = getattr(decided, "decided_by", None)
        by = (
            proposal_by
            or (_username(decided_by) if decided_by else "")
            or getattr(event, "approved_by", "")
        )
        why = proposal_reason or getattr(decided, "reason", "")
        caption = format_html(
            "Proposed, rejected{}{}. Not applied.",
            format_html(" by {}", by) if by else "",
            format_html(": “{}”", why) if why else "",
        )
    elif state:
        caption = format_html(
            "Proposed, {}: not applied yet.",
            str(event.get_approval_status_display() or "Pending").lower(),
        )
    kind_label = "proposed" if state else None
    rows = format_html_join(
        "\n    ",
        '<tr class="diff-{}">\n'
        '        <th scope="row">{}{}</th>\n'
        '        <td class="before">{}</td>\n'
        '        <td class="arrow" aria-hidden="true">→</td>\n'
        '        <td class="after">{}</td>\n'
        "      </tr>",
        (
            (
                change.kind,
                change.key,
                format_html(' <span class="diff-kind">{}</span>', kind_label or change.kind)
                if change.kind != "same"
                else "",
                _DASH if change.kind == "added" else change.before,
                _DASH if change.kind == "removed" else change.after,
            )
            for change in changes
        ),
    )
    return format_html(
        '\n<table class="diff{}">\n  {}\n'
        '  <thead><tr><th scope="col">Field</th><th scope="col">Before</th><th scope="col">'
        '<span class="visually-hidden">changed to</span></th><th scope="col">{}</th></tr></thead>\n'
        "  <tbody>\n    {}\n  </tbody>\n</table>\n",
        " diff-proposal" if state else "",
        format_html('<caption class="proposal-caption">{}</caption>', caption) if state else "",
        "Proposed" if state else "After",
        rows,
    )


def _object_links(objects: Iterable[Any]) -> SafeString:
    return format_html_join(
        "",
        '<a class="object-link" href="{}"><span class="object-kind">{}</span> {}</a>',
        (
            (url, obj.get_object_type_display(), obj.object_id)
            for obj in objects
            if (url := object_url(obj))
        ),
    )


@register.simple_tag(takes_context=True)
def history_entry(context: template.Context, entry: Any) -> SafeString:
    """One step of an object's history (``<li class="story-step">``): the event, its state
    change and the other objects it touched."""
    event = entry.event
    show_decisions = context.get("show_decisions")
    href = event_href(context, event)
    meta = [
        format_html("{}\n", actor_badge(event.actor)),
        format_html("{}\n", outcome_badge(event, show_decisions)),
        *risk_badges(event, with_confidence=False),
    ]
    if show_decisions and event.approval_status:
        meta.append(
            format_html(
                '<span class="approval approval-{}">{}</span>{}\n',
                event.approval_status,
                event.get_approval_status_display(),
                approval_caption(event),
            )
        )
    parts: list[SafeString] = []
    if event.reasoning:
        parts.append(why_line(event.reasoning))
    if entry.changes:
        parts.append(state_diff(context, entry.changes, event))
    if entry.others:
        parts.append(
            format_html(
                '<p class="event-objects"><span class="muted small">Also touched:</span>\n'
                "                {}\n              </p>",
                _object_links(entry.others),
            )
        )
    return format_html(
        '<li class="story-step">\n'
        '          <div class="story-marker outcome-{}" aria-hidden="true"></div>\n'
        '          <article class="card story-card" aria-labelledby="step-{}">\n'
        '            <div class="story-head">\n'
        '              <time datetime="{}" title="{} ago">{}</time>\n'
        '              <code class="event-type">{}</code>\n'
        "            </div>\n"
        '            <h2 class="story-title"><a id="step-{}" href="{}">{}</a></h2>\n'
        '            <div class="event-meta">\n'
        "              {}\n"
        "            </div>\n"
        "            {}\n"
        "          </article>\n"
        "        </li>",
        event.outcome,
        event.pk,
        _date(event.effective_at, "c"),
        timesince_filter(event.effective_at),
        _date(event.effective_at, "M j, Y H:i:s"),
        event.event_type,
        event.pk,
        href,
        event.description or event.event_type,
        _join(meta, "\n              "),
        _join(parts, "\n            "),
    )


def _plain(value: Any) -> str:
    """A number as ``{% localize off %}`` writes it (SVG coordinates)."""
    return str(formats.localize(value, use_l10n=False))


def _chart_bar(chart: Any, bar: Any) -> SafeString:
    x, width = _plain(bar.x), _plain(bar.width)
    parts = [
        format_html(
            '<rect class="series series-{}" x="{}" y="{}" width="{}" height="{}">'
            "<title>{} · {}: {}</title></rect>",
            segment.series or "none",
            x,
            f"{segment.y:.2f}",
            width,
            f"{segment.height:.2f}",
            bar.label,
            segment.label,
            _plain(segment.count),
        )
        for segment in bar.segments
    ]
    if chart.show_totals and bar.total:
        parts.append(
            format_html(
                '<text class="bar-total" x="{}" y="{}" dy="-4" text-anchor="middle">{}</text>',
                _plain(bar.center),
                _plain(bar.top),
                _plain(bar.total),
            )
        )
    if bar.show_label:
        parts.append(
            format_html(
                '<text class="axis-label" x="{}" y="{}" dy="18" text-anchor="middle">{}</text>',
                _plain(bar.center),
                _plain(chart.plot_bottom),
                bar.label,
            )
        )
    return format_html("<g>\n            {}\n          </g>", _join(parts, "\n            "))


@register.simple_tag
def activity_chart(chart: Any, period: Any) -> SafeString:
    """The dashboard's stacked bar chart as inline SVG (numbers unlocalized, as SVG needs)."""
    busiest = (
        format_html(
            " Busiest {}: {} with {}.",
            period.unit,
            chart.busiest.label,
            _plain(chart.busiest.total),
        )
        if chart.busiest
        else ""
    )
    left, right, bottom = (
        _plain(chart.plot_left),
        _plain(chart.plot_right),
        _plain(chart.plot_bottom),
    )
    ticks = format_html_join(
        "\n          ",
        '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>\n          '
        '<text class="tick" x="{}" y="{}" dy="4" text-anchor="end">{}</text>',
        (
            (
                left,
                right,
                _plain(tick.y),
                _plain(tick.y),
                _plain(chart.plot_left - 8),
                _plain(tick.y),
                _plain(tick.value),
            )
            for tick in chart.ticks
        ),
    )
    return format_html(
        '<svg class="activity-chart" viewBox="0 0 {} {}" role="img"'
        ' aria-labelledby="chart-title chart-desc">\n'
        '        <title id="chart-title">Events per {} by actor type, {}</title>\n'
        '        <desc id="chart-desc">{} event{} in total.{}{}</desc>\n'
        "          {}\n"
        "          {}\n"
        '        <line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>\n'
        "      </svg>",
        _plain(chart.width),
        _plain(chart.height),
        period.unit,
        str(period.label).lower(),
        _plain(chart.total),
        "" if chart.total == 1 else "s",
        busiest,
        format_html_join("", " {}: {}.", ((row.label, _plain(row.count)) for row in chart.series)),
        ticks,
        _join((_chart_bar(chart, bar) for bar in chart.bars), "\n          "),
        left,
        right,
        bottom,
        bottom,
    )


@register.simple_tag
def activity_table_rows(chart: Any) -> SafeString:
    """The chart's numbers as table rows, one per bar."""
    return format_html_join(
        "\n            ",
        '<tr><th scope="row">{}</th>{}<td class="num">{}</td></tr>',
        (
            (
                _date(bar.start, "M j H:i"),
                format_html_join(
                    "", '<td class="num">{}</td>', ((formats.localize(cell),) for cell in bar.cells)
                ),
                formats.localize(bar.total),
            )
            for bar in chart.bars
        ),
    )


@register.simple_tag
def count_bars(rows: Iterable[Any], kind: str, param: str, period: Any) -> SafeString:
    """Counts as labelled bars, each a link to the timeline filtered by its key."""
    in_period = format_html("&amp;period={}", period.key) if period.key in ("24h", "7d") else ""
    timeline = reverse("traces:timeline")
    items = []
    for row in rows:
        inner = format_html(
            '\n        <span class="count-label">{}</span>\n'
            '        <svg class="count-track" viewBox="0 0 100 1" preserveAspectRatio="none"'
            ' aria-hidden="true" focusable="false"><rect class="count-fill {}-{}" width="{}"'
            ' height="1"/></svg>\n'
            '        <span class="count-value">{} <span class="muted">({}%)</span></span>\n      ',
            row.label,
            kind,
            row.key or "none",
            formats.localize(row.percent),
            formats.localize(row.count),
            formats.localize(row.percent),
        )
        if row.key:
            line = format_html(
                '<a href="{}?{}={}{}" class="count-row">{}</a>',
                timeline,
                param,
                urlencode(row.key),
                in_period,
                inner,
            )
        else:
            line = format_html('<span class="count-row">{}</span>', inner)
        items.append(format_html("<li>\n      {}\n    </li>", line))
    return format_html('<ul class="count-bars">\n    {}\n</ul>', _join(items, "\n    "))


@register.simple_tag(takes_context=True)
def event_list_compact(context: template.Context, events: Sequence[Any], empty: str) -> SafeString:
    """A short list of events (the dashboard's failures and high-risk decisions)."""
    if not events:
        return format_html('\n<p class="muted">{}</p>\n', empty)
    show_decisions = context.get("show_decisions")
    items = []
    for event in events:
        risk = (
            format_html(
                '<span class="risk risk-{}">Risk {}</span>',
                event.risk_level,
                str(event.get_risk_level_display()).lower(),
            )
            if event.risk_level
            else ""
        )
        items.append(
            format_html(
                "<li>\n"
                '      <a class="event-title" href="{}">{}</a>\n'
                '      <div class="event-meta">\n'
                '        <time datetime="{}" title="{}">{} ago</time>\n'
                '        <code class="event-type">{}</code>\n'
                "        {}\n"
                "        {}\n"
                "        {}\n"
                "      </div>\n"
                "    </li>",
                uuid_url(event.pk, "traces:event_detail"),
                event.description or event.event_type,
                _date(event.effective_at, "c"),
                _date(event.effective_at, "Y-m-d H:i:s T"),
                timesince_filter(event.effective_at),
                event.event_type,
                actor_badge(event.actor),
                risk,
                outcome_badge(event, show_decisions),
            )
        )
    return format_html('\n<ul class="compact-list">\n    {}\n</ul>\n', _join(items, "\n    "))
