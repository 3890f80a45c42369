"""Admin for rule sets and rescore runs.

A rule set's JSON fields are validated like a loaded document, errors shown on
the field they belong to. Published and archived versions are read-only
snapshots; publishing and copying go through scoring.services as actions.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import HttpRequest

from leadflow.errors import ApplicationError
from scoring import services
from scoring.models import RescoreRun, RuleSet
from scoring.rules import DOCUMENT_DEFAULTS, document_from_ruleset, validate_document

DOCUMENT_FIELDS = tuple(DOCUMENT_DEFAULTS)


class RuleSetForm(forms.ModelForm):
    class Meta:
        model = RuleSet
        fields = list(DOCUMENT_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        document = {name: cleaned.get(name) for name in DOCUMENT_FIELDS if name in cleaned}
        normalised, errors = validate_document(document)
        if not errors:
            # Store what load_ruleset would store, so export and the scorers see the same rules.
            cleaned.update(normalised)
        for path, path_messages in errors.items():
            field = path.split(".", 1)[0].split("[", 1)[0]
            for message in path_messages:
                self.add_error(
                    field if field in self.fields else None,
                    f"{path}: {message}" if path != field else message,
                )
        return cleaned


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    form = RuleSetForm
    list_display = [
        "version",
        "name",
        "status",
        "fit_rule_count",
        "engagement_rule_count",
        "fit_threshold",
        "engagement_threshold",
        "published_at",
    ]
    list_filter = ["status"]
    search_fields = ["name", "notes"]
    actions = ["publish_selected", "copy_as_draft"]
    readonly_fields = [
        "version",
        "status",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
        "published_at",
        "published_by",
    ]

    @admin.display(description="fit rules")
    def fit_rule_count(self, ruleset: RuleSet) -> int:
        return len(ruleset.fit_rules or [])

    @admin.display(description="engagement rules")
    def engagement_rule_count(self, ruleset: RuleSet) -> int:
        return len(ruleset.engagement_rules or [])

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only drafts are edited; a published or archived version stays the snapshot it scored with.
        if obj is not None and obj.status != RuleSet.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: RuleSet, form: Any, change: bool) -> None:
        with transaction.atomic():
            if not change:
                latest = RuleSet.objects.select_for_update().aggregate(Max("version"))
                obj.version = (latest["version__max"] or 0) + 1
                obj.status = RuleSet.Status.DRAFT
                obj.created_by = request.user  # type: ignore[assignment]
            obj.updated_by = request.user  # type: ignore[assignment]
            super().save_model(request, obj, form, change)

    @admin.action(description="Publish the selected draft and rescore every lead")
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[RuleSet]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one rule set to publish.", messages.ERROR)
            return
        ruleset = queryset.get()
        try:
            run = services.ruleset_publish(ruleset_id=ruleset.pk, actor=request.user)  # type: ignore[arg-type]
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(
            request,
            f"Published version {ruleset.version}; rescore run {run.pk} is queued.",
            messages.SUCCESS,
        )

    @admin.action(description="Copy the selected rule sets as new drafts")
    def copy_as_draft(self, request: HttpRequest, queryset: QuerySet[RuleSet]) -> None:
        for ruleset in queryset.order_by("version"):
            try:
                copy = services.ruleset_load(
                    document=document_from_ruleset(ruleset),
                    actor=request.user,  # type: ignore[arg-type]
                )
            except ApplicationError as error:
                self.message_user(
                    request, f"Version {ruleset.version}: {error.message}", messages.ERROR
                )
                continue
            RuleSet.objects.filter(pk=copy.pk).update(based_on=ruleset)
            self.message_user(
                request, f"Copied version {ruleset.version} as draft version {copy.version}."
            )


@admin.register(RescoreRun)
class RescoreRunAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "ruleset",
        "status",
        "progress",
        "entered_mql",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status"]
    list_select_related = ["ruleset"]

    @admin.display(description="progress")
    def progress(self, run: RescoreRun) -> str:
        return f"{run.done_leads}/{run.total_leads} ({run.percent:.0f}%)"

    # Runs are written by scoring.services only; the admin shows them.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
