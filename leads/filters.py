"""Filters and ordering of the lead list in the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django_filters.constants import EMPTY_VALUES

from leads.models import Lead, LeadStatus

LEAD_ORDERING_FIELDS = (
    "created_at",
    "updated_at",
    "status_changed_at",
    "scored_at",
    "fit_score",
    "engagement_score",
    "id",
)


class StableOrderingFilter(django_filters.OrderingFilter):
    """Ordering that ends with the id, so that pages of equal values neither overlap nor skip rows."""

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if value in EMPTY_VALUES:
            return qs
        ordering = [self.get_ordering_value(param) for param in value]
        ordering.append("-id" if ordering[0].startswith("-") else "id")
        return qs.order_by(*ordering)


class LeadFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=LeadStatus.choices,
        help_text="Lifecycle status; repeat the parameter to match any of several.",
    )
    region = django_filters.CharFilter(help_text="Region of the lead, such as europe.")
    first_touch_source = django_filters.CharFilter(
        help_text="UTM source of the lead's first touch, such as google."
    )
    segment = django_filters.CharFilter(
        field_name="account__segment",
        help_text="Industry segment of the lead's account, such as automotive.",
    )
    fit_score_min = django_filters.NumberFilter(
        field_name="fit_score", lookup_expr="gte", help_text="Lowest fit score, inclusive."
    )
    fit_score_max = django_filters.NumberFilter(
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
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text="Created at or after this ISO 8601 time; a date alone means its midnight UTC.",
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="lt",
        help_text="Created before this ISO 8601 time; a date alone means its midnight UTC.",
    )
    ordering = StableOrderingFilter(
        fields=LEAD_ORDERING_FIELDS,
        help_text="Sort fields, comma-separated; a leading '-' sorts descending. "
        "The default is -created_at.",
    )

    class Meta:
        model = Lead
        fields = [
            "status",
            "region",
            "first_touch_source",
            "segment",
            "fit_score_min",
            "fit_score_max",
            "engagement_score_min",
            "engagement_score_max",
            "created_after",
            "created_before",
        ]
