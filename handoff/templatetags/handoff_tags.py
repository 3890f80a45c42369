"""Template filters for the handoff pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from handoff import selectors
from handoff.models import OutcomeReason, QualificationField, RejectReason
from leads.models import Lead

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


@register.inclusion_tag("handoff/_lead_feedback.html")
def handoff_feedback(lead: Lead) -> dict[str, Any]:
    """Render a lead's handoffs with every rejection and won or lost reason, for the lead page."""
    handoffs = list(selectors.lead_handoffs(lead))
    return {"lead": lead, "handoffs": handoffs}
