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
# Events before the Unix epoch are typing or conversion errors, such as 0001-01-01.
EARLIEST_EVENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)
# A lead names a handful of product categories; the lead page and the handoff context show
# every one of them.
MAX_INTERESTS = 50
MAX_INTEREST_LENGTH = 100
# custom_attributes of a lead and properties of an event, measured as compact JSON in UTF-8.
# An imported row's unmapped columns go to custom_attributes, so the limit leaves room for
# dozens of them.
MAX_JSON_OBJECT_BYTES = 32_768
# Levels of objects and lists inside custom_attributes or properties, the outer object
# included. The JSON encoder recurses once per level, so this also keeps it far from
# Python's recursion limit.
MAX_JSON_DEPTH = 10
# The largest primary key a bigint column holds; SQLite raises OverflowError beyond it.
MAX_ID = 2**63 - 1
# EventKind.values builds a new list on every access, which cost half of parse_event's time.
EVENT_KINDS = frozenset(EventKind.values)
EVENT_KINDS_TEXT = ", ".join(EventKind.values)

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


def unstorable_character(value: Any) -> str | None:
    """Name a character PostgreSQL cannot store found in `value`, its keys or items, else None.

    PostgreSQL text and jsonb reject NUL, and UTF-8 cannot encode an unpaired
    surrogate, which JSON allows as an escape such as \\ud800. The walk uses a stack
    rather than recursion, so a deeply nested value cannot exhaust Python's call stack.
    """
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "a NUL character"
            if not item.isascii() and any("\ud800" <= char <= "\udfff" for char in item):
                return "an unpaired surrogate character"
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def json_depth(value: Any) -> int:
    """Return how many levels of objects and lists `value` has: 0 for a scalar, 1 for {}."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children)
    return deepest


def json_object_problem(value: Any) -> str | None:
    """Return why an object cannot be stored as custom_attributes or properties, else None."""
    if not isinstance(value, dict):
        return f"Expected an object, got {'null' if value is None else type(value).__name__}."
    found = unstorable_character(value)
    if found:
        return f"Contains {found}; remove it."
    depth = json_depth(value)
    if depth > MAX_JSON_DEPTH:
        return (
            f"Nested {depth} levels deep, more than the maximum of {MAX_JSON_DEPTH}; "
            "flatten the object."
        )
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_JSON_OBJECT_BYTES:
        return (
            f"{size:,} bytes as JSON is more than the maximum of {MAX_JSON_OBJECT_BYTES:,}; "
            "send fewer or shorter values."
        )
    return None


def _interests_problem(interests: Any) -> str | None:
    """Return why `interests` is not a list of product categories that can be stored, else None."""
    if not isinstance(interests, list) or not all(isinstance(item, str) for item in interests):
        return f"Expected a list of product categories, got {interests!r}."
    if len(interests) > MAX_INTERESTS:
        return (
            f"{len(interests):,} product categories is more than the maximum of "
            f"{MAX_INTERESTS}; keep the ones the lead asked about."
        )
    for item in interests:
        if not item.strip():
            return "Contains an empty product category; remove it."
        if len(item) > MAX_INTEREST_LENGTH:
            return (
                f"The product category {item[:40]!r}… has {len(item):,} characters, more than "
                f"the maximum of {MAX_INTEREST_LENGTH}; shorten it."
            )
    found = unstorable_character(interests)
    if found:
        return f"Contains {found}; remove it."
    return None


def _text(value: Any, name: str, max_length: int, errors: dict[str, list[str]]) -> str:
    # The common case first: ingest validates seven text fields of up to 1,000 events a request.
    if type(value) is str:
        stripped = value.strip()
        # ASCII text holds no surrogates, so only the rare non-ASCII value pays the full check.
        if (
            len(stripped) <= max_length
            and "\x00" not in stripped
            and (stripped.isascii() or unstorable_character(stripped) is None)
        ):
            return stripped
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors.setdefault(name, []).append(f"Expected text, got {type(value).__name__} {value!r}.")
        return ""
    found = unstorable_character(value)
    if found:
        errors.setdefault(name, []).append(f"Contains {found}; remove it.")
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
    if (
        not isinstance(value, str)
        or not EMAIL_PATTERN.match(value.strip())
        or len(value) > 254
        or unstorable_character(value)
    ):
        errors.setdefault(name, []).append(
            f"{value!r} is not a valid e-mail address, such as name@example.com."
        )
        return None
    return normalize_email(value)


LEAD_IDENTITY_FIELDS = frozenset({"email", "external_id", "source_system"})
# Fields an edit may change: everything a source sends except what identifies the lead.
LEAD_EDITABLE_FIELDS = frozenset(
    (set(LEAD_TEXT_FIELDS) - LEAD_IDENTITY_FIELDS)
    | LEAD_BOOL_FIELDS
    | {"interests", "custom_attributes"}
)
LEAD_INPUT_FIELDS = LEAD_IDENTITY_FIELDS | LEAD_EDITABLE_FIELDS
# Lead fields that no input sets, with the reason given to a sender who tries.
LEAD_READ_ONLY_FIELDS = {
    "id": "Read-only; the id is assigned when the lead is created.",
    "status": "Read-only; the status changes only through a lifecycle transition.",
    "status_changed_at": "Read-only; the lifecycle sets it.",
    "fit_score": "Read-only; scoring sets it.",
    "engagement_score": "Read-only; scoring sets it.",
    "ruleset_version": "Read-only; scoring sets it.",
    "score_breakdown": "Read-only; scoring sets it.",
    "scored_at": "Read-only; scoring sets it.",
    "score_stale": "Read-only; scoring sets it.",
    "account": "Read-only; the lead links to the account of its e-mail domain.",
    "owner": "Read-only; the handoff to a sales rep sets the owner.",
    "created_at": "Read-only; set when the lead is stored.",
    "updated_at": "Read-only; set when the lead is stored.",
}


def _reject_unexpected_fields(
    data: dict[str, Any], accepted: frozenset[str], errors: dict[str, list[str]]
) -> None:
    for name in data:
        if name in accepted:
            continue
        if name in LEAD_READ_ONLY_FIELDS:
            message = LEAD_READ_ONLY_FIELDS[name]
        elif name in LEAD_IDENTITY_FIELDS:
            message = "Cannot be changed by an edit because it identifies the lead."
        else:
            message = "Unknown field; put attributes of the source system in custom_attributes."
        errors.setdefault(str(name), []).append(message)


def _lead_attributes(
    data: dict[str, Any], errors: dict[str, list[str]]
) -> tuple[dict[str, Any], list[str] | None, dict[str, Any]]:
    """Validate the editable fields present in `data`: text and flags, interests, custom attributes."""
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
    problem = _interests_problem(interests) if interests is not None else None
    if problem:
        errors.setdefault("interests", []).append(problem)
        interests = None

    custom: dict[str, Any] = {}
    if "custom_attributes" in data:
        problem = json_object_problem(data["custom_attributes"])
        if data["custom_attributes"] is None:
            # Null clears a text field, but attributes are merged key by key, so a null
            # object would silently change nothing.
            problem = (
                "Expected an object of attributes to merge into the stored ones, got null; "
                "leave the field out, or set a single attribute to null."
            )
        if problem:
            errors.setdefault("custom_attributes", []).append(problem)
        else:
            custom = data["custom_attributes"]
    return fields, interests, custom


def parse_lead(data: Any, *, strict: bool = False) -> LeadInput:
    """Validate one lead; raise InputError naming every bad field.

    Keys that are no lead input are ignored, unless `strict` is set: then each
    unknown or read-only key is an error too, as the API reports it.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise InputError(
            {
                "non_field_errors": [
                    f"Expected an object with lead fields, got {type(data).__name__}."
                ]
            }
        )
    if strict:
        _reject_unexpected_fields(data, LEAD_INPUT_FIELDS, errors)

    email = _email(data.get("email"), "email", errors)
    external_id = _text(data.get("external_id"), "external_id", 128, errors) or None
    source_system = _text(data.get("source_system"), "source_system", 64, errors)
    if email is None and external_id is None and not {"email", "external_id"} & errors.keys():
        errors.setdefault("email", []).append(
            "Missing: a lead needs an e-mail address, or an external_id from its source system."
        )

    fields, interests, custom = _lead_attributes(data, errors)

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


