"""Serializers of the leads API: the output shapes, and the input shapes for the OpenAPI schema.

Lead and event input is validated by leads.inputs, the same checks the importer
runs, so the input serializers here only describe that input for the schema
(tests keep their fields equal to what leads.inputs accepts). The transition
body is small and validated by its serializer.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leadflow.api import StrictDateField
from leads.inputs import (
    MAX_INTEREST_LENGTH,
    MAX_INTERESTS,
    MAX_JSON_DEPTH,
    MAX_JSON_OBJECT_BYTES,
    json_object_problem,
)
from leads.models import Account, EngagementEvent, EventKind, Lead, LeadStatus, StatusChange
from leads.selectors import FUNNEL_GROUP_FIELDS

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
        child=serializers.CharField(max_length=MAX_INTEREST_LENGTH),
        max_length=MAX_INTERESTS,
        required=False,
        allow_null=True,
        help_text=f"Product categories, at most {MAX_INTERESTS} of at most "
        f"{MAX_INTEREST_LENGTH} characters each; replaces the stored list.",
    )
    custom_attributes = serializers.DictField(
        required=False,
        help_text=f"Merged into the stored attributes, key by key. At most "
        f"{MAX_JSON_OBJECT_BYTES:,} bytes as JSON and {MAX_JSON_DEPTH} levels deep; null is "
        "rejected, because it would change nothing.",
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
        help_text="When the event happened, ISO 8601; from 1970-01-01T00:00:00Z to 5 minutes "
        "in the future."
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
    properties = serializers.DictField(
        required=False,
        help_text=f"Free-form facts of the event, at most {MAX_JSON_OBJECT_BYTES:,} bytes as "
        f"JSON and {MAX_JSON_DEPTH} levels deep.",
    )


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


class LeadScoreSerializer(serializers.ModelSerializer):
    """A lead's scores, whether they wait to be recomputed, and the points behind them."""

    lead_id = serializers.IntegerField(source="pk", read_only=True)
    breakdown = ScoreBreakdownField(source="score_breakdown", read_only=True)

    class Meta:
        model = Lead
        fields = [
            "lead_id",
            "status",
            "fit_score",
            "engagement_score",
            "ruleset_version",
            "scored_at",
            "score_stale",
            "breakdown",
        ]
        read_only_fields = fields


# Accounts


class LeadStatusCountsSerializer(serializers.Serializer):
    """A number of leads per lifecycle status."""

    new = serializers.IntegerField()
    mql = serializers.IntegerField()
    sql = serializers.IntegerField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    nurture = serializers.IntegerField()
    disqualified = serializers.IntegerField()


class AccountSerializer(serializers.ModelSerializer):
    employee_band = serializers.CharField(read_only=True)
    revenue_band = serializers.CharField(read_only=True)
    processes = serializers.ListField(child=serializers.CharField(), read_only=True)
    technologies = serializers.ListField(child=serializers.CharField(), read_only=True)
    custom_attributes = serializers.DictField(read_only=True)
    parent_id = serializers.IntegerField(read_only=True, allow_null=True)
    owner = OwnerSerializer(read_only=True, allow_null=True)
    lead_count = serializers.IntegerField(read_only=True, help_text="Leads linked to the account.")
    engagement_score = serializers.FloatField(
        read_only=True, help_text="Roll-up of the engagement of the account's leads."
    )
    engaged_contacts = serializers.IntegerField(
        read_only=True, help_text="Leads of the account with recent engagement."
    )

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
            "city",
            "employee_count",
            "annual_revenue_usd",
            "employee_band",
            "revenue_band",
            "processes",
            "technologies",
            "parent_id",
            "owner",
            "custom_attributes",
            "engagement_score",
            "engaged_contacts",
            "lead_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AccountDetailSerializer(AccountSerializer):
    lead_counts = LeadStatusCountsSerializer(
        read_only=True, help_text="The account's leads per lifecycle status."
    )

    class Meta(AccountSerializer.Meta):
        fields = [*AccountSerializer.Meta.fields, "lead_counts"]
        read_only_fields = fields


def _storable_json(value: Any) -> None:
    problem = json_object_problem(value)
    if problem:
        raise serializers.ValidationError(problem)


ACCOUNT_TEXT_OPTIONS: dict[str, Any] = {"required": False, "allow_blank": True}


