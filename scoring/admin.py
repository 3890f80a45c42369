from django.contrib import admin

from scoring.models import RescoreRun, RuleSet


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    list_display = [
        "version",
        "name",
        "status",
        "fit_threshold",
        "engagement_threshold",
        "published_at",
    ]
    list_filter = ["status"]
    readonly_fields = ["created_at", "updated_at", "published_at", "published_by"]


@admin.register(RescoreRun)
class RescoreRunAdmin(admin.ModelAdmin):
    list_display = ["ruleset", "status", "done_leads", "total_leads", "started_at", "finished_at"]
    list_filter = ["status"]
    readonly_fields = [field for field in ["created_at", "updated_at"]]
