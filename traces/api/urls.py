"""``include("traces.api.urls")`` under ``api/v1/``."""

from __future__ import annotations

from traces.api.api import api, urlpatterns

app_name = api.urls_namespace
__all__ = ["app_name", "urlpatterns"]
