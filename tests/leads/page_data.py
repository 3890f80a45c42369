"""Scored leads for page tests, with breakdowns in the shape docs/scoring.md documents.

The scoring engine is not needed: tests set the scores and the breakdown directly.
"""

from datetime import timedelta

from django.utils import timezone

from leads.models import LeadStatus
from tests.factories import LeadFactory

DEFAULT_FIT = [
    ("core-segment", "Core industry segment", "firmographic", 20),
    ("engineering", "Engineering function", "persona", 15),
    ("free-mail", "Free-mail address", "data_quality", -10),
]
DEFAULT_ENGAGEMENT = [
    # rule, label, group, points, raw points, capped, events
    ("rfq", "Quote or RFQ request", "intent", 40.0, 60.0, True, 2),
    ("pricing-page", "Pricing page view", "web", 12.5, 12.5, False, 5),
]


def make_breakdown(
    *,
    fit=DEFAULT_FIT,
    engagement=DEFAULT_ENGAGEMENT,
    caps=None,
    fast_track=None,
    version=3,
    event_ids=(),
):
    fit_rows = [
        {"rule": rule, "label": label, "group": group, "points": points}
        for rule, label, group, points in fit
    ]
    engagement_rows = [
        {
            "rule": rule,
            "label": label,
            "group": group,
            "points": points,
            "raw_points": raw_points,
            "capped": capped,
            "events": events,
            "event_ids": list(event_ids),
            "last_event_at": "2026-11-02T10:00:00+00:00",
        }
        for rule, label, group, points, raw_points, capped, events in engagement
    ]
    return {
        "ruleset_version": version,
        "fit_score": sum(row["points"] for row in fit_rows),
        "engagement_score": sum(row["points"] for row in engagement_rows),
        "fit": fit_rows,
        "engagement": engagement_rows,
        "caps": caps if caps is not None else [],
        "fast_track": fast_track,
    }


def scored_lead(
    *, status=LeadStatus.MQL, fit=60, engagement=55.5, days_in_queue=2, breakdown=None, **fields
):
    """Create a scored lead, by default in the MQL queue since `days_in_queue` days ago."""
    return LeadFactory(
        status=status,
        status_changed_at=timezone.now() - timedelta(days=days_in_queue),
        fit_score=fit,
        engagement_score=engagement,
        ruleset_version=3,
        scored_at=timezone.now() - timedelta(hours=1),
        score_breakdown=breakdown if breakdown is not None else make_breakdown(),
        **fields,
    )
