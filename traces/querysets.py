"""Set-based verbs for trace events; each returns a filtered QuerySet and keeps no state.

Every verb matches one UI filter and one ``DecisionTraceClient.query`` argument,
and each is backed by an index on ``EventRecord`` or its related tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Self

from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q

from decisioning.querysets import EventAsOfQuerySet

if TYPE_CHECKING:
    # Names the base's type argument (a string at run time: models imports this module).
    from traces.models import EventRecord  # noqa: F401

__all__ = ["AUDIT_EVENT_PREFIX", "EventRecordManager", "EventRecordQuerySet", "event_type_q"]

# The review trail's events (``traces.audit``, ``traces.claims``): ``decision.approved``,
# ``decision.rejected``, ``decision.claimed``, ... Each tells a decision's outcome or
# reviewer, so only a user who may view decisions reads them (``without_review_trail``).
AUDIT_EVENT_PREFIX = "decision."


def event_type_q(patterns: Iterable[str]) -> Q:
    """Match event types exactly, or by prefix with a trailing ``*`` (``order.*``, ``order*``).

    A lone ``*`` matches everything.
    """
    condition = Q(pk__in=[])
    for pattern in patterns:
        if pattern == "*":
            return Q()
        if pattern.endswith("*"):
            condition |= Q(event_type__startswith=pattern[:-1])
        else:
            condition |= Q(event_type=pattern)
    return condition


class EventRecordQuerySet(EventAsOfQuerySet["EventRecord"]):
    """QuerySet of ``EventRecord`` rows."""

    def newest_first(self) -> Self:
        return self.order_by("-effective_at", "-id")

    def oldest_first(self) -> Self:
        return self.order_by("effective_at", "id")

    def of_actor_types(self, actor_types: Iterable[str]) -> Self:
        return self.filter(actor_type__in=[str(t) for t in actor_types])

    def by_actors(self, actor_ids: Iterable[str]) -> Self:
        """Events by actors with these ids (of any actor type)."""
        from traces.models import ActorRecord

        actors = ActorRecord.objects.filter(actor_id__in=list(actor_ids)).values("pk")
        return self.filter(actor__in=actors)

    def of_event_types(self, patterns: Iterable[str]) -> Self:
        return self.filter(event_type_q(patterns))

    def touching(
        self,
        object_ids: Iterable[str] | None = None,
        object_types: Iterable[str] | None = None,
    ) -> Self:
        """Events that touched an object with one of these ids (id or external id) and types."""
        from traces.models import TrackedObjectRecord

        objects = TrackedObjectRecord.objects.all()
        if object_ids is not None:
            ids = list(object_ids)
            # external_id > '' lets the database use the partial external-id index.
            objects = objects.filter(
                Q(object_id__in=ids) | Q(external_id__in=ids, external_id__gt="")
            )
        if object_types is not None:
            objects = objects.filter(object_type__in=[str(t) for t in object_types])
        return self.filter(pk__in=objects.values("event_id"))

    def with_outcomes(self, outcomes: Iterable[str]) -> Self:
        return self.filter(outcome__in=[str(o) for o in outcomes])

    def with_risk_levels(self, risk_levels: Iterable[str]) -> Self:
        return self.filter(risk_level__in=[str(r) for r in risk_levels])

    def tagged(self, tags: Iterable[str], *, probe: bool = False) -> Self:
        """Events carrying any of these tags.

        By default the tagged events are collected first (fast when the tags
        are rare). ``probe=True`` checks each event as the page reads it
        instead (``EXISTS``), which is what a tag on a large share of the
        events needs: a page then stops after a few hundred rows instead of
        sorting every tagged event.
        """
        from traces.models import EventTag

        rows = EventTag.objects.filter(tag__in=list(tags))
        if probe:
            return self.filter(Exists(rows.filter(event=OuterRef("pk"))))
        return self.filter(pk__in=rows.values("event_id"))

    def needing_approval(self, required: bool = True) -> Self:
        return self.filter(requires_approval=required)

    def with_approval_status(self, statuses: Iterable[str]) -> Self:
        """Events that need approval and whose Decision stands at one of these outcomes."""
        return self.filter(requires_approval=True, approval_status__in=[str(s) for s in statuses])

    def without_review_trail(self) -> Self:
        """Leave out the review trail's events (type ``decision.*``, ``AUDIT_EVENT_PREFIX``).

        A condition on the row, checked as a page reads it: the time index still
        orders the page (``traces.selectors.events_visible_to`` applies it).
        """
        return self.exclude(event_type__startswith=AUDIT_EVENT_PREFIX)

    def in_correlation(self, correlation_id: str) -> Self:
        """Events of one flow; an empty id (no flow) matches nothing.

        ``correlation_id > ''`` lets the database use the partial correlation index.
        """
        return self.filter(correlation_id=correlation_id, correlation_id__gt="")

    def in_chain(self, root_id: object) -> Self:
        return self.filter(root_id=root_id)

    def for_display(self) -> Self:
        """Actor joined and tracked objects prefetched: a fixed number of queries per page."""
        from traces.models import TrackedObjectRecord

        return self.select_related("actor").prefetch_related(
            Prefetch("tracked_objects", queryset=TrackedObjectRecord.objects.order_by("position"))
        )


EventRecordManager = models.Manager.from_queryset(EventRecordQuerySet)