def parse_lead_changes(data: Any) -> dict[str, Any]:
    """Validate a partial edit of a lead; return the changed fields or raise InputError.

    Only editable fields are accepted. A null text field or null interests
    clear the value, and custom_attributes are merged into the stored ones.
    """
    if not isinstance(data, dict):
        raise InputError(
            {
                "non_field_errors": [
                    f"Expected an object with the lead fields to change, got {type(data).__name__}."
                ]
            }
        )
    if not data:
        raise InputError(
            {
                "non_field_errors": [
                    "No fields to change; send at least one of "
                    f"{', '.join(sorted(LEAD_EDITABLE_FIELDS))}."
                ]
            }
        )
    errors: dict[str, list[str]] = {}
    _reject_unexpected_fields(data, LEAD_EDITABLE_FIELDS, errors)

    fields, interests, custom = _lead_attributes(data, errors)

    if errors:
        raise InputError(errors)
    changes = dict(fields)
    if "interests" in data:
        changes["interests"] = interests or []
    if custom:
        changes["custom_attributes"] = custom
    return changes


def _datetime(
    value: Any, name: str, errors: dict[str, list[str]], now: datetime | None = None
) -> datetime | None:
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
    try:
        # In UTC, because PostgreSQL rejects offsets beyond 15:59 that Python accepts.
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        errors.setdefault(name, []).append(
            f"{value!r} is out of range; send a time between the years 1 and 9999."
        )
        return None
    if (parsed - (now or timezone.now())).total_seconds() > MAX_EVENT_FUTURE_SECONDS:
        errors.setdefault(name, []).append(
            f"{value!r} is in the future; send the time the event happened."
        )
        return None
    if parsed < EARLIEST_EVENT_TIME:
        errors.setdefault(name, []).append(
            f"{value!r} is before the earliest time accepted, 1970-01-01T00:00:00Z; send the "
            "time the event happened."
        )
        return None
    return parsed


