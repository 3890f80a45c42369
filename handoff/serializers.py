"""API input and output shapes of the handoff app."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from handoff.models import (
    Handoff,
    HandoffEvent,
    Outcome,
    OutcomeReason,
    RejectReason,
    Rep,
    RoutingRule,
    RoutingStrategy,
    Territory,
)

# A bulk send routes every lead inside one transaction holding the routing lock.
MAX_SEND_LEADS = 500

try:
    # The project's one error shape; the schema names it "Error" for every API.
    from leads.serializers import ErrorSerializer
except ImportError:  # pragma: no cover - only before the leads API exists
    # TODO: remove this copy once leads.serializers.ErrorSerializer is on every branch.
    class ErrorSerializer(serializers.Serializer[Any]):  # type: ignore[no-redef]
        """The one JSON shape of every API error."""

        code = serializers.CharField(help_text="Stable machine-readable code, such as not_found.")
        message = serializers.CharField(help_text="What failed and how to fix it.")
        # The metaclass moves declared fields off the class, so this does not hide Serializer.fields.
        fields = serializers.DictField(  # type: ignore[assignment]
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Messages per invalid input field; empty unless the input failed validation.",
        )


class RepBriefSerializer(serializers.ModelSerializer[Rep]):
    name = serializers.CharField(source="display_name", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Rep
        fields = ["id", "name", "username"]


class HandoffLeadSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")
    status = serializers.CharField()
    fit_score = serializers.IntegerField()
    engagement_score = serializers.FloatField()


class HandoffSerializer(serializers.ModelSerializer[Handoff]):
    lead = HandoffLeadSerializer(read_only=True)
    rep = RepBriefSerializer(read_only=True)
    technical_expert = RepBriefSerializer(read_only=True)
    routing_rule: serializers.PrimaryKeyRelatedField[RoutingRule] = (
        serializers.PrimaryKeyRelatedField(read_only=True)
    )
    in_queue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Handoff
        fields = [
            "id",
            "lead",
            "status",
            "rep",
            "in_queue",
            "technical_expert",
            "routing_rule",
            "routing",
            "context",
            "marketing_notes",
            "sent_by",
            "sent_rule",
            "previous",
            "created_at",
            "due_at",
            "breach_count",
            "escalated_to",
            "decided_at",
            "decided_by",
            "qualification",
            "next_step",
            "next_step_date",
            "reject_reason",
            "reject_note",
            "outcome",
            "outcome_reason",
            "outcome_note",
            "closed_at",
        ]
        read_only_fields = fields


class HandoffEventSerializer(serializers.ModelSerializer[HandoffEvent]):
    class Meta:
        model = HandoffEvent
        fields = ["id", "handoff", "kind", "actor", "rule", "rep", "note", "data", "created_at"]
        read_only_fields = fields


class SendInputSerializer(serializers.Serializer[Any]):
    lead_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=MAX_SEND_LEADS
    )
    marketing_notes = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=10_000
    )


class SendResultSerializer(serializers.Serializer[Any]):
    created = serializers.ListField(child=serializers.DictField())
    # The metaclass moves declared fields off the class, so this does not shadow Serializer.errors.
    errors = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]


class AcceptInputSerializer(serializers.Serializer[Any]):
    confirmed_need = serializers.CharField(required=False, allow_blank=True, default="")
    process_fit = serializers.CharField(required=False, allow_blank=True, default="")
    technical_requirements = serializers.CharField(required=False, allow_blank=True, default="")
    acceptance_criteria = serializers.CharField(required=False, allow_blank=True, default="")
    integration_constraints = serializers.CharField(required=False, allow_blank=True, default="")
    next_step = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    next_step_date = serializers.DateField(required=False, allow_null=True, default=None)


class RejectInputSerializer(serializers.Serializer[Any]):
    reason = serializers.ChoiceField(choices=RejectReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CloseInputSerializer(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    reason = serializers.ChoiceField(choices=OutcomeReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReassignInputSerializer(serializers.Serializer[Any]):
    to_rep = serializers.IntegerField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class NoteInputSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(required=False, allow_blank=True, default="")


def _text_list() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )


class RepSerializer(serializers.ModelSerializer[Rep]):
    name = serializers.CharField(source="display_name", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    territories = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Territory.objects.all(), required=False
    )
    home_territory = serializers.SlugRelatedField(
        slug_field="code", queryset=Territory.objects.all(), required=False, allow_null=True
    )
    segments = _text_list()
    product_lines = _text_list()
    open_handoffs = serializers.IntegerField(source="open_count", read_only=True)

    class Meta:
        model = Rep
        fields = [
            "id",
            "user",
            "username",
            "name",
            "territories",
            "home_territory",
            "segments",
            "product_lines",
            "capacity",
            "open_handoffs",
            "is_technical_expert",
            "is_active",
            "out_of_office_until",
            "manager",
            "last_assigned_at",
        ]
        read_only_fields = ["id", "user", "username", "name", "open_handoffs", "last_assigned_at"]


class RoutingRuleSerializer(serializers.ModelSerializer[RoutingRule]):
    regions = _text_list()
    segments = _text_list()
    product_interests = _text_list()
    territories = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Territory.objects.all(), required=False
    )
    reps = serializers.PrimaryKeyRelatedField(many=True, queryset=Rep.objects.all(), required=False)
    strategy = serializers.ChoiceField(choices=RoutingStrategy.choices, required=False)
    position = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    sla_hours = serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        min_value=0,
        required=False,  # type: ignore[arg-type]
    )

    class Meta:
        model = RoutingRule
        fields = [
            "id",
            "name",
            "position",
            "is_active",
            "regions",
            "segments",
            "product_interests",
            "territories",
            "reps",
            "strategy",
            "sla_hours",
            "last_assigned_rep",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "last_assigned_rep", "created_at", "updated_at"]


class DryRunInputSerializer(serializers.Serializer[Any]):
    lead_id = serializers.IntegerField(min_value=1)


class DryRunSerializer(serializers.Serializer[Any]):
    lead_id = serializers.IntegerField()
    routing = serializers.DictField()
