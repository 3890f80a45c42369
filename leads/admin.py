from django import forms
from django.contrib import admin

from leads.models import Account, EngagementEvent, Lead, StatusChange
from leads.normalize import normalize_email


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "domain",
        "segment",
        "facility_type",
        "region",
        "employee_count",
        "owner",
    ]
    list_filter = ["segment", "facility_type", "region"]
    search_fields = ["name", "domain"]
    raw_id_fields = ["parent", "owner"]


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    can_delete = False
    readonly_fields = [
        "from_status",
        "to_status",
        "actor",
        "rule",
        "reason",
        "ruleset_version",
        "fit_score",
        "engagement_score",
        "created_at",
    ]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class LeadAdminForm(forms.ModelForm):
    """The admin's lead form: the e-mail address is stored lower-case, as every other path stores it."""

    class Meta:
        model = Lead
        fields = "__all__"  # noqa: DJ007 the admin lists its own fields and read-only fields

    def clean_email(self) -> str | None:
        email = normalize_email(self.cleaned_data.get("email"))
        if email is None:
            return None
        others = Lead.objects.with_emails([email])
        if self.instance.pk is not None:
            others = others.exclude(pk=self.instance.pk)
        holder = others.values_list("pk", flat=True).first()
        if holder is not None:
            raise forms.ValidationError(
                f"Lead {holder} already has the e-mail address {email}; edit that lead instead.",
                code="unique",
            )
        return email


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    form = LeadAdminForm
    list_display = [
        "display_name",
        "email",
        "status",
        "fit_score",
        "engagement_score",
        "account",
        "owner",
    ]
    list_filter = ["status", "region", "job_function", "first_touch_source", "score_stale"]
    search_fields = ["email", "first_name", "last_name", "company_name", "external_id"]
    raw_id_fields = ["account", "owner"]
    # Status changes go through the lifecycle service so that they are audited.
    readonly_fields = [
        "status",
        "status_changed_at",
        "fit_score",
        "engagement_score",
        "ruleset_version",
        "score_breakdown",
        "scored_at",
        "created_at",
        "updated_at",
    ]
    inlines = [StatusChangeInline]


@admin.register(EngagementEvent)
class EngagementEventAdmin(admin.ModelAdmin):
    list_display = ["kind", "lead", "occurred_at", "campaign", "asset", "external_id"]
    list_filter = ["kind"]
    search_fields = ["external_id", "campaign", "asset", "url"]
    raw_id_fields = ["lead"]
    date_hierarchy = "occurred_at"

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # Events are append-only: once stored, every field is read-only.
        if obj is not None:
            return [field.name for field in self.model._meta.fields]
        return []


@admin.register(StatusChange)
class StatusChangeAdmin(admin.ModelAdmin):
    list_display = ["lead", "from_status", "to_status", "actor", "rule", "created_at"]
    list_filter = ["to_status", "rule"]
    raw_id_fields = ["lead"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
