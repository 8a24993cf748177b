from __future__ import annotations

from django.contrib import admin

from traces.notifications.models import ReviewerPreference


@admin.register(ReviewerPreference)
class ReviewerPreferenceAdmin(admin.ModelAdmin[ReviewerPreference]):
    list_display = ("user", "daily_digest", "last_digest_at")
    list_filter = ("daily_digest",)
    # No "Show counts": every admin list, small or not, counts no filter choice.
    show_facets = admin.ShowFacets.NEVER
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("last_digest_at",)
