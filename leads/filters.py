"""Filters of the lead, event and account lists in the API (django-filter).

Ordering is not a filter here: the views declare `ordering_fields` for
leadflow.api.StrictOrderingFilter, so cursor pagination can read it.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from leadflow.api import (
    StrictBooleanFilter,
    StrictDateTimeFilter,
    StrictFilterSet,
    StrictIntegerFilter,
)
from leads.models import Account, EngagementEvent, EventKind, Lead, LeadStatus
from leads.normalize import normalize_domain

# Orderings the cursor lists serve: non-null fields, each followed by the id as a tie-break.
# status_changed_at and scored_at are null until set, so they cannot be cursor positions.
LEAD_ORDERING_FIELDS = ("created_at", "updated_at", "fit_score", "engagement_score", "id")
EVENT_ORDERING_FIELDS = ("occurred_at", "id")
ACCOUNT_ORDERING_FIELDS = (
    "name",
    "created_at",
    "updated_at",
    "employee_count",
    "annual_revenue_usd",
    "engagement_score",
    "lead_count",
    "id",
)

DATE_TIME_HELP = (
    "time, ISO 8601 with a zone such as 2026-03-01T14:30:00Z; a date alone means its midnight UTC."
)


def _either_touch(field: str) -> Any:
    """Build a filter method matching the first- or last-touch value of a UTM field."""

    def method(queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return queryset.filter(
            Q(**{f"first_touch_{field}__iexact": value})
            | Q(**{f"last_touch_{field}__iexact": value})
        )

    return method


class LeadFilter(StrictFilterSet):
    status = django_filters.MultipleChoiceFilter(
        # The filter reads its own column and joins nothing, so DISTINCT would only sort.
        distinct=False,
        choices=LeadStatus.choices,
        help_text="Lifecycle status; repeat the parameter to match any of several.",
    )
    owner = StrictIntegerFilter(
        field_name="owner_id", help_text="Id of the user who owns the lead."
    )
    has_owner = StrictBooleanFilter(
        field_name="owner", lookup_expr="isnull", exclude=True, help_text="Whether a user owns it."
    )
    account = StrictIntegerFilter(field_name="account_id", help_text="Id of the lead's account.")
    segment = django_filters.CharFilter(
        field_name="account__segment",
        help_text="Industry segment of the lead's account, such as automotive.",
    )
    region = django_filters.CharFilter(help_text="Region of the lead, such as europe.")
    source = django_filters.CharFilter(
        method=_either_touch("source"),
        help_text="UTM source of the lead's first or last touch, such as google; any case.",
    )
    campaign = django_filters.CharFilter(
        method=_either_touch("campaign"),
        help_text="UTM campaign of the lead's first or last touch; any case.",
    )
    first_touch_source = django_filters.CharFilter(
        help_text="UTM source of the lead's first touch, such as google."
    )
    fit_score_min = StrictIntegerFilter(
        field_name="fit_score", lookup_expr="gte", help_text="Lowest fit score, inclusive."
    )
    fit_score_max = StrictIntegerFilter(
        field_name="fit_score", lookup_expr="lte", help_text="Highest fit score, inclusive."
    )
    engagement_score_min = django_filters.NumberFilter(
        field_name="engagement_score",
        lookup_expr="gte",
        help_text="Lowest engagement score, inclusive.",
    )
    engagement_score_max = django_filters.NumberFilter(
        field_name="engagement_score",
        lookup_expr="lte",
        help_text="Highest engagement score, inclusive.",
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
    updated_after = StrictDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=f"Last changed at or after this {DATE_TIME_HELP}",
    )
    updated_before = StrictDateTimeFilter(
        field_name="updated_at",
        lookup_expr="lt",
        help_text=f"Last changed before this {DATE_TIME_HELP}",
    )
    has_email = StrictBooleanFilter(
        field_name="email",
        lookup_expr="isnull",
        exclude=True,
        help_text="true for leads with an e-mail address, false for leads known by external id.",
    )
    score_stale = StrictBooleanFilter(
        help_text="true for leads whose score waits to be recomputed."
    )

    class Meta:
        model = Lead
        fields: list[str] = []


class LeadEventFilter(StrictFilterSet):
    """Filters of one lead's events, whose lead is in the path."""

    kind = django_filters.MultipleChoiceFilter(
        distinct=False,
        choices=EventKind.choices,
        help_text="Event kind; repeat the parameter to match any of several.",
    )
    campaign = django_filters.CharFilter(help_text="Campaign the event belongs to, exactly.")
    source = django_filters.CharFilter(help_text="What sent the event, such as api or import.")
    occurred_after = StrictDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="gte",
        help_text=f"Happened at or after this {DATE_TIME_HELP}",
    )
    occurred_before = StrictDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="lt",
        help_text=f"Happened before this {DATE_TIME_HELP}",
    )

    class Meta:
        model = EngagementEvent
        fields: list[str] = []


class EventFilter(LeadEventFilter):
    lead = StrictIntegerFilter(field_name="lead_id", help_text="Id of the event's lead.")


class AccountFilter(StrictFilterSet):
    segment = django_filters.CharFilter(help_text="Industry segment, such as automotive.")
    region = django_filters.CharFilter(help_text="Region, such as europe.")
    facility_type = django_filters.CharFilter(help_text="Facility type, such as plant.")
    owner = StrictIntegerFilter(
        field_name="owner_id", help_text="Id of the user who owns the account."
    )
    domain = django_filters.CharFilter(
        method="filter_domain",
        help_text="Web domain, such as precision-parts.example; a URL or www. prefix is ignored.",
    )
    employees_min = StrictIntegerFilter(
        field_name="employee_count", lookup_expr="gte", help_text="Fewest employees, inclusive."
    )
    employees_max = StrictIntegerFilter(
        field_name="employee_count", lookup_expr="lte", help_text="Most employees, inclusive."
    )
    revenue_min = StrictIntegerFilter(
        field_name="annual_revenue_usd",
        lookup_expr="gte",
        help_text="Lowest annual revenue in US dollars, inclusive.",
    )
    revenue_max = StrictIntegerFilter(
        field_name="annual_revenue_usd",
        lookup_expr="lte",
        help_text="Highest annual revenue in US dollars, inclusive.",
    )

    class Meta:
        model = Account
        fields: list[str] = []

    def filter_domain(self, queryset: QuerySet[Account], name: str, value: str) -> Any:
        return queryset.filter(domain=normalize_domain(value) or value)
