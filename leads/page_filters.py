"""The MQL queue's filters and sort orders, as a django-filter FilterSet."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import F, Q, QuerySet

from leads.labels import code_label
from leads.models import Lead
from leads.page_selectors import SCORE_BANDS, QueueFilterOptions, score_band_condition
from leads.queue_pagination import KeysetOrder

# Each sort ends with the primary key so that pages never repeat or skip a lead when
# many leads share a score.
SORT_ORDERINGS: dict[str, tuple[Any, ...]] = {
    "-fit": ("-fit_score", "-engagement_score", "-id"),
    "fit": ("fit_score", "engagement_score", "id"),
    "-engagement": ("-engagement_score", "-fit_score", "-id"),
    "engagement": ("engagement_score", "fit_score", "id"),
    "-mql_since": (F("status_changed_at").desc(nulls_last=True), "-id"),
    "mql_since": (F("status_changed_at").asc(nulls_last=True), "id"),
}
# The same sorts for keyset pagination; each has a partial index on the MQL leads.
SORT_KEYS: dict[str, KeysetOrder] = {
    "-fit": KeysetOrder(("fit_score", "engagement_score", "id"), descending=True),
    "fit": KeysetOrder(("fit_score", "engagement_score", "id"), descending=False),
    "-engagement": KeysetOrder(("engagement_score", "fit_score", "id"), descending=True),
    "engagement": KeysetOrder(("engagement_score", "fit_score", "id"), descending=False),
    "-mql_since": KeysetOrder(("status_changed_at", "id"), descending=True, nullable_first=True),
    "mql_since": KeysetOrder(("status_changed_at", "id"), descending=False, nullable_first=True),
}
SORT_CHOICES = [
    ("-fit", "Fit, highest first"),
    ("fit", "Fit, lowest first"),
    ("-engagement", "Engagement, highest first"),
    ("engagement", "Engagement, lowest first"),
    ("-mql_since", "MQL date, newest first"),
    ("mql_since", "MQL date, oldest first"),
]
DEFAULT_SORT = "-fit"

BAND_CHOICES = [(band.code, band.short_description) for band in SCORE_BANDS]


def _invalid_choice(field_description: str) -> dict[str, str]:
    return {
        "invalid_choice": f"No lead in the queue has the {field_description} %(value)s; pick one from the list."
    }


class MQLQueueFilter(django_filters.FilterSet):
    """Filters of the MQL queue. The segment, region and source menus list only the values
    present in the queue, passed in as `options`."""

    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Name, e-mail or company",
                "autocomplete": "off",
            }
        ),
    )
    segment = django_filters.ChoiceFilter(
        field_name="account__segment",
        label="Segment",
        empty_label="All segments",
        error_messages=_invalid_choice("segment"),
    )
    region = django_filters.ChoiceFilter(
        label="Region", empty_label="All regions", error_messages=_invalid_choice("region")
    )
    source = django_filters.ChoiceFilter(
        field_name="first_touch_source",
        label="Source",
        empty_label="All sources",
        error_messages=_invalid_choice("first-touch source"),
    )
    band = django_filters.ChoiceFilter(
        method="filter_band",
        label="Score band",
        choices=BAND_CHOICES,
        empty_label="All bands",
        error_messages={
            "invalid_choice": "Unknown score band %(value)s; pick A, B, C or D from the list."
        },
    )
    # Applied in filter_queryset, after all filters, so a missing sort still gets the default.
    sort = django_filters.ChoiceFilter(
        method="keep_queryset",
        label="Sort",
        choices=SORT_CHOICES,
        empty_label=None,
        error_messages={
            "invalid_choice": "Unknown sort order %(value)s; click a column heading to sort."
        },
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    def __init__(self, *args: Any, options: QueueFilterOptions, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["segment"].extra["choices"] = [
            (value, code_label(value)) for value in options.segments
        ]
        self.filters["region"].extra["choices"] = [
            (value, code_label(value)) for value in options.regions
        ]
        self.filters["source"].extra["choices"] = [
            (value, code_label(value)) for value in options.sources
        ]

    def filter_search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        """Match every word of the search against name, e-mail or company."""
        for word in value.split():
            queryset = queryset.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(company_name__icontains=word)
                | Q(account__name__icontains=word)
            )
        return queryset

    def filter_band(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return queryset.filter(score_band_condition(value))

    def keep_queryset(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return queryset

    @property
    def sort_value(self) -> str:
        """Return the sort in force: the requested one when valid, otherwise the default."""
        if not self.is_bound:
            return DEFAULT_SORT
        # Validation leaves invalid fields out of cleaned_data, so a bad sort falls back.
        self.form.is_valid()
        return self.form.cleaned_data.get("sort") or DEFAULT_SORT

    def filter_queryset(self, queryset: QuerySet[Lead]) -> QuerySet[Lead]:
        # An invalid value of one filter drops only that filter (the page shows why);
        # the others still apply.
        return super().filter_queryset(queryset).order_by(*SORT_ORDERINGS[self.sort_value])

    @property
    def active_filters(self) -> bool:
        if not self.is_bound:
            return False
        return any(
            self.form.cleaned_data.get(name)
            for name in ("q", "segment", "region", "source", "band")
        )
