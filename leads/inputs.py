"""Parsing and validation of lead and event input, shared by the API, the importer and demo data.

Validation is plain Python rather than a serializer per item because the event
endpoint validates up to 1,000 items a request on the hot ingest path. Each
problem names the field, the bad value and the fix.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leads.models import EventKind
from leads.normalize import normalize_email

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EVENT_FUTURE_SECONDS = 300

LEAD_TEXT_FIELDS = {
    "first_name": 100,
    "last_name": 100,
    "job_title": 200,
    "job_function": 40,
    "seniority": 40,
    "phone": 50,
    "company_name": 200,
    "country": 100,
    "region": 64,
    "city": 100,
    "first_touch_source": 100,
    "first_touch_medium": 100,
    "first_touch_campaign": 200,
    "last_touch_source": 100,
    "last_touch_medium": 100,
    "last_touch_campaign": 200,
    "marketing_notes": 10_000,
    "source_system": 64,
}
LEAD_BOOL_FIELDS = {"email_opt_out", "call_opt_out"}


class InputError(ValueError):
    """Invalid input: `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(
            "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        )
        self.errors = errors


@dataclass
class LeadInput:
    email: str | None = None
    source_system: str = ""
    external_id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    interests: list[str] | None = None
    custom_attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        return self.email or f"{self.source_system}:{self.external_id}"


@dataclass
class EventInput:
    external_id: str
    kind: str
    occurred_at: datetime
    lead_id: int | None = None
    email: str | None = None
    lead_external_id: str | None = None
    source_system: str = ""
    url: str = ""
    asset: str = ""
    campaign: str = ""
    source: str = ""
    properties: dict[str, Any] = field(default_factory=dict)


def _text(value: Any, name: str, max_length: int, errors: dict[str, list[str]]) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors.setdefault(name, []).append(f"Expected text, got {type(value).__name__} {value!r}.")
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors.setdefault(name, []).append(
            f"{len(value)} characters is longer than the maximum of {max_length}; shorten the value."
        )
        return ""
    return value


def _email(value: Any, name: str, errors: dict[str, list[str]]) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not EMAIL_PATTERN.match(value.strip()) or len(value) > 254:
        errors.setdefault(name, []).append(
            f"{value!r} is not a valid e-mail address, such as name@example.com."
        )
        return None
    return normalize_email(value)


def parse_lead(data: Any) -> LeadInput:
    """Validate one lead; raise InputError naming every bad field."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise InputError(
            {
                "non_field_errors": [
                    f"Expected an object with lead fields, got {type(data).__name__}."
                ]
            }
        )

    email = _email(data.get("email"), "email", errors)
    external_id = _text(data.get("external_id"), "external_id", 128, errors) or None
    source_system = _text(data.get("source_system"), "source_system", 64, errors)
    if email is None and external_id is None and "email" not in errors:
        errors.setdefault("email", []).append(
            "Missing: a lead needs an e-mail address, or an external_id from its source system."
        )

    fields: dict[str, Any] = {}
    for name, max_length in LEAD_TEXT_FIELDS.items():
        if name in data and name != "source_system":
            fields[name] = _text(data[name], name, max_length, errors)
    for name in LEAD_BOOL_FIELDS:
        if name in data:
            value = data[name]
            if not isinstance(value, bool):
                errors.setdefault(name, []).append(f"Expected true or false, got {value!r}.")
            else:
                fields[name] = value

    interests = data.get("interests")
    if interests is not None and (
        not isinstance(interests, list) or not all(isinstance(item, str) for item in interests)
    ):
        errors.setdefault("interests", []).append(
            f"Expected a list of product categories, got {interests!r}."
        )
        interests = None

    custom = data.get("custom_attributes") or {}
    if not isinstance(custom, dict):
        errors.setdefault("custom_attributes", []).append(
            f"Expected an object, got {type(custom).__name__}."
        )
        custom = {}

    if errors:
        raise InputError(errors)
    return LeadInput(
        email=email,
        source_system=source_system,
        external_id=external_id,
        fields=fields,
        interests=interests,
        custom_attributes=custom,
    )


def _datetime(value: Any, name: str, errors: dict[str, list[str]]) -> datetime | None:
    if isinstance(value, datetime):
        parsed: datetime | None = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    else:
        parsed = None
    if parsed is None:
        errors.setdefault(name, []).append(
            f"{value!r} is not a date and time; use ISO 8601 such as 2026-03-01T14:30:00Z."
        )
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    if (parsed - timezone.now()).total_seconds() > MAX_EVENT_FUTURE_SECONDS:
        errors.setdefault(name, []).append(
            f"{value!r} is in the future; send the time the event happened."
        )
        return None
    return parsed


def derive_event_external_id(data: dict[str, Any]) -> str:
    """Build a stable id for an event sent without one, so a resend is still recognised."""
    identity = {
        key: data.get(key)
        for key in (
            "lead_id",
            "email",
            "lead_external_id",
            "kind",
            "occurred_at",
            "url",
            "asset",
            "campaign",
        )
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
    return f"derived:{digest[:40]}"


def parse_event(data: Any) -> EventInput:
    """Validate one engagement event; raise InputError naming every bad field."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise InputError(
            {"non_field_errors": [f"Expected an event object, got {type(data).__name__}."]}
        )

    kind = data.get("kind")
    if kind not in EventKind.values:
        message = f"{kind!r} is not an event kind; use one of {', '.join(EventKind.values)}."
        if kind is None:
            message = f"Missing; use one of {', '.join(EventKind.values)}."
        errors.setdefault("kind", []).append(message)

    occurred_at = None
    if data.get("occurred_at") is None:
        errors.setdefault("occurred_at", []).append(
            "Missing; send the time the event happened, in ISO 8601."
        )
    else:
        occurred_at = _datetime(data.get("occurred_at"), "occurred_at", errors)

    lead_id = data.get("lead_id")
    if lead_id is not None and (
        isinstance(lead_id, bool) or not isinstance(lead_id, int) or lead_id <= 0
    ):
        errors.setdefault("lead_id", []).append(
            f"{lead_id!r} is not a lead id; send a positive integer."
        )
        lead_id = None
    email = _email(data.get("email"), "email", errors)
    lead_external_id = _text(data.get("lead_external_id"), "lead_external_id", 128, errors) or None
    source_system = _text(data.get("source_system"), "source_system", 64, errors)
    if (
        lead_id is None
        and email is None
        and lead_external_id is None
        and not ({"lead_id", "email", "lead_external_id"} & errors.keys())
    ):
        errors.setdefault("email", []).append(
            "Missing: name the lead by email, lead_id, or lead_external_id with source_system."
        )

    external_id = _text(data.get("external_id"), "external_id", 200, errors)
    url = _text(data.get("url"), "url", 2000, errors)
    asset = _text(data.get("asset"), "asset", 255, errors)
    campaign = _text(data.get("campaign"), "campaign", 200, errors)
    source = _text(data.get("source"), "source", 64, errors)
    properties = data.get("properties") or {}
    if not isinstance(properties, dict):
        errors.setdefault("properties", []).append(
            f"Expected an object, got {type(properties).__name__}."
        )

    if errors:
        raise InputError(errors)
    assert occurred_at is not None
    assert isinstance(kind, str)
    return EventInput(
        external_id=external_id or derive_event_external_id(data),
        kind=kind,
        occurred_at=occurred_at,
        lead_id=lead_id,
        email=email,
        lead_external_id=lead_external_id,
        source_system=source_system,
        url=url,
        asset=asset,
        campaign=campaign,
        source=source,
        properties=properties,
    )
