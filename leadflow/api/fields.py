"""Filter and input fields that reject the values django-filter and DRF would read loosely.

Error messages take the rejected value as a `params` entry, because django-filter
applies `message % params` and a "%" in a raw value would otherwise fail.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class StrictBooleanFormField(forms.Field):
    """A true or false query value; anything else is invalid instead of meaning "no filter"."""

    TRUE_VALUES = ("true", "1")
    FALSE_VALUES = ("false", "0")

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE_VALUES:
            return True
        if text in self.FALSE_VALUES:
            return False
        raise ValidationError(
            "%(value)r is not a boolean; send true or false.",
            code="invalid",
            params={"value": value},
        )


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanFormField


# The range of a bigint column. SQLite raises OverflowError for an integer beyond it, and no
# integer or id column can contain such a value.
BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT)
class StrictIntegerFilter(django_filters.NumberFilter):
    """A whole number within the bigint range.

    django-filter's NumberFilter would also take 2.5 for an integer column.
    """

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", BIGINT_MIN)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(*args, **kwargs)


DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# RFC 3339, as OpenAPI's date-time format: a "T", seconds, and a zone ("Z" or an offset).
DATE_TIME_PATTERN = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$"
)


class StrictDateTimeField(forms.Field):
    """A time as RFC 3339 with its zone, or a date, which means its midnight UTC.

    A time without a zone is rejected rather than read in the server's zone.
    """

    def to_python(self, value: Any) -> datetime | None:
        if value in (None, ""):
            return None
        text = str(value).strip()
        try:
            if DATE_PATTERN.match(text):
                return datetime.combine(date.fromisoformat(text), time.min, tzinfo=UTC)
            if DATE_TIME_PATTERN.match(text):
                # In UTC, because PostgreSQL rejects offsets beyond 15:59 that Python accepts.
                return datetime.fromisoformat(text.upper()).astimezone(UTC)
        except (ValueError, OverflowError):
            pass
        raise ValidationError(
            "%(value)r is not a date or time; send ISO 8601 with a zone, such as "
            "2026-03-01T14:30:00Z, or a date such as 2026-03-01.",
            code="invalid",
            params={"value": value},
        )


@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "format": "date-time"},
            {"type": "string", "format": "date"},
        ]
    }
)
class StrictDateTimeFilter(django_filters.Filter):
    field_class = StrictDateTimeField


class StrictUUIDField(forms.UUIDField):
    """A UUID in its canonical form only, such as 0b8c6f0e-3f5e-4d4e-9a55-4c2b0f0d7a11."""

    CANONICAL = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

    def to_python(self, value: Any) -> Any:
        if value not in (None, "") and not self.CANONICAL.match(str(value).strip()):
            raise ValidationError(
                "%(value)r is not a UUID; send one such as 0b8c6f0e-3f5e-4d4e-9a55-4c2b0f0d7a11.",
                code="invalid",
                params={"value": value},
            )
        return super().to_python(value)


class StrictUUIDFilter(django_filters.UUIDFilter):
    field_class = StrictUUIDField


class StrictFilterSet(django_filters.FilterSet):
    """FilterSet whose filters reject values django-filter would read loosely.

    django-filter reads an unrecognised boolean, such as "yes", as no value and
    returns the list unfiltered. It also takes 2.5 for an integer column, and
    UUIDs without hyphens. Declare filters with the Strict* classes of this
    module. The filters Meta.fields generates use them already.
    """

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
        models.AutoField: {"filter_class": StrictIntegerFilter},
        models.BigAutoField: {"filter_class": StrictIntegerFilter},
        models.IntegerField: {"filter_class": StrictIntegerFilter},
        models.BigIntegerField: {"filter_class": StrictIntegerFilter},
        models.SmallIntegerField: {"filter_class": StrictIntegerFilter},
        models.PositiveIntegerField: {"filter_class": StrictIntegerFilter},
        models.PositiveBigIntegerField: {"filter_class": StrictIntegerFilter},
        models.PositiveSmallIntegerField: {"filter_class": StrictIntegerFilter},
        models.DateTimeField: {"filter_class": StrictDateTimeFilter},
        models.UUIDField: {"filter_class": StrictUUIDFilter},
    }


class StrictDateField(serializers.DateField):
    """A date as YYYY-MM-DD only; DRF would also take 20260301 and other ISO 8601 forms."""

    def to_internal_value(self, value: Any) -> date:
        if not isinstance(value, str) or not DATE_PATTERN.match(value.strip()):
            self.fail("invalid", format="YYYY-MM-DD")
        parsed: date = super().to_internal_value(value.strip())
        return parsed
