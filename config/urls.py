"""Root URL configuration."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import views
from traces import views as trace_views

urlpatterns = [
    path("", trace_views.dashboard, name="home"),
    path("traces/", include("traces.urls")),
    path("api/v1/", include("traces.api.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Before the admin's own pattern of the same URL: a malformed id is a 404, not a 500.
    path(
        "admin/r/<int:content_type_id>/<path:object_id>/",
        admin.site.admin_view(views.view_on_site),
    ),
    path("admin/", admin.site.urls),
]
