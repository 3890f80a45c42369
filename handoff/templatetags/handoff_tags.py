"""Template filters for the handoff pages."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from handoff.models import OutcomeReason, QualificationField, RejectReason

register = template.Library()

REASON_LABELS = {**dict(RejectReason.choices), **dict(OutcomeReason.choices)}


@register.filter
def isodatetime(value: str | None) -> dt.datetime | str:
    """Parse an ISO 8601 string stored in a context snapshot into an aware datetime for `date`."""
    parsed = parse_datetime(value or "")
    if parsed is None:
        return value or ""
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return timezone.localtime(parsed)


@register.filter
def reason_label(code: str) -> str:
    return str(REASON_LABELS.get(code, code or "no reason"))


@register.filter
def qualification_label(name: str) -> str:
    try:
        return str(QualificationField(name).label)
    except ValueError:
        return name