class AccountInputSerializer(serializers.Serializer):
    """Account fields to create or change. Unknown and read-only fields are rejected."""

    name = serializers.CharField(max_length=200)
    domain = serializers.CharField(
        max_length=253,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Web domain; a URL, e-mail address or www. prefix is reduced to the host. "
        "Unique, and never a free-mail domain. Leads of the domain without an account are "
        "linked to the account.",
    )
    segment = serializers.CharField(max_length=64, **ACCOUNT_TEXT_OPTIONS)
    facility_type = serializers.CharField(max_length=64, **ACCOUNT_TEXT_OPTIONS)
    country = serializers.CharField(max_length=100, **ACCOUNT_TEXT_OPTIONS)
    region = serializers.CharField(
        max_length=64, help_text="Derived from country when not sent.", **ACCOUNT_TEXT_OPTIONS
    )
    city = serializers.CharField(max_length=100, **ACCOUNT_TEXT_OPTIONS)
    employee_count = serializers.IntegerField(
        min_value=0, max_value=2_147_483_647, required=False, allow_null=True
    )
    annual_revenue_usd = serializers.IntegerField(
        min_value=0, max_value=2**63 - 1, required=False, allow_null=True
    )
    processes = serializers.ListField(
        child=serializers.CharField(max_length=100),
        max_length=100,
        required=False,
        help_text="Processes in use, such as cnc_machining; replaces the stored list.",
    )
    technologies = serializers.ListField(
        child=serializers.CharField(max_length=100),
        max_length=100,
        required=False,
        help_text="Systems in use, such as erp; replaces the stored list.",
    )
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=Account.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of the parent company's account.",
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Id of the user who owns the account.",
    )
    custom_attributes = serializers.DictField(
        required=False,
        validators=[_storable_json],
        help_text="Attributes of the source system; replaces the stored object.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        read_only = set(AccountDetailSerializer.Meta.fields) - set(self.fields)
        errors = {}
        for name in sorted(set(self.initial_data) - set(self.fields)):
            errors[name] = (
                ["Read-only; Leadflow sets it."]
                if name in read_only
                else ["Unknown field; put attributes of the source system in custom_attributes."]
            )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class AccountLinkResultSerializer(serializers.Serializer):
    linked = serializers.IntegerField(help_text="Leads linked to the account by this request.")
    lead_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the linked leads, ascending."
    )


# Reports


class ReportRangeSerializer(serializers.Serializer):
    """The days a report covers, in UTC; without them the last 30 days up to today."""

    start = StrictDateField(
        required=False, help_text="First day, inclusive; 29 days before end when not sent."
    )
    end = StrictDateField(required=False, help_text="Last day, inclusive; today when not sent.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("end") or timezone.now().date()
        # Within the first 29 days of year 1 the default start would be before date.min.
        start = attrs.get("start") or end - timedelta(days=min(29, (end - date.min).days))
        if end >= date.max:
            raise serializers.ValidationError({"end": ["Send a day before 9999-12-31."]})
        if start > end:
            raise serializers.ValidationError(
                {"start": [f"{start.isoformat()} is after end {end.isoformat()}; swap them."]}
            )
        return {**attrs, "start": start, "end": end}


class FunnelQuerySerializer(ReportRangeSerializer):
    group_by = serializers.ChoiceField(
        choices=list(FUNNEL_GROUP_FIELDS),
        required=False,
        help_text="Split the funnel by the account's segment, or the first-touch source or "
        "campaign.",
    )
    segment = serializers.CharField(
        max_length=64, required=False, help_text="Only leads of accounts in this segment."
    )
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=100, required=False, help_text="Only leads with this first-touch source."
    )
    campaign = serializers.CharField(
        max_length=200, required=False, help_text="Only leads with this first-touch campaign."
    )


class FunnelStagesSerializer(serializers.Serializer):
    """Leads that ever reached each stage, as the audit trail records."""

    mql = serializers.IntegerField()
    sql = serializers.IntegerField()
    won = serializers.IntegerField()


class FunnelCountsSerializer(serializers.Serializer):
    value = serializers.CharField(
        allow_null=True,
        help_text="The group's segment, source or campaign; null for the total and for leads "
        "without one.",
    )
    leads = serializers.IntegerField(help_text="Leads created in the range.")
    statuses = LeadStatusCountsSerializer(help_text="Those leads per current status.")
    reached = FunnelStagesSerializer()
    mql_to_sql = serializers.IntegerField(help_text="Leads that reached MQL and then SQL.")
    sql_to_won = serializers.IntegerField(help_text="Leads that reached SQL and then won.")
    mql_to_sql_rate = serializers.FloatField(
        allow_null=True, help_text="mql_to_sql / reached.mql, 4 decimals; null without MQLs."
    )
    sql_to_won_rate = serializers.FloatField(
        allow_null=True, help_text="sql_to_won / reached.sql, 4 decimals; null without SQLs."
    )


class FunnelReportSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    group_by = serializers.ChoiceField(choices=list(FUNNEL_GROUP_FIELDS), allow_null=True)
    total = FunnelCountsSerializer()
    groups = FunnelCountsSerializer(many=True, help_text="Empty unless group_by is sent.")
