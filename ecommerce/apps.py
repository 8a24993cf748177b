from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class EcommerceConfig(AppConfig):
    name = "ecommerce"
    verbose_name = "E-commerce"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ecommerce.checks import check_settings

        checks.register(check_settings)
