"""The reference scorer: fit and engagement of one lead, with the breakdown that explains them.

The set-based rescore in scoring.sql computes the same numbers in PostgreSQL, and
the arithmetic here follows SQL's so that the two agree to the last digit. Points
and caps are Decimals. A decayed event is computed as a float, as PostgreSQL's
float8 does. It is converted to decimal with 15 significant digits, as
PostgreSQL's float8-to-numeric cast does, and rounded to 6 places. A rule's
total is rounded to 2 places. Rounding is always half away from zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from leads.normalize import employee_band, is_free_mail, revenue_band
from scoring.rules import (
    Cap,
    CompiledRuleSet,
    EngagementRule,
    FieldType,
    FitRule,
    ValueType,
    to_decimal,
)

SECONDS_PER_DAY = 86400.0
# Beyond 64 half-lives an event is worth less than 1e-15 of its points, which rounds to 0 at
# 6 places for any allowed points value. The limit keeps PostgreSQL's power() from underflowing.
MAX_HALF_LIVES = 64.0
EVENT_IDS_IN_BREAKDOWN = 10

LEAD_VALUE_FIELDS = (
    "email",
    "job_function",
    "seniority",
    "job_title",
    "country",
    "region",
    "first_touch_source",
    "first_touch_medium",
    "first_touch_campaign",
    "interests",
    "email_opt_out",
    "call_opt_out",
    "custom_attributes",
)
ACCOUNT_VALUE_FIELDS = (
    "segment",
    "facility_type",
    "country",
    "region",
    "employee_count",
    "annual_revenue_usd",
    "processes",
    "technologies",
)

_MISSING = object()
_NUMERIC_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_SIX_PLACES = Decimal("0.000001")
_TWO_PLACES = Decimal("0.01")
_WHOLE = Decimal("1")


@dataclass(frozen=True)
class EventValues:
    id: int
    kind: str
    url: str
    asset: str
    campaign: str
    occurred_at: datetime


@dataclass(frozen=True)
class FastTrackHit:
    kind: str
    event_id: int


@dataclass(frozen=True)
class ScoreResult:
    fit_score: int
    engagement_score: float
    breakdown: dict[str, Any]
    fast_track: FastTrackHit | None


def score_lead(
    ruleset: CompiledRuleSet,
    *,
    lead: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    events: Iterable[EventValues],
    now: datetime,
) -> ScoreResult:
    """Score one lead from its values, its account's values (None without one) and its events.

    `lead` contains LEAD_VALUE_FIELDS, `account` ACCOUNT_VALUE_FIELDS. Events outside
    every window are ignored; the order of `events` does not matter.
    """
    aged = [(event, _age_days(event.occurred_at, now)) for event in events]
    caps: list[dict[str, Any]] = []

    fit_points = [
        (rule, rule.points if fit_rule_matches(rule, lead, account) else Decimal(0))
        for rule in ruleset.fit_rules
    ]
    fit_total = _group_total(
        [(rule.group, points) for rule, points in fit_points], ruleset, ruleset.fit_groups(), caps
    )

    engagement_entries: list[dict[str, Any]] = []
    engagement_points: list[tuple[str, Decimal]] = []
    rule_caps: list[dict[str, Any]] = []
    for rule in ruleset.engagement_rules:
        points, entry, cap_entry = _engagement_rule_total(rule, aged)
        engagement_points.append((rule.group, points))
        if entry is not None:
            engagement_entries.append(entry)
        if cap_entry is not None:
            rule_caps.append(cap_entry)
    group_caps: list[dict[str, Any]] = []
    engagement_total = _quantize(
        _group_total(engagement_points, ruleset, ruleset.engagement_groups(), group_caps),
        _TWO_PLACES,
    )
    caps = rule_caps + caps + group_caps

    fit_capped = _apply_cap(fit_total, ruleset.fit_cap, "total", "fit", caps)
    engagement_capped = _quantize(
        _apply_cap(engagement_total, ruleset.engagement_cap, "total", "engagement", caps),
        _TWO_PLACES,
    )
    fit_score = int(_quantize(fit_capped, _WHOLE))
    engagement_score = float(engagement_capped)

    fast_track = _fast_track(ruleset, aged)
    breakdown = {
        "ruleset_version": ruleset.version,
        "fit_score": fit_score,
        "engagement_score": engagement_score,
        "fit": [
            {"rule": rule.id, "label": rule.label, "group": rule.group, "points": rule.points_json}
            for rule, points in fit_points
            if points != 0
        ],
        "engagement": engagement_entries,
        "caps": caps,
        "fast_track": None
        if fast_track is None
        else {"kind": fast_track.kind, "event_id": fast_track.event_id},
    }
    return ScoreResult(fit_score, engagement_score, breakdown, fast_track)


def _age_days(occurred_at: datetime, now: datetime) -> float:
    # total_seconds() divides whole microseconds, which rounds exactly as PostgreSQL's
    # numeric-to-float8 cast of EXTRACT(EPOCH ...) does.
    return max((now - occurred_at).total_seconds(), 0.0) / SECONDS_PER_DAY


def _quantize(value: Decimal, places: Decimal) -> Decimal:
    rounded = value.quantize(places, rounding=ROUND_HALF_UP)
    # PostgreSQL's numeric has no negative zero.
    return abs(rounded) if rounded == 0 else rounded


def _json_number(value: Decimal) -> int | float:
    """Write a Decimal as PostgreSQL's jsonb writes the numeric: integer without a fraction."""
    exponent = value.as_tuple().exponent
    return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)