def _is_small_flat(properties: dict[str, Any]) -> bool:
    """Tell whether the properties are at most 20 short ASCII text, number or null values.

    Such properties are within the size and depth limits and contain no character that
    PostgreSQL rejects, so json_object_problem has nothing to find.
    """
    if len(properties) > 20:
        return False
    for key, value in properties.items():
        if type(key) is not str or len(key) > 100 or not key.isascii() or "\x00" in key:
            return False
        if type(value) is str:
            if len(value) > 1000 or not value.isascii() or "\x00" in value:
                return False
        elif type(value) not in (int, float, bool) and value is not None:
            return False
    return True


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


def parse_event(data: Any, *, now: datetime | None = None) -> EventInput:
    """Validate one engagement event; raise InputError naming every bad field.

    `now` is the time against which future events are rejected. A caller that validates
    many events passes it once, because reading the clock is a tenth of the cost per event.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise InputError(
            {"non_field_errors": [f"Expected an event object, got {type(data).__name__}."]}
        )

    kind = data.get("kind")
    # The type check comes first because an unhashable kind, such as a list, fails a set lookup.
    if not isinstance(kind, str) or kind not in EVENT_KINDS:
        message = f"{kind!r} is not an event kind; use one of {EVENT_KINDS_TEXT}."
        if kind is None:
            message = f"Missing; use one of {EVENT_KINDS_TEXT}."
        errors.setdefault("kind", []).append(message)

    occurred_at = None
    if data.get("occurred_at") is None:
        errors.setdefault("occurred_at", []).append(
            "Missing; send the time the event happened, in ISO 8601."
        )
    else:
        occurred_at = _datetime(data.get("occurred_at"), "occurred_at", errors, now)

    lead_id = data.get("lead_id")
    if lead_id is not None and (
        isinstance(lead_id, bool) or not isinstance(lead_id, int) or not 0 < lead_id <= MAX_ID
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
    properties = data.get("properties")
    if properties is None:
        properties = {}
    # Most events carry a few short flat properties, which are within every limit; only the
    # others pay for the full check.
    elif not properties or not isinstance(properties, dict) or not _is_small_flat(properties):
        problem = json_object_problem(properties)
        if problem:
            errors.setdefault("properties", []).append(problem)

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
