"""The context snapshot a handoff carries: what a rep needs to decide without re-researching the lead."""

from __future__ import annotations

import datetime as dt
from typing import Any

from handoff.models import ContextField
from leads.models import EngagementEvent, Lead

# Events a rep reads to see why the lead is ready; older or weaker ones stay on the lead page.
QUALIFYING_EVENTS_SHOWN = 10

HIGH_INTENT_KINDS = (
    "quote_request",
    "demo_request",
    "meeting_request",
    "technical_consultation",
    "sample_request",
)


def _qualifying_event_ids(lead: Lead) -> list[int]:
    """Return ids of the events the score breakdown names, fast-track event first."""
    breakdown = lead.score_breakdown or {}
    ids: list[int] = []
    fast_track = breakdown.get("fast_track") or {}
    if fast_track.get("event_id"):
        ids.append(int(fast_track["event_id"]))
    for rule in breakdown.get("engagement") or []:
        for event_id in rule.get("event_ids") or []:
            if int(event_id) not in ids:
                ids.append(int(event_id))
    return ids


def _event_row(event: EngagementEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "kind": event.kind,
        "label": event.get_kind_display(),
        "occurred_at": event.occurred_at.isoformat(),
        "url": event.url,
        "asset": event.asset,
        "campaign": event.campaign,
    }


def qualifying_events(lead: Lead, *, as_of: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Return the engagement that qualified the lead: events in its breakdown, else its high-intent events.

    With `as_of`, only events that had happened by then count.
    """
    lead_events = EngagementEvent.objects.filter(lead=lead)
    if as_of is not None:
        lead_events = lead_events.filter(occurred_at__lte=as_of)
    ids = _qualifying_event_ids(lead)
    if ids:
        events = list(lead_events.filter(pk__in=ids))
        events.sort(key=lambda event: ids.index(event.pk))
    else:
        events = list(lead_events.filter(kind__in=HIGH_INTENT_KINDS).order_by("-occurred_at"))
    return [_event_row(event) for event in events[:QUALIFYING_EVENTS_SHOWN]]


def build_context(
    lead: Lead, *, marketing_notes: str = "", as_of: dt.datetime | None = None
) -> dict[str, Any]:
    """Freeze the lead's fit, interests, source, qualifying engagement, scores and notes.

    With `as_of`, as for a send dated in the past, the qualifying engagement stops at that
    time. The scores and their breakdown stay the lead's current ones.
    """
    account = lead.account
    breakdown = lead.score_breakdown or {}
    notes = "\n\n".join(
        part for part in (lead.marketing_notes.strip(), marketing_notes.strip()) if part
    )

    return {
        "lead": {
            "id": lead.pk,
            "name": lead.display_name,
            "email": lead.email,
            "phone": lead.phone,
            "job_title": lead.job_title,
            "job_function": lead.job_function,
            "seniority": lead.seniority,
            "country": lead.country,
            "region": lead.region,
        },
        "account": None
        if account is None
        else {
            "id": account.pk,
            "name": account.name,
            "domain": account.domain,
            "segment": account.segment,
            "facility_type": account.facility_type,
            "country": account.country,
            "region": account.region,
            "employee_count": account.employee_count,
            "employee_band": account.employee_band,
            "annual_revenue_usd": account.annual_revenue_usd,
            "revenue_band": account.revenue_band,
            "processes": list(account.processes or []),
            "technologies": list(account.technologies or []),
        },
        "fit": {"score": lead.fit_score, "rules": breakdown.get("fit") or []},
        "engagement": {
            "score": lead.engagement_score,
            "rules": breakdown.get("engagement") or [],
        },
        "interests": list(lead.interests or []),
        "campaign_source": {
            "first_touch_source": lead.first_touch_source,
            "first_touch_medium": lead.first_touch_medium,
            "first_touch_campaign": lead.first_touch_campaign,
            "last_touch_source": lead.last_touch_source,
            "last_touch_medium": lead.last_touch_medium,
            "last_touch_campaign": lead.last_touch_campaign,
        },
        "qualifying_events": qualifying_events(lead, as_of=as_of),
        "score_breakdown": breakdown,
        "ruleset_version": lead.ruleset_version,
        "marketing_notes": notes,
    }


def missing_context(context: dict[str, Any], required: list[str]) -> list[str]:
    """Return the required context fields the snapshot leaves empty, in the configured order."""
    campaign = context.get("campaign_source") or {}
    filled: dict[str, bool] = {
        ContextField.JOB_TITLE: bool(context["lead"].get("job_title")),
        ContextField.PHONE: bool(context["lead"].get("phone")),
        ContextField.ACCOUNT: context.get("account") is not None,
        ContextField.INTERESTS: bool(context.get("interests")),
        ContextField.CAMPAIGN_SOURCE: bool(
            campaign.get("first_touch_source")
            or campaign.get("first_touch_campaign")
            or campaign.get("last_touch_source")
            or campaign.get("last_touch_campaign")
        ),
        ContextField.QUALIFYING_ENGAGEMENT: bool(context.get("qualifying_events")),
        ContextField.SCORE_BREAKDOWN: bool(
            (context.get("score_breakdown") or {}).get("fit")
            or (context.get("score_breakdown") or {}).get("engagement")
        ),
        ContextField.MARKETING_NOTES: bool(context.get("marketing_notes")),
    }
    return [name for name in required if not filled.get(name, True)]