def _apply_cap(
    total: Decimal, cap: Cap | None, scope: str, name: str, caps: list[dict[str, Any]]
) -> Decimal:
    """Limit `total` to [-cap, cap] and record the points the cap removed."""
    if cap is None:
        return total
    if total > cap.value:
        capped = cap.value
    elif total < -cap.value:
        capped = -cap.value
    else:
        return total
    removed = total - capped
    caps.append({"scope": scope, "name": name, "cap": cap.json, "removed": _json_number(removed)})
    return capped


def _group_total(
    points: Sequence[tuple[str, Decimal]],
    ruleset: CompiledRuleSet,
    groups: list[str],
    caps: list[dict[str, Any]],
) -> Decimal:
    total = sum((value for group, value in points if not group), Decimal(0))
    for group in groups:
        group_sum = sum((value for name, value in points if name == group), Decimal(0))
        total += _apply_cap(group_sum, ruleset.group_caps.get(group), "group", group, caps)
    return total


def _engagement_rule_total(
    rule: EngagementRule, aged: Sequence[tuple[EventValues, float]]
) -> tuple[Decimal, dict[str, Any] | None, dict[str, Any] | None]:
    matching = [(event, age) for event, age in aged if engagement_rule_matches(rule, event, age)]
    raw = _quantize(sum((_event_points(rule, age) for _, age in matching), Decimal(0)), _TWO_PLACES)
    points = raw
    if rule.cap is not None and abs(raw) > rule.cap.value:
        points = _quantize(rule.cap.value if raw > 0 else -rule.cap.value, _TWO_PLACES)
    cap_entry = None
    # A cap with more than two decimals can round back to the raw total; then it removed nothing.
    if rule.cap is not None and points != raw:
        cap_entry = {
            "scope": "rule",
            "name": rule.id,
            "cap": rule.cap.json,
            "removed": _json_number(raw - points),
        }
    if points == 0:
        return points, None, cap_entry

    newest = sorted(matching, key=lambda item: (item[0].occurred_at, item[0].id), reverse=True)
    entry = {
        "rule": rule.id,
        "label": rule.label,
        "group": rule.group,
        "points": float(points),
        "raw_points": float(raw),
        "capped": points != raw,
        "events": len(matching),
        "event_ids": [event.id for event, _ in newest[:EVENT_IDS_IN_BREAKDOWN]],
        "last_event_at": format_timestamp(newest[0][0].occurred_at),
    }
    return points, entry, cap_entry


def _event_points(rule: EngagementRule, age_days: float) -> Decimal:
    if rule.half_life_days is None:
        return rule.points
    half_lives = min(age_days / rule.half_life_days, MAX_HALF_LIVES)
    decayed = rule.points_float * (0.5**half_lives)
    return _quantize(Decimal(format(decayed, ".15g")), _SIX_PLACES)


def format_timestamp(value: datetime) -> str:
    """Write a time in UTC as ISO 8601, with microseconds only when there are any."""
    return value.astimezone(UTC).isoformat()


