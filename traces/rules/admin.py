"""Review rules in the admin: an invalid condition is a form error, never a saved rule."""

from __future__ import annotations

from django.contrib import admin

from traces.rules.forms import ReviewRuleForm
from traces.rules.models import ReviewRule


@admin.register(ReviewRule)
class ReviewRuleAdmin(admin.ModelAdmin[ReviewRule]):
    form = ReviewRuleForm
    list_display = ("name", "enabled", "order", "action", "decision_type", "deciding_group")
    list_filter = ("enabled", "action")
    # No "Show counts": every admin list, small or not, counts no filter choice.
    show_facets = admin.ShowFacets.NEVER
    list_editable = ("enabled", "order")
    list_select_related = ("deciding_group",)
    search_fields = ("name",)
    fields = (
        "name",
        "enabled",
        "order",
        "condition",
        "action",
        "sample_percent",
        "decision_type",
        "deciding_group",
        "due_in_minutes",
    )
