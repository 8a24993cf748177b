"""URLs of the trace and review pages (namespace ``traces``); the dashboard is the home page."""

from __future__ import annotations

from django.urls import path, register_converter

from traces import views
from traces.converters import RecordIdConverter
from traces.formats import views as export_views

register_converter(RecordIdConverter, "record_id")

app_name = "traces"

urlpatterns = [
    path("", views.timeline, name="timeline"),
    path("events/<uuid:event_id>/", views.event_detail_view, name="event_detail"),
    path(
        "objects/<slug:object_type>/<record_id:object_id>/",
        views.object_history_view,
        name="object_history",
    ),
    path("actors/<slug:actor_type>/<record_id:actor_id>/", views.actor_detail, name="actor_detail"),
    path("decisions/", views.decision_list, name="decision_list"),
    path("decisions/<uuid:decision_id>/", views.decision_detail_view, name="decision_detail"),
    path("decisions/<uuid:decision_id>/review/", views.decision_review, name="decision_review"),
    path("review/", views.review_queue, name="review_queue"),
    # Downloads (CSV, JSON Lines) of the pages above, with the same query string.
    path("export/timeline/", export_views.timeline_export, name="timeline_export"),
    path("export/review/", export_views.review_queue_export, name="review_queue_export"),
    path(
        "export/objects/<slug:object_type>/<record_id:object_id>/",
        export_views.object_history_export,
        name="object_history_export",
    ),
]
