from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from handoff.models import Handoff, HandoffEvent, HandoffSettings, Rep, RoutingRule, Territory


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "timezone", "day_start", "day_end"]
    search_fields = ["name", "code"]


@admin.register(Rep)
class RepAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "capacity",
        "is_active",
        "out_of_office_until",
        "is_technical_expert",
        "home_territory",
        "manager",
    ]
    list_editable = ["capacity", "is_active", "out_of_office_until", "is_technical_expert"]
    list_filter = ["is_active", "is_technical_expert", "territories"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    filter_horizontal = ["territories"]
    raw_id_fields = ["user", "manager"]
    readonly_fields = ["last_assigned_at"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_active", "strategy", "sla_hours"]
    list_editable = ["position", "is_active"]
    filter_horizontal = ["territories", "reps"]
    readonly_fields = ["last_assigned_rep", "created_at", "updated_at"]


@admin.register(HandoffSettings)
class HandoffSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "auto_handoff_enabled", "auto_fit_threshold", "default_sla_hours"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One row only; handoff.services.handoff_settings_get creates it on first use.
        return not HandoffSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HandoffEventInline(admin.TabularInline):
    model = HandoffEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "rep", "actor", "rule", "note"]
    readonly_fields = ["created_at", "kind", "rep", "actor", "rule", "note"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    """Read-only: handoffs change only through the services, which keep the audit trail."""

    list_display = [
        "id",
        "lead",
        "status",
        "rep",
        "created_at",
        "due_at",
        "breach_count",
        "outcome",
    ]
    list_filter = ["status", "outcome", "reject_reason"]
    search_fields = ["lead__email", "lead__last_name"]
    raw_id_fields = ["lead", "rep", "technical_expert", "previous"]
    inlines = [HandoffEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HandoffEvent)
class HandoffEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "handoff", "rep", "actor", "rule"]
    list_filter = ["kind", "rule"]
    raw_id_fields = ["handoff", "lead", "rep"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
