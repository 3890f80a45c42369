"""Serializers of the rule-set API: versions, their history, simulations and rescore runs.

A rule-set document in a request is checked by scoring.rules.validate_document,
not by these serializers; the document serializers here describe its shape
for the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.models import EventKind
from scoring.models import RescoreRun, RuleSet, RuleSetChange, Simulation
from scoring.rules import ICP_KEYS, OPS, document_from_ruleset


class IcpSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, Any]:
        return {
            key: serializers.ListField(child=serializers.CharField(), required=False)
            for key in ICP_KEYS
        }


class FitRuleSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Unique across fit and engagement rules.")
    # The metaclass moves declared fields off the class, so this does not hide Field.label.
    label = serializers.CharField(required=False)  # type: ignore[assignment]
    group = serializers.CharField(required=False, allow_blank=True)
    field = serializers.CharField(help_text="lead.<name>, account.<name> or custom.<key>.")
    op = serializers.ChoiceField(choices=OPS)
    value = serializers.JSONField(
        required=False, help_text="A text, number, true/false or list, as the operator needs."
    )
    points = serializers.FloatField()


class EngagementRuleSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Unique across fit and engagement rules.")
    # The metaclass moves declared fields off the class, so this does not hide Field.label.
    label = serializers.CharField(required=False)  # type: ignore[assignment]
    group = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=EventKind.choices, required=False)
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices), required=False
    )
    url_pattern = serializers.CharField(required=False, allow_blank=True)
    asset = serializers.CharField(required=False, allow_blank=True)
    campaign = serializers.CharField(required=False, allow_blank=True)
    points = serializers.FloatField()
    cap = serializers.FloatField(required=False, allow_null=True)
    window_days = serializers.IntegerField(required=False, allow_null=True)
    half_life_days = serializers.FloatField(required=False, allow_null=True)


class RuleSetDocumentSerializer(serializers.Serializer):
    """The rule-set JSON document of docs/scoring.md, as export writes it and import reads it."""

    name = serializers.CharField()
    notes = serializers.CharField(required=False, allow_blank=True)
    icp = IcpSerializer(required=False)
    fit_rules = FitRuleSerializer(many=True, required=False)
    engagement_rules = EngagementRuleSerializer(many=True, required=False)
    group_caps = serializers.DictField(child=serializers.FloatField(), required=False)
    fit_cap = serializers.IntegerField(required=False, allow_null=True)
    engagement_cap = serializers.FloatField(required=False, allow_null=True)
    fit_threshold = serializers.IntegerField()
    engagement_threshold = serializers.FloatField()
    fast_track_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices), required=False
    )
    fast_track_window_days = serializers.IntegerField(required=False)


class RuleSetCreateSerializer(serializers.Serializer):
    """Start a draft: a copy of `from_version`, a new `document`, or (neither) the published one."""

    from_version = serializers.IntegerField(required=False, min_value=1)
    document = RuleSetDocumentSerializer(required=False)


class RuleSetChangeSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)

    class Meta:
        model = RuleSetChange
        fields = ["id", "action", "actor", "details", "created_at"]
        read_only_fields = fields


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


class RuleSetSerializer(serializers.ModelSerializer):
    based_on_version = serializers.IntegerField(
        source="based_on.version", default=None, allow_null=True
    )
    fit_rule_count = serializers.SerializerMethodField()
    engagement_rule_count = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    updated_by = serializers.SerializerMethodField()
    published_by = serializers.SerializerMethodField()

    class Meta:
        model = RuleSet
        fields = [
            "version",
            "name",
            "status",
            "revision",
            "based_on_version",
            "fit_threshold",
            "engagement_threshold",
            "fit_rule_count",
            "engagement_rule_count",
            "created_by",
            "created_at",
            "updated_by",
            "updated_at",
            "published_by",
            "published_at",
        ]
        read_only_fields = fields

    def get_fit_rule_count(self, ruleset: RuleSet) -> int:
        return len(ruleset.fit_rules or [])

    def get_engagement_rule_count(self, ruleset: RuleSet) -> int:
        return len(ruleset.engagement_rules or [])

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by(self, ruleset: RuleSet) -> str | None:
        return _username(ruleset.created_by)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_updated_by(self, ruleset: RuleSet) -> str | None:
        return _username(ruleset.updated_by)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_published_by(self, ruleset: RuleSet) -> str | None:
        return _username(ruleset.published_by)


class RuleSetDetailSerializer(RuleSetSerializer):
    document = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()

    class Meta(RuleSetSerializer.Meta):
        fields = [*RuleSetSerializer.Meta.fields, "document", "changes"]
        read_only_fields = fields

    @extend_schema_field(RuleSetDocumentSerializer)
    def get_document(self, ruleset: RuleSet) -> dict[str, Any]:
        return document_from_ruleset(ruleset)

    @extend_schema_field(RuleSetChangeSerializer(many=True))
    def get_changes(self, ruleset: RuleSet) -> list[dict[str, Any]]:
        """Return the version's 50 newest history entries."""
        changes = ruleset.changes.select_related("actor").order_by("-created_at", "-id")[:50]
        return list(RuleSetChangeSerializer(changes, many=True).data)


