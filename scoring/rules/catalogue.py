"""The vocabulary of rule-set documents: fields, operators, field types and limits."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from leads.models import EventKind

ICP_KEYS = (
    "segments",
    "facility_types",
    "regions",
    "employee_bands",
    "revenue_bands",
    "processes",
    "technologies",
    "job_functions",
    "seniorities",
    "evaluation",
)
FIT_RULE_KEYS = ("id", "label", "group", "field", "op", "value", "points")
ENGAGEMENT_RULE_KEYS = (
    "id",
    "label",
    "group",
    "kind",
    "kinds",
    "url_pattern",
    "asset",
    "campaign",
    "points",
    "cap",
    "window_days",
    "half_life_days",
)
# Fields of the document with their defaults; None marks a required field.
DOCUMENT_DEFAULTS: dict[str, Any] = {
    "name": None,
    "notes": "",
    "icp": {},
    "fit_rules": [],
    "engagement_rules": [],
    "group_caps": {},
    "fit_cap": None,
    "engagement_cap": None,
    "fit_threshold": None,
    "engagement_threshold": None,
    "fast_track_kinds": [],
    "fast_track_window_days": 90,
}
REQUIRED_FIELDS = ("name", "fit_threshold", "engagement_threshold")

# Bounds that keep a typo from producing absurd scores; real rule sets stay far inside them.
MAX_POINTS = 10_000
MAX_CAP = 1_000_000
MAX_DAYS = 3650
MAX_LIST_VALUES = 500
RULE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
EVENT_KINDS = tuple(EventKind.values)


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOL = "bool"
    LIST = "list"
    # A custom attribute: JSON of any type, compared by the type of the rule's value.
    ANY = "any"


LEAD_FIELD_TYPES: dict[str, FieldType] = {
    "job_function": FieldType.TEXT,
    "seniority": FieldType.TEXT,
    "job_title": FieldType.TEXT,
    "country": FieldType.TEXT,
    "region": FieldType.TEXT,
    "first_touch_source": FieldType.TEXT,
    "first_touch_medium": FieldType.TEXT,
    "first_touch_campaign": FieldType.TEXT,
    "email_domain": FieldType.TEXT,
    "email_is_free_mail": FieldType.BOOL,
    "interests": FieldType.LIST,
    "email_opt_out": FieldType.BOOL,
    "call_opt_out": FieldType.BOOL,
}
ACCOUNT_FIELD_TYPES: dict[str, FieldType] = {
    "segment": FieldType.TEXT,
    "facility_type": FieldType.TEXT,
    "country": FieldType.TEXT,
    "region": FieldType.TEXT,
    "employee_count": FieldType.NUMBER,
    "annual_revenue_usd": FieldType.NUMBER,
    "employee_band": FieldType.TEXT,
    "revenue_band": FieldType.TEXT,
    "processes": FieldType.LIST,
    "technologies": FieldType.LIST,
    "has_account": FieldType.BOOL,
}

OPS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "contains_any",
    "gte",
    "lte",
    "between",
    "is_true",
    "is_false",
    "is_empty",
    "is_not_empty",
    "matches",
)
VALUELESS_OPS = frozenset({"is_true", "is_false", "is_empty", "is_not_empty"})
OPS_BY_TYPE: dict[FieldType, tuple[str, ...]] = {
    FieldType.TEXT: ("eq", "ne", "in", "not_in", "is_empty", "is_not_empty", "matches"),
    FieldType.NUMBER: (
        "eq",
        "ne",
        "in",
        "not_in",
        "gte",
        "lte",
        "between",
        "is_empty",
        "is_not_empty",
    ),
    FieldType.BOOL: ("is_true", "is_false", "eq", "ne"),
    FieldType.LIST: ("contains", "contains_any", "is_empty", "is_not_empty"),
    FieldType.ANY: OPS,
}


class ValueType(StrEnum):
    """The type of a fit rule's value, which decides how a custom attribute is compared."""

    TEXT = "text"
    NUMBER = "number"
    BOOL = "bool"
    NONE = "none"


@dataclass(frozen=True)
class FieldRef:
    scope: str  # "lead", "account" or "custom"
    name: str
    type: FieldType

    @property
    def path(self) -> str:
        return f"{self.scope}.{self.name}"


def show(value: Any) -> str:
    """Render a value as JSON for an error message, shortened to a readable length."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def to_decimal(value: int | float) -> Decimal:
    """Convert a JSON number exactly as PostgreSQL reads the same JSON text."""
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (isinstance(value, int) or math.isfinite(value))
    )
