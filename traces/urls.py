"""URLs of the trace pages (namespace ``traces``); the dashboard is the site's home page."""

from __future__ import annotations

from django.urls import path

from traces import views

app_name = "traces"

urlpatterns = [
    path("", views.timeline, name="timeline"),
    path("events/<uuid:event_id>/", views.event_detail_view, name="event_detail"),
    path(
        "objects/<str:object_type>/<path:object_id>/",
        views.object_history_view,
        name="object_history",
    ),
    path("actors/<str:actor_type>/<path:actor_id>/", views.actor_detail, name="actor_detail"),
    path("decisions/", views.decision_list, name="decision_list"),
]
