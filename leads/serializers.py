"""Serializers of the leads API: the output shapes, and the input shapes for the OpenAPI schema.

Lead and event input is validated by leads.inputs, the same checks the importer
runs, so the input serializers here only describe that input for the schema
(tests keep their fields equal to what leads.inputs accepts). The transition
body is small and validated by its serializer.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.models import Account, EngagementEvent, EventKind, Lead, LeadStatus, StatusChange

MAX_TRANSITION_REASON_LENGTH = 2000
EVENT_RESULT_STATUSES = ("created", "duplicate", "error")


class ErrorSerializer(serializers.Serializer):
    """The one JSON shape of every API error."""

    code = serializers.CharField(help_text="Stable machine-readable code, such as not_found.")
    message = serializers.CharField(help_text="What failed and how to fix it.")
    # The metaclass moves declared fields off the class, so this does not hide Serializer.fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per invalid input field; empty unless the input failed validation.",
    )


class AccountSummarySerializer(serializers.ModelSerializer):
    employee_band = serializers.CharField(read_only=True)
    revenue_band = serializers.CharField(read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "domain",
            "segment",
            "facility_type",
            "country",
            "region",
            "employee_band",
            "revenue_band",
            "engagement_score",
            "engaged_contacts",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "engagement_score": {
                "help_text": "Sum of the engagement scores of the account's leads, refreshed "
                "by scoring."
            },
            "engaged_contacts": {"help_text": "Leads of the account with engagement above zero."},
        }


class OwnerSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username"]
        read_only_fields = fields


class FitContributionSerializer(serializers.Serializer):
    rule = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    group = serializers.CharField()
    points = serializers.FloatField()


class EngagementContributionSerializer(serializers.Serializer):
    rule = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    group = serializers.CharField()
    points = serializers.FloatField(help_text="Points after the rule's cap.")
    raw_points = serializers.FloatField(help_text="Points before the rule's cap.")
    capped = serializers.BooleanField()
    events = serializers.IntegerField(help_text="Number of matching events.")
    event_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="The ten most recent matching events."
    )
    last_event_at = serializers.DateTimeField(allow_null=True)


class CapRemovalSerializer(serializers.Serializer):
    scope = serializers.CharField(help_text="group, fit or engagement.")
    name = serializers.CharField()
    cap = serializers.FloatField()
    removed = serializers.FloatField(help_text="Points the cap removed.")


class FastTrackSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EventKind.choices)
    event_id = serializers.IntegerField()


class ScoreBreakdownSerializer(serializers.Serializer):
    """Points per rule and the events behind them; null until the lead is scored."""

    ruleset_version = serializers.IntegerField()
    fit_score = serializers.FloatField()
    engagement_score = serializers.FloatField()
    fit = FitContributionSerializer(many=True)
    engagement = EngagementContributionSerializer(many=True)
    caps = CapRemovalSerializer(many=True)
    fast_track = FastTrackSerializer(allow_null=True)


@extend_schema_field(ScoreBreakdownSerializer(allow_null=True))
class ScoreBreakdownField(serializers.JSONField):
    """The stored breakdown as scoring wrote it, or null for a lead never scored."""

    def to_representation(self, value: Any) -> Any:
        return value or None


class LeadSerializer(serializers.ModelSerializer):
    account = AccountSummarySerializer(read_only=True, allow_null=True)
    owner = OwnerSerializer(read_only=True, allow_null=True)
    interests = serializers.ListField(child=serializers.CharField(), read_only=True)
    custom_attributes = serializers.DictField(read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "email",
            "source_system",
            "external_id",
            "first_name",
            "last_name",
            "job_title",
            "job_function",
            "seniority",
            "phone",
            "company_name",
            "account",
            "country",
            "region",
            "city",
            "first_touch_source",
            "first_touch_medium",
            "first_touch_campaign",
            "last_touch_source",
            "last_touch_medium",
            "last_touch_campaign",
            "interests",
            "email_opt_out",
            "call_opt_out",
            "marketing_notes",
            "custom_attributes",
            "status",
            "status_changed_at",
            "owner",
            "fit_score",
            "engagement_score",
            "ruleset_version",
            "scored_at",
            "score_stale",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class LeadDetailSerializer(LeadSerializer):
    score_breakdown = ScoreBreakdownField(read_only=True)

    class Meta(LeadSerializer.Meta):
        fields = [*LeadSerializer.Meta.fields, "score_breakdown"]
        read_only_fields = fields


class LeadChangesSerializer(serializers.Serializer):
    """Editable lead fields; every one is optional, and null clears a text field."""

    first_name = serializers.CharField(max_length=100, required=False, allow_null=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_null=True)
    job_title = serializers.CharField(max_length=200, required=False, allow_null=True)
    job_function = serializers.CharField(
        max_length=40,
        required=False,
        allow_null=True,
        help_text="Derived from job_title when not sent, such as engineering.",
    )
    seniority = serializers.CharField(
        max_length=40,
        required=False,
        allow_null=True,
        help_text="Derived from job_title when not sent, such as manager.",
    )
    phone = serializers.CharField(max_length=50, required=False, allow_null=True)
    company_name = serializers.CharField(max_length=200, required=False, allow_null=True)
    country = serializers.CharField(max_length=100, required=False, allow_null=True)
    region = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        help_text="Derived from country when not sent, such as europe.",
    )
    city = serializers.CharField(max_length=100, required=False, allow_null=True)
    first_touch_source = serializers.CharField(max_length=100, required=False, allow_null=True)
    first_touch_medium = serializers.CharField(max_length=100, required=False, allow_null=True)
    first_touch_campaign = serializers.CharField(max_length=200, required=False, allow_null=True)
    last_touch_source = serializers.CharField(max_length=100, required=False, allow_null=True)
    last_touch_medium = serializers.CharField(max_length=100, required=False, allow_null=True)
    last_touch_campaign = serializers.CharField(max_length=200, required=False, allow_null=True)
    marketing_notes = serializers.CharField(max_length=10_000, required=False, allow_null=True)
    email_opt_out = serializers.BooleanField(required=False)
    call_opt_out = serializers.BooleanField(required=False)
    interests = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        help_text="Product categories; replaces the stored list.",
    )
    custom_attributes = serializers.DictField(
        required=False, help_text="Merged into the stored attributes, key by key."
    )


class LeadInputSerializer(LeadChangesSerializer):
    """A lead to create or update, identified by email or by source_system and external_id."""

    email = serializers.EmailField(
        max_length=254,
        required=False,
        help_text="Identifies the lead, case-insensitively. Needed unless external_id is sent.",
    )
    source_system = serializers.CharField(
        max_length=64, required=False, help_text="The system external_id comes from."
    )
    external_id = serializers.CharField(
        max_length=128, required=False, help_text="The lead's id in source_system."
    )


class TransitionSerializer(serializers.Serializer):
    to_status = serializers.ChoiceField(
        choices=LeadStatus.choices,
        error_messages={
            "invalid_choice": (
                f'"{{input}}" is not a lead status; use one of {", ".join(LeadStatus.values)}.'
            )
        },
    )
    reason = serializers.CharField(
        max_length=MAX_TRANSITION_REASON_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why the lead moves; kept in the audit trail.",
    )


class StatusChangeSerializer(serializers.ModelSerializer):
    lead_id = serializers.IntegerField(read_only=True)
    actor_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = StatusChange
        fields = [
            "id",
            "lead_id",
            "from_status",
            "to_status",
            "actor_id",
            "rule",
            "reason",
            "ruleset_version",
            "fit_score",
            "engagement_score",
            "created_at",
        ]
        read_only_fields = fields


class EngagementEventSerializer(serializers.ModelSerializer):
    lead_id = serializers.IntegerField(read_only=True)
    properties = serializers.DictField(read_only=True)

    class Meta:
        model = EngagementEvent
        fields = [
            "id",
            "lead_id",
            "kind",
            "url",
            "asset",
            "campaign",
            "occurred_at",
            "properties",
            "external_id",
            "source",
            "received_at",
        ]
        read_only_fields = fields


class EventInputSerializer(serializers.Serializer):
    """One engagement event. Name the lead by email, lead_id, or lead_external_id."""

    kind = serializers.ChoiceField(choices=EventKind.choices)
    occurred_at = serializers.DateTimeField(
        help_text="When the event happened, ISO 8601; no more than 5 minutes in the future."
    )
    external_id = serializers.CharField(
        max_length=200,
        required=False,
        help_text="The sender's id of the event; a second event with the same id is a "
        "duplicate. Derived from the event's fields when not sent.",
    )
    email = serializers.EmailField(
        required=False, help_text="The lead's e-mail address; an unknown address creates a lead."
    )
    lead_id = serializers.IntegerField(min_value=1, required=False)
    lead_external_id = serializers.CharField(
        max_length=128, required=False, help_text="The lead's id in source_system."
    )
    source_system = serializers.CharField(max_length=64, required=False)
    url = serializers.CharField(max_length=2000, required=False)
    asset = serializers.CharField(max_length=255, required=False)
    campaign = serializers.CharField(max_length=200, required=False)
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=64, required=False, help_text="What sent the event; api when not sent."
    )
    properties = serializers.DictField(required=False)


class EventResultSerializer(serializers.Serializer):
    """The outcome of one event of a request."""

    index = serializers.IntegerField(help_text="Position of the event in the request, from 0.")
    status = serializers.ChoiceField(choices=EVENT_RESULT_STATUSES)
    external_id = serializers.CharField(
        required=False, help_text="Absent when the event was too invalid to have one."
    )
    id = serializers.IntegerField(required=False, help_text="The stored event; only for created.")
    lead_id = serializers.IntegerField(
        required=False, help_text="The event's lead; for created and duplicate."
    )
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Messages per invalid field; only for error.",
    )


class EventCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    error = serializers.IntegerField()


class EventBatchResultSerializer(serializers.Serializer):
    results = EventResultSerializer(many=True, help_text="One result per event, in request order.")
    counts = EventCountsSerializer()
