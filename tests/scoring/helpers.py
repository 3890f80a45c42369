"""Builders of rule-set documents and scorer inputs shared by the scoring tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scoring.engine import EventValues

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def document(**overrides: Any) -> dict[str, Any]:
    """A small valid rule set: no rules, fit threshold 50, engagement threshold 40."""
    base: dict[str, Any] = {
        "name": "Test rules",
        "fit_rules": [],
        "engagement_rules": [],
        "fit_threshold": 50,
        "engagement_threshold": 40,
    }
    base.update(overrides)
    return base


def fit_rule(
    field: str, op: str, value: Any = None, points: int | float = 10, **extra: Any
) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": extra.pop("id", "fit-rule"),
        "field": field,
        "op": op,
        "points": points,
    }
    if value is not None:
        rule["value"] = value
    rule.update(extra)
    return rule


def engagement_rule(
    kind: str | list[str] = "page_view", points: int | float = 10, **extra: Any
) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": extra.pop("id", "engagement-rule"), "points": points}
    if isinstance(kind, list):
        rule["kinds"] = kind
    else:
        rule["kind"] = kind
    rule.update(extra)
    return rule


def lead_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "email": "dana.keller@precision-parts.example",
        "job_function": "engineering",
        "seniority": "manager",
        "job_title": "Manufacturing Engineering Manager",
        "country": "Germany",
        "region": "europe",
        "first_touch_source": "google",
        "first_touch_medium": "cpc",
        "first_touch_campaign": "cnc-2026",
        "interests": ["fixtures"],
        "email_opt_out": False,
        "call_opt_out": False,
        "custom_attributes": {},
    }
    values.update(overrides)
    return values


def account_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "segment": "automotive",
        "facility_type": "plant",
        "country": "Germany",
        "region": "europe",
        "employee_count": 800,
        "annual_revenue_usd": 120_000_000,
        "processes": ["cnc_machining", "die_casting"],
        "technologies": ["erp"],
    }
    values.update(overrides)
    return values


def event(
    event_id: int,
    kind: str = "page_view",
    *,
    age_days: float = 1,
    url: str = "",
    asset: str = "",
    campaign: str = "",
) -> EventValues:
    return EventValues(
        id=event_id,
        kind=kind,
        url=url,
        asset=asset,
        campaign=campaign,
        occurred_at=NOW - timedelta(days=age_days),
    )


def publish(doc: dict[str, Any]) -> Any:
    """Store and publish a document; its rescore run stays queued unless on_commit runs."""
    from scoring import services

    return services.ruleset_load(document=doc, publish=True)
