"""Template filters for the lead pages: score colours, signed points and readable codes."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.utils import timezone

from leads.labels import code_label as _code_label
from leads.labels import rule_label as _rule_label
from leads.page_selectors import score_level as _score_level

register = template.Library()

# U+2212 lines up with "+" in tabular figures, unlike the hyphen.
MINUS = "\u2212"
# Shown for a missing score, as the templates show missing text values.
MISSING = "\u2014"


def _number(value: float) -> str:
    """Format a score with at most two decimals and no trailing zeros: 40.0 → "40", 52.5 → "52.5"."""
    text = f"{abs(value):.2f}".rstrip("0").rstrip(".")
    return text or "0"


@register.filter
def score(value: float | None) -> str:
    if value is None:
        return MISSING
    return f"{MINUS}{_number(value)}" if value < 0 else _number(value)


@register.filter
def engagement(value: float | None) -> str:
    """Format an engagement score with exactly one decimal, the same on every page: "40.0".

    Halves round up, as people round: 48.25 is "48.3".
    """
    if value is None:
        return MISSING
    rounded = Decimal(str(abs(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{MINUS}{rounded}" if value < 0 and rounded else str(rounded)


@register.filter
def signed_points(value: float | None) -> str:
    if value is None:
        return MISSING
    if value < 0:
        return f"{MINUS}{_number(value)}"
    return f"+{_number(value)}"


@register.filter
def score_level(value: float | None) -> str:
    return _score_level(value or 0)


@register.filter
def code_label(value: str | None) -> str:
    return _code_label(value or "")


@register.filter
def rule_label(value: str | None) -> str:
    return _rule_label(value or "")


@register.filter
def waiting(value: datetime | None) -> str:
    """Say how long ago a moment was in whole days: "today", "1 day", "12 days"."""
    if value is None:
        return ""
    days = (timezone.now() - value).days
    if days < 1:
        return "today"
    return f"{days} day{'s' if days != 1 else ''}"


@register.filter
def dict_get(mapping: dict[Any, Any] | None, key: Any) -> Any:
    return (mapping or {}).get(key)
