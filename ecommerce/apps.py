from __future__ import annotations

from django.apps import AppConfig


class EcommerceConfig(AppConfig):
    name = "ecommerce"
    verbose_name = "E-commerce"
    default_auto_field = "django.db.models.BigAutoField"