class HistogramsSerializer(serializers.Serializer):
    fit_before = serializers.ListField(child=serializers.IntegerField())
    fit_after = serializers.ListField(child=serializers.IntegerField())
    engagement_before = serializers.ListField(child=serializers.IntegerField())
    engagement_after = serializers.ListField(child=serializers.IntegerField())


class RuleMoveSerializer(serializers.Serializer):
    rule = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    section = serializers.ChoiceField(choices=["fit", "engagement"])
    before = serializers.FloatField()
    after = serializers.FloatField()


class MoverSerializer(serializers.Serializer):
    lead_id = serializers.IntegerField()
    direction = serializers.ChoiceField(choices=["enter", "leave"])
    status = serializers.CharField()
    fit_before = serializers.IntegerField()
    fit_after = serializers.IntegerField()
    engagement_before = serializers.FloatField()
    engagement_after = serializers.FloatField()
    fast_track = serializers.BooleanField()
    rules = RuleMoveSerializer(many=True)


class DecisionCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Leads with this latest sales decision.")
    draft = serializers.IntegerField(help_text="Of them, would have qualified under this version.")
    baseline = serializers.IntegerField(help_text="Of them, qualify under the published version.")


class HistoryWhatIfSerializer(serializers.Serializer):
    accepted = DecisionCountsSerializer()
    rejected = DecisionCountsSerializer()
    has_baseline = serializers.BooleanField()
    limit = serializers.IntegerField()
    limited = serializers.BooleanField()


class SimulationResultSerializer(serializers.Serializer):
    now = serializers.DateTimeField(help_text="The moment the leads were scored as of.")
    leads = serializers.IntegerField()
    thresholds = serializers.DictField()
    enter = serializers.IntegerField(help_text="Leads that would become MQL.")
    leave = serializers.IntegerField(
        help_text="MQLs that would no longer pass; scores never demote, so they stay MQL."
    )
    histograms = HistogramsSerializer()
    bucket_labels = serializers.ListField(child=serializers.CharField())
    movers = MoverSerializer(many=True)
    history = HistoryWhatIfSerializer()


class SimulationSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="ruleset.version")
    percent = serializers.FloatField()
    requested_by = serializers.SerializerMethodField()
    result = SimulationResultSerializer(allow_null=True, source="result_or_none")

    class Meta:
        model = Simulation
        fields = [
            "id",
            "version",
            "ruleset_revision",
            "baseline_version",
            "status",
            "total_leads",
            "done_leads",
            "percent",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "error",
            "result",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_requested_by(self, simulation: Simulation) -> str | None:
        return _username(simulation.requested_by)


class RescoreRunSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="ruleset.version")
    percent = serializers.FloatField()
    leads_per_second = serializers.FloatField(allow_null=True)
    seconds_left = serializers.FloatField(
        allow_null=True, help_text="Estimate from the rate so far; null before the first chunk."
    )

    class Meta:
        model = RescoreRun
        fields = [
            "id",
            "version",
            "status",
            "total_leads",
            "done_leads",
            "percent",
            "leads_per_second",
            "seconds_left",
            "entered_mql",
            "created_at",
            "started_at",
            "finished_at",
            "error",
        ]
        read_only_fields = fields
