"""Filters of the handoff, rep and routing rule lists in the API (django-filter).

Booleans, numbers and times use the strict filters of leadflow.api, and choice
filters reject unknown values, so a value of the wrong type is a 400 naming it
instead of being read as no filter. Ordering is declared on the views as
`ordering_fields`.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from handoff.models import (
    Handoff,
    HandoffStatus,
    Outcome,
    RejectReason,
    Rep,
    RoutingRule,
    RoutingStrategy,
)
from leadflow.api import (
    StrictBooleanFilter,
    StrictDateTimeFilter,
    StrictFilterSet,
    StrictIntegerFilter,
)

# Orderings the handoff cursor list serves: non-null fields, each with an index on (field, id).
HANDOFF_ORDERING_FIELDS = ("created_at", "id")
REP_ORDERING_FIELDS = ("username", "capacity", "open_handoffs", "id")
ROUTING_RULE_ORDERING_FIELDS = ("position", "name", "created_at", "updated_at", "id")

DATE_TIME_HELP = (
    "time, ISO 8601 with a zone such as 2026-03-01T14:30:00Z; a date alone means its midnight UTC."
)

IN_QUEUE = Q(status=HandoffStatus.PENDING, rep__isnull=True)


class HandoffFilter(StrictFilterSet):
    status = django_filters.MultipleChoiceFilter(
        # The filter reads its own column and joins nothing, so DISTINCT would only sort.
        distinct=False,
        choices=HandoffStatus.choices,
        help_text="Handoff status; repeat the parameter to match any of several.",
    )
    rep = StrictIntegerFilter(field_name="rep_id", help_text="Id of the assigned rep.")
    technical_expert = StrictIntegerFilter(
        field_name="technical_expert_id", help_text="Id of the technical expert."
    )
    lead = StrictIntegerFilter(field_name="lead_id", help_text="Id of the handed-off lead.")
    in_queue = StrictBooleanFilter(
        method="filter_in_queue",
        help_text="true for pending handoffs waiting in the fallback queue without a rep, false "
        "for every other handoff; the same rule as the in_queue field.",
    )
    overdue_before = StrictDateTimeFilter(
        field_name="due_at",
        lookup_expr="lte",
        help_text=f"Due at or before this {DATE_TIME_HELP} A pending handoff matching it is "
        "overdue at that time.",
    )
    created_after = StrictDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text=f"Created at or after this {DATE_TIME_HELP}",
    )
    created_before = StrictDateTimeFilter(
        field_name="created_at",
        lookup_expr="lt",
        help_text=f"Created before this {DATE_TIME_HELP}",
    )
    reject_reason = django_filters.MultipleChoiceFilter(
        distinct=False,
        choices=RejectReason.choices,
        help_text="Reason of a rejected handoff; repeat the parameter to match any of several.",
    )
    outcome = django_filters.ChoiceFilter(
        choices=Outcome.choices, help_text="Outcome of a closed SQL: won or lost."
    )

    class Meta:
        model = Handoff
        fields: list[str] = []

    def filter_in_queue(
        self, queryset: QuerySet[Handoff], name: str, value: bool
    ) -> QuerySet[Handoff]:
        # A withdrawn or reassigned handoff may have no rep either, but it no longer waits.
        return queryset.filter(IN_QUEUE) if value else queryset.exclude(IN_QUEUE)


class RepFilter(StrictFilterSet):
    territory = django_filters.CharFilter(
        field_name="territories__code", help_text="Code of a territory the rep covers."
    )
    is_active = StrictBooleanFilter(help_text="Whether routing may assign the rep.")
    is_technical_expert = StrictBooleanFilter(
        help_text="Whether the rep takes technical consultations."
    )

    class Meta:
        model = Rep
        fields: list[str] = []


class RoutingRuleFilter(StrictFilterSet):
    is_active = StrictBooleanFilter(help_text="Whether routing tries the rule.")
    strategy = django_filters.ChoiceFilter(
        choices=RoutingStrategy.choices, help_text="How the rule picks a rep from its pool."
    )

    class Meta:
        model = RoutingRule
        fields: list[str] = []
