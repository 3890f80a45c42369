"""Template filters of the scoring pages: durations, rates and chart data."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """Write seconds as "45 s", "3 min 20 s" or "1 h 05 min"."""
    if seconds is None:
        return "—"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def per_second(rate: float | None) -> str:
    if rate is None:
        return "—"
    return f"{rate:,.0f}/s" if rate >= 10 else f"{rate:,.1f}/s"


@register.filter
def delta(after: float | None, before: float | None) -> str:
    """Write the change between two scores with its sign: "+15", "\u22124.5" (minus sign), "±0"."""
    if after is None or before is None:
        return ""
    change = round(float(after) - float(before), 2)
    if change == 0:
        return "±0"
    text = f"{abs(change):.2f}".rstrip("0").rstrip(".")
    return f"+{text}" if change > 0 else f"\u2212{text}"


@register.filter
def percent_of(part: int | None, whole: int | None) -> str:
    if not whole:
        return "—"
    return f"{100 * (part or 0) / whole:.0f}%"


@register.simple_tag
def histogram_data(result: dict[str, Any], score: str) -> SafeString:
    """Render the JSON a histogram canvas reads: bucket labels and the before and after counts."""
    histograms = result.get("histograms") or {}
    data = {
        "labels": result.get("bucket_labels") or [],
        "before": histograms.get(f"{score}_before") or [],
        "after": histograms.get(f"{score}_after") or [],
    }
    return format_html("{}", json.dumps(data))
