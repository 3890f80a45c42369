"""API input and output shapes of the handoff app.

Input fields are the strict ones of leadflow.api: each takes only the JSON type
the schema documents, so `"marketing_notes": 0` or `"capacity": "5"` is a 400
naming the field, and a body field the serializer does not have is a 400 too.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers

from handoff.models import (
    MAX_NEXT_STEP_LENGTH,
    MAX_NEXT_STEP_YEARS,
    MAX_QUALIFICATION_LENGTH,
    MAX_REP_CAPACITY,
    MAX_RULE_POSITION,
    Handoff,
    HandoffEvent,
    HandoffEventKind,
    HandoffStatus,
    Outcome,
    OutcomeReason,
    RejectReason,
    Rep,
    RoutingRule,
    RoutingStrategy,
    Territory,
)
from handoff.selectors import FEEDBACK_GROUP_EXPRESSIONS, LOSS_REASONS
from leadflow.api import (
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDateField,
    StrictDecimalField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
    StrictSlugRelatedField,
)
from leads.serializers import ReportRangeSerializer

# A bulk send routes every lead inside one transaction holding the routing lock.
MAX_SEND_LEADS = 500
MAX_NOTE_LENGTH = 10_000
MAX_LIST_ITEMS = 100


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
    status = serializers.ChoiceField(choices=HandoffStatus.choices, read_only=True)
    rep = RepBriefSerializer(
        read_only=True, allow_null=True, help_text="Null while the handoff waits in the queue."
    )
    technical_expert = RepBriefSerializer(read_only=True, allow_null=True)
    routing_rule: serializers.PrimaryKeyRelatedField[RoutingRule] = (
        serializers.PrimaryKeyRelatedField(
            read_only=True, allow_null=True, help_text="The routing rule that chose the rep."
        )
    )
    in_queue = serializers.BooleanField(
        read_only=True, help_text="Pending without a rep, waiting in the fallback queue."
    )
    routing = serializers.DictField(
        read_only=True, help_text="Why this rep: the deciding step, the rules tried, reps skipped."
    )
    # The metaclass moves declared fields off the class, so this does not hide Field.context.
    context = serializers.DictField(  # type: ignore[assignment]
        read_only=True, help_text="Snapshot of what the rep needs, taken when it was sent."
    )
    qualification = serializers.DictField(
        child=serializers.CharField(), read_only=True, help_text="Filled in on acceptance."
    )
    # Empty text until the handoff is rejected or closed, so the blank value is one of the choices.
    reject_reason = serializers.ChoiceField(
        choices=RejectReason.choices, allow_blank=True, read_only=True
    )
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True, read_only=True)
    outcome_reason = serializers.ChoiceField(
        choices=OutcomeReason.choices, allow_blank=True, read_only=True
    )

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
    kind = serializers.ChoiceField(choices=HandoffEventKind.choices, read_only=True)
    # The metaclass moves declared fields off the class, so this does not hide Serializer.data.
    data = serializers.DictField(read_only=True)  # type: ignore[assignment]

    class Meta:
        model = HandoffEvent
        fields = ["id", "handoff", "kind", "actor", "rule", "rep", "note", "data", "created_at"]
        read_only_fields = fields


def _note_field(help_text: str) -> StrictCharField:
    return StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_NOTE_LENGTH,
        help_text=help_text,
    )


def _qualification_field(help_text: str) -> StrictCharField:
    return StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_QUALIFICATION_LENGTH,
        help_text=help_text,
    )


class SendInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """MQLs to hand to sales, with a note for the reps."""

    lead_ids = serializers.ListField(
        child=StrictIntegerField(min_value=1),
        min_length=1,
        max_length=MAX_SEND_LEADS,
        help_text="MQLs to hand to sales; a lead listed twice is sent once.",
    )
    marketing_notes = _note_field("Added to each lead's own notes in the snapshot.")


class SendCreatedSerializer(serializers.Serializer[Any]):
    lead_id = serializers.IntegerField()
    handoff_id = serializers.IntegerField()
    rep_id = serializers.IntegerField(
        allow_null=True, help_text="Null when the handoff waits in the fallback queue."
    )


class SendErrorSerializer(serializers.Serializer[Any]):
    lead_id = serializers.IntegerField()
    code = serializers.CharField(
        help_text="lead_not_found, lead_not_qualified, handoff_already_open or "
        "handoff_context_missing."
    )
    message = serializers.CharField()


class SendResultSerializer(serializers.Serializer[Any]):
    created = SendCreatedSerializer(many=True, help_text="One entry per handoff opened.")
    # The metaclass moves declared fields off the class, so this does not shadow Serializer.errors.
    errors = SendErrorSerializer(  # type: ignore[assignment]
        many=True, help_text="One entry per lead that was not sent, with the reason."
    )


class AcceptInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """Qualification a rep records on accepting. The handoff settings name the required fields."""

    confirmed_need = _qualification_field("The need, project or requirement the lead confirmed.")
    process_fit = _qualification_field("How the lead's processes fit the product.")
    technical_requirements = _qualification_field("Technical requirements the lead named.")
    acceptance_criteria = _qualification_field("What the lead needs to see to buy.")
    integration_constraints = _qualification_field("Systems and constraints the product must fit.")
    next_step = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_NEXT_STEP_LENGTH,
        help_text="The agreed next step, such as a technical consultation.",
    )
    next_step_date = StrictDateField(
        required=False,
        allow_null=True,
        default=None,
        help_text=f"Day of the next step, YYYY-MM-DD; from today to the same day "
        f"{MAX_NEXT_STEP_YEARS} years ahead.",
    )


class RejectInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """A rejection: the reason code and a note for marketing."""

    reason = StrictChoiceField(
        choices=RejectReason.choices,
        help_text="not_a_fit, wrong_contact and duplicate disqualify the lead; no_active_need "
        "and bad_timing send it to nurture.",
    )
    note = _note_field("Why, for marketing.")


class CloseInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """The outcome of an SQL and its reason, which must fit the outcome."""

    outcome = StrictChoiceField(choices=Outcome.choices)
    reason = StrictChoiceField(
        choices=OutcomeReason.choices,
        help_text="Won: product_fit, price, relationship, service_and_support, other. Lost: "
        "lost_to_competitor, no_budget, no_decision, product_gap, too_expensive, timing, other.",
    )
    note = _note_field("Details for marketing.")


class ReassignInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """The rep to take the handoff, or none to let routing choose, and a note."""

    to_rep = StrictPrimaryKeyRelatedField(
        queryset=Rep.objects.select_related("user"),
        required=False,
        allow_null=True,
        default=None,
        help_text="Id of the rep to take it, who must be available and below capacity; "
        "without it routing picks the next rep, skipping those who held the lead.",
    )
    note = _note_field("Why, kept in the audit trail.")


class NoteInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """A note for the audit trail."""

    note = _note_field("Why, kept in the audit trail.")


def _text_list(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=StrictCharField(max_length=100),
        max_length=MAX_LIST_ITEMS,
        required=False,
        default=list,
        help_text=help_text,
    )


class RepSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer[Rep]):
    """A rep's profile. Read-only fields sent back in a body are ignored."""

    name = serializers.CharField(source="display_name", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    territories = StrictSlugRelatedField(
        slug_field="code",
        many=True,
        queryset=Territory.objects.all(),
        required=False,
        help_text="Codes of the territories the rep covers.",
    )
    home_territory = StrictSlugRelatedField(
        slug_field="code",
        queryset=Territory.objects.all(),
        required=False,
        allow_null=True,
        help_text="Code of the territory whose business hours count the rep's SLA.",
    )
    segments = _text_list("Account segments the rep sells to; empty for all.")
    product_lines = _text_list("Product lines the rep sells; empty for all.")
    capacity = StrictIntegerField(
        min_value=0,
        max_value=MAX_REP_CAPACITY,
        required=False,
        help_text="Maximum pending handoffs the rep holds at once.",
    )
    open_handoffs = serializers.IntegerField(source="open_count", read_only=True)
    is_technical_expert = StrictBooleanField(required=False)
    is_active = StrictBooleanField(required=False, help_text="Whether routing may assign the rep.")
    out_of_office_until = StrictDateField(
        required=False,
        allow_null=True,
        help_text="Last day of absence, YYYY-MM-DD; the rep is routed to again after it.",
    )
    manager = StrictPrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of the sales manager who receives this rep's SLA escalations.",
    )

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


class RoutingRuleSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer[RoutingRule]):
    """A routing rule. Read-only fields sent back in a body are ignored."""

    name = StrictCharField(max_length=200)
    position = StrictIntegerField(
        min_value=0,
        max_value=MAX_RULE_POSITION,
        required=False,
        allow_null=True,
        help_text="Lower positions are tried first; without one a new rule goes last.",
    )
    is_active = StrictBooleanField(required=False, help_text="Whether routing tries the rule.")
    regions = _text_list("Lead regions, such as europe; empty for any.")
    segments = _text_list("Account segments, such as automotive; empty for any.")
    product_interests = _text_list(
        "Product interests; a lead matches when it shares one. Empty for any."
    )
    territories = StrictSlugRelatedField(
        slug_field="code",
        many=True,
        queryset=Territory.objects.all(),
        required=False,
        help_text="Codes of territories; every rep of these joins the pool.",
    )
    reps = StrictPrimaryKeyRelatedField(
        many=True,
        queryset=Rep.objects.all(),
        required=False,
        help_text="Ids of reps added to the pool.",
    )
    strategy = StrictChoiceField(choices=RoutingStrategy.choices, required=False)
    sla_hours = StrictDecimalField(
        max_digits=6,
        decimal_places=2,
        min_value=Decimal(0),
        required=False,
        help_text="Business hours of the rep's territory the rep has to accept or reject.",
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


class DryRunInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """The lead whose route to show."""

    lead_id = StrictIntegerField(min_value=1, help_text="The lead to route.")


class DryRunSerializer(serializers.Serializer[Any]):
    lead_id = serializers.IntegerField()
    routing = serializers.DictField(
        help_text="The decision and its trace: step, rule, rep, every rule tried and rep skipped."
    )


# Reports


class FeedbackQuerySerializer(ReportRangeSerializer):
    group_by = serializers.ChoiceField(
        choices=list(FEEDBACK_GROUP_EXPRESSIONS),
        required=False,
        help_text="Split the counts by the handoff's rep, the account's segment, the lead's "
        "first-touch campaign, or the rule-set version that scored the lead when it was sent.",
    )
    segment = serializers.CharField(
        max_length=64, required=False, help_text="Only leads of accounts in this segment."
    )
    campaign = serializers.CharField(
        max_length=200, required=False, help_text="Only leads with this first-touch campaign."
    )


def _reason_counts(
    name: str, reasons: Iterable[tuple[str, str]]
) -> type[serializers.Serializer[Any]]:
    """Build a serializer of one count per reason, so the schema lists every reason."""
    fields = {value: serializers.IntegerField(help_text=label) for value, label in reasons}
    return type(name, (serializers.Serializer,), fields)


RejectReasonCountsSerializer = _reason_counts("RejectReasonCountsSerializer", RejectReason.choices)
LossReasonCountsSerializer = _reason_counts(
    "LossReasonCountsSerializer",
    [(reason, OutcomeReason(reason).label) for reason in LOSS_REASONS],
)


class FeedbackCountsSerializer(serializers.Serializer[Any]):
    value = serializers.CharField(
        allow_null=True,
        help_text="The group's rep id, segment, campaign or rule-set version, as text; null "
        "for the total and for handoffs without one (no rep, account, campaign or version).",
    )
    label = serializers.CharField(  # type: ignore[assignment]
        allow_null=True,
        help_text="The rep's name for rep groups, else the value; null for the total.",
    )
    rejected = serializers.IntegerField(help_text="Handoffs rejected in the range.")
    lost = serializers.IntegerField(help_text="SQLs closed as lost in the range.")
    reject_reasons = RejectReasonCountsSerializer(help_text="Rejections per reason.")
    loss_reasons = LossReasonCountsSerializer(help_text="Losses per reason.")


class FeedbackReportSerializer(serializers.Serializer[Any]):
    start = serializers.DateField()
    end = serializers.DateField()
    group_by = serializers.ChoiceField(choices=list(FEEDBACK_GROUP_EXPRESSIONS), allow_null=True)
    total = FeedbackCountsSerializer()
    groups = FeedbackCountsSerializer(many=True, help_text="Empty unless group_by is sent.")