def engagement_rule_matches(rule: EngagementRule, event: EventValues, age_days: float) -> bool:
    if event.kind not in rule.kinds:
        return False
    if rule.window_days is not None and age_days > rule.window_days:
        return False
    for glob, value in (
        (rule.url_pattern, event.url),
        (rule.asset, event.asset),
        (rule.campaign, event.campaign),
    ):
        if glob is not None and not glob.matches(value or ""):
            return False
    return True


def _fast_track(
    ruleset: CompiledRuleSet, aged: Sequence[tuple[EventValues, float]]
) -> FastTrackHit | None:
    hits = [
        event
        for event, age in aged
        if event.kind in ruleset.fast_track_kinds and age <= ruleset.fast_track_window_days
    ]
    if not hits:
        return None
    newest = max(hits, key=lambda event: (event.occurred_at, event.id))
    return FastTrackHit(kind=newest.kind, event_id=newest.id)


# Fit rules.


def field_value(rule: FitRule, lead: Mapping[str, Any], account: Mapping[str, Any] | None) -> Any:
    """Return the value a fit rule tests, or _MISSING for no account or no attribute."""
    scope, name = rule.field.scope, rule.field.name
    if scope == "custom":
        value = (lead.get("custom_attributes") or {}).get(name)
        return _MISSING if value is None else value
    if scope == "lead":
        if name == "email_domain":
            return _email_domain(lead.get("email"))
        if name == "email_is_free_mail":
            domain = _email_domain(lead.get("email"))
            return bool(domain) and is_free_mail(domain)
        value = lead.get(name)
        return _MISSING if value is None else value
    if name == "has_account":
        return account is not None
    if account is None:
        return _MISSING
    if name == "employee_band":
        return employee_band(account.get("employee_count"))
    if name == "revenue_band":
        return revenue_band(account.get("annual_revenue_usd"))
    value = account.get(name)
    return _MISSING if value is None else value


def _email_domain(email: str | None) -> str:
    return email.rsplit("@", 1)[-1].lower() if email and "@" in email else ""


def fit_rule_matches(
    rule: FitRule, lead: Mapping[str, Any], account: Mapping[str, Any] | None
) -> bool:
    value = field_value(rule, lead, account)
    op = rule.op
    if op in ("ne", "not_in", "is_not_empty"):
        return not _positive_match(rule, {"ne": "eq", "not_in": "in"}.get(op, "is_empty"), value)
    return _positive_match(rule, op, value)


def _positive_match(rule: FitRule, op: str, value: Any) -> bool:
    if op == "is_empty":
        return value is _MISSING or value in ("", [], {})
    if value is _MISSING:
        return False
    if op in ("eq", "in"):
        return _as_type(value, rule.value_type, rule.field.type) in rule.values
    if op in ("contains", "contains_any"):
        items = _as_list(value)
        return any(item in items for item in rule.values)
    if op in ("gte", "lte", "between"):
        number = _as_number(value)
        if number is None:
            return False
        if op == "gte":
            return bool(number >= rule.values[0])
        if op == "lte":
            return bool(number <= rule.values[0])
        return bool(rule.values[0] <= number <= rule.values[1])
    if op in ("is_true", "is_false"):
        return _as_bool(value) is (op == "is_true")
    if op == "matches":
        text = _as_text(value)
        return text is not None and rule.regex is not None and rule.regex.matches(text)
    raise ValueError(f"Unknown operator {op!r}.")


def _as_type(value: Any, value_type: ValueType, field_type: FieldType) -> Any:
    if value_type == ValueType.TEXT:
        text = _as_text(value)
        return None if text is None else text.lower()
    if value_type == ValueType.NUMBER:
        return _as_number(value)
    return _as_bool(value)


def _as_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _as_number(value: Any) -> Decimal | None:
    """Read a JSON number, or a text of digits with an optional sign and decimal point."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return to_decimal(value)
    if isinstance(value, str):
        text = value.strip(" ")
        if _NUMERIC_TEXT.fullmatch(text):
            return Decimal(text)
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip(" ").lower()
        if text in ("true", "false"):
            return text == "true"
    return None


def _as_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item.lower() for item in value if isinstance(item, str)]


def lead_values(lead: Any) -> dict[str, Any]:
    """Collect the values the scorer reads from a Lead instance."""
    return {name: getattr(lead, name) for name in LEAD_VALUE_FIELDS}


def account_values(account: Any) -> dict[str, Any] | None:
    if account is None:
        return None
    return {name: getattr(account, name) for name in ACCOUNT_VALUE_FIELDS}
