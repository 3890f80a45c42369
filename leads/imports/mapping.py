"""The column mapping of a CSV lead import: its JSON shape, validation and cell conversion.

docs/importing.md describes the format. Validation collects every problem
before it raises, so one run of the command lists all the keys to fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from leadflow.errors import ApplicationError
from leads.inputs import LEAD_BOOL_FIELDS, LEAD_TEXT_FIELDS, unstorable_character
from leads.models import EventKind

MAPPING_VERSION = 1
DEFAULT_TIMELINE_DAYS = 90
MAX_TIMELINE_DAYS = 3650
# A count column creates one event per unit; this bounds what one row can add to the event table.
MAX_EVENT_CAP = 1000

TOP_LEVEL_KEYS = {
    "version",
    "description",
    "csv",
    "identity",
    "null_values",
    "fields",
    "custom_attributes",
    "unmapped_columns",
    "ignore_columns",
    "events",
    "timeline",
}
# Lead fields a mapping may fill; identity columns and source_system are set under "identity".
MAPPABLE_TEXT_FIELDS = sorted(set(LEAD_TEXT_FIELDS) - {"source_system"})
MAPPABLE_FIELDS = sorted([*MAPPABLE_TEXT_FIELDS, *LEAD_BOOL_FIELDS, "interests"])
VALUE_TYPES = ("auto", "text", "number", "boolean")
# Allowed value-map targets, per type.
VALUE_MAP_TARGETS = {
    "auto": "text, a number, true, false or null",
    "text": "text or null",
    "number": "a number or null",
    "boolean": "true, false or null",
}
BOOLEAN_SPELLINGS = {
    "true": True,
    "yes": True,
    "y": True,
    "1": True,
    "false": False,
    "no": False,
    "n": False,
    "0": False,
}
NUMBER_PATTERN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
WHOLE_NUMBER_PATTERN = re.compile(r"^[+-]?\d+$")


class MappingError(ApplicationError):
    """The mapping file is malformed; `extra["fields"]` maps each bad key to its messages."""

    code = "invalid_mapping"


class CellError(ValueError):
    """A cell value the mapping cannot convert; the message names the fix."""


@dataclass(frozen=True)
class ColumnSpec:
    """One source column feeding one target: a lead field, custom attribute or event property."""

    column: str
    type: str = "auto"
    # Keys are case-folded source values; a None target means "no value".
    values: dict[str, Any] = field(default_factory=dict)
    null_values: frozenset[str] = frozenset()
    # Only for interests: the separator between list items.
    split: str | None = None
    # The mapping path of this spec, such as "fields.email_opt_out", for messages.
    path: str = ""

    def convert(self, raw: str) -> tuple[bool, Any]:
        """Return (has_value, value) for one cell; raise CellError when it cannot be converted."""
        text = raw.strip()
        if text.casefold() in self.null_values:
            return False, None

        value: Any = text
        if self.values:
            key = text.casefold()
            if key in self.values:
                value = self.values[key]
                if value is None:
                    return False, None
            elif self.type == "boolean":
                known = ", ".join(sorted({repr(k) for k in self.values}))
                raise CellError(
                    f"not in the value map ({known}); add it to {self.path}.values or to null_values."
                )

        if self.split is not None:
            return True, [item.strip() for item in str(value).split(self.split) if item.strip()]
        return True, _coerce(value, self.type, self.path)


@dataclass(frozen=True)
class CountEventSpec:
    """A numeric column that becomes that many events of one kind, one per `unit`, at most `cap`."""

    column: str
    kind: str
    cap: int
    unit: float = 1
    url: str = ""
    asset: str = ""
    campaign: str = ""
    properties: dict[str, ColumnSpec] = field(default_factory=dict)
    null_values: frozenset[str] = frozenset()
    path: str = ""


@dataclass(frozen=True)
class CategoryEventSpec:
    """A categorical column that becomes one event whose kind the value map picks."""

    column: str
    # Case-folded source value → event kind, or None for "no event".
    kinds: dict[str, str | None]
    # Kind for values missing from `kinds`; unset means such a value is reported and skipped.
    default_kind: str | None = None
    has_default: bool = False
    url: str = ""
    asset: str = ""
    campaign: str = ""
    properties: dict[str, ColumnSpec] = field(default_factory=dict)
    null_values: frozenset[str] = frozenset()
    path: str = ""


EventSpec = CountEventSpec | CategoryEventSpec


@dataclass(frozen=True)
class ImportMapping:
    """A validated mapping; build one with parse_mapping or load_mapping."""

    source_system: str
    email_column: str | None
    external_id_column: str | None
    fields: dict[str, ColumnSpec]
    custom_attributes: dict[str, ColumnSpec]
    events: list[EventSpec]
    keep_unmapped: bool
    ignore_columns: frozenset[str]
    null_values: frozenset[str]
    timeline_days: int
    # None: midnight UTC of the import day, so a same-day re-import derives the same times.
    timeline_end: datetime | None
    encoding: str
    delimiter: str

    def mapped_columns(self) -> set[str]:
        """Return every column the mapping reads explicitly."""
        columns = {self.email_column, self.external_id_column}
        columns |= {spec.column for spec in self.fields.values()}
        columns |= {spec.column for spec in self.custom_attributes.values()}
        for event in self.events:
            columns.add(event.column)
            columns |= {spec.column for spec in event.properties.values()}
        return {column for column in columns if column}


def load_mapping(path: Path) -> ImportMapping:
    """Read and validate a mapping file; raise MappingError naming the file, key and fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MappingError(
            f"Cannot read the mapping file {path}: {error.strerror}; check the path."
        ) from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise MappingError(
            f"{path.name} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}; fix the syntax."
        ) from error
    try:
        return parse_mapping(data)
    except MappingError as error:
        raise MappingError(f"{path.name}: {error.message}", extra=error.extra) from error


def parse_mapping(data: Any) -> ImportMapping:
    """Validate a decoded mapping document; raise MappingError listing every problem."""
    problems = _Problems()
    if not isinstance(data, dict):
        problems.add("(top level)", f"expected a JSON object, got {_json_type(data)}.")
        problems.raise_if_any()

    for key in sorted(set(data) - TOP_LEVEL_KEYS):
        problems.add(key, f"unknown key{_did_you_mean(key, TOP_LEVEL_KEYS)}; remove it.")
    version = data.get("version", MAPPING_VERSION)
    if version != MAPPING_VERSION:
        problems.add("version", f"{version!r} is not supported; use {MAPPING_VERSION}.")

    null_values = _parse_null_values(data.get("null_values", [""]), "null_values", problems)
    encoding, delimiter = _parse_csv_options(data.get("csv", {}), problems)
    source_system, email_column, external_id_column = _parse_identity(
        data.get("identity"), problems
    )
    fields = _parse_fields(data.get("fields", {}), null_values, problems)
    custom_attributes = _parse_custom_attributes(
        data.get("custom_attributes", {}), null_values, problems
    )
    events = _parse_events(data.get("events", []), null_values, problems)
    timeline_days, timeline_end = _parse_timeline(data.get("timeline", {}), problems)

    unmapped = data.get("unmapped_columns", "keep")
    if unmapped not in ("keep", "ignore"):
        problems.add(
            "unmapped_columns",
            f'{unmapped!r} is not an option; use "keep" (store them as custom attributes) or "ignore".',
        )
    ignore_columns = data.get("ignore_columns", [])
    if not _is_list_of_text(ignore_columns):
        problems.add("ignore_columns", "expected a list of column names.")
        ignore_columns = []

    problems.raise_if_any()
    return ImportMapping(
        source_system=source_system,
        email_column=email_column,
        external_id_column=external_id_column,
        fields=fields,
        custom_attributes=custom_attributes,
        events=events,
        keep_unmapped=unmapped == "keep",
        ignore_columns=frozenset(ignore_columns),
        null_values=null_values,
        timeline_days=timeline_days,
        timeline_end=timeline_end,
        encoding=encoding,
        delimiter=delimiter,
    )


class _Problems:
    def __init__(self) -> None:
        self.by_key: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.by_key.setdefault(key, []).append(message)

    def raise_if_any(self) -> None:
        if not self.by_key:
            return
        lines = [
            f"{key}: {message}" for key, messages in self.by_key.items() for message in messages
        ]
        raise MappingError(
            "The mapping is invalid. " + " ".join(lines), extra={"fields": self.by_key}
        )


def _parse_identity(identity: Any, problems: _Problems) -> tuple[str, str | None, str | None]:
    example = '{"email": "Email"} or {"external_id": "Prospect ID", "source_system": "crm"}'
    if not isinstance(identity, dict):
        problems.add("identity", f"missing or not an object; use {example}.")
        return "", None, None

    for key in sorted(set(identity) - {"email", "external_id", "source_system"}):
        problems.add(
            f"identity.{key}",
            f"unknown key{_did_you_mean(key, {'email', 'external_id', 'source_system'})}; remove it.",
        )
    email_column = _optional_column(identity.get("email"), "identity.email", problems)
    external_id_column = _optional_column(
        identity.get("external_id"), "identity.external_id", problems
    )
    source_system = identity.get("source_system", "")
    if not isinstance(source_system, str) or len(source_system) > 64:
        problems.add("identity.source_system", "expected text of at most 64 characters.")
        source_system = ""

    if email_column is None and external_id_column is None:
        problems.add("identity", f"name the column that identifies a lead; use {example}.")
    if external_id_column is not None and not source_system.strip():
        problems.add(
            "identity.source_system",
            'missing; an external id is unique only within its source system, so name it, such as "x-education".',
        )
    return source_system.strip(), email_column, external_id_column


def _parse_fields(
    fields: Any, null_values: frozenset[str], problems: _Problems
) -> dict[str, ColumnSpec]:
    if not isinstance(fields, dict):
        problems.add(
            "fields", 'expected an object of lead field → column, such as {"city": "City"}.'
        )
        return {}

    specs: dict[str, ColumnSpec] = {}
    for name, raw in fields.items():
        path = f"fields.{name}"
        if name not in MAPPABLE_FIELDS:
            hint = _did_you_mean(name, set(MAPPABLE_FIELDS))
            if name in ("email", "external_id", "source_system"):
                hint = "; set it under identity"
            problems.add(
                path, f"not a lead field{hint}. Lead fields: {', '.join(MAPPABLE_FIELDS)}."
            )
            continue
        value_type = "boolean" if name in LEAD_BOOL_FIELDS else "text"
        spec = _parse_column_spec(raw, path, null_values, problems, fixed_type=value_type)
        if spec is None:
            continue
        if name == "interests" and spec.split is None:
            spec = dataclasses.replace(spec, split=";")
        elif name != "interests" and spec.split is not None:
            problems.add(f"{path}.split", "only interests is a list; remove split.")
        specs[name] = spec
    return specs


def _parse_custom_attributes(
    attributes: Any, null_values: frozenset[str], problems: _Problems
) -> dict[str, ColumnSpec]:
    if not isinstance(attributes, dict):
        problems.add(
            "custom_attributes",
            'expected an object of attribute name → column, such as {"occupation": "Occupation"}.',
        )
        return {}

    specs: dict[str, ColumnSpec] = {}
    for name, raw in attributes.items():
        path = f"custom_attributes.{name}"
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
            problems.add(
                path,
                "invalid name; use lower-case letters, digits and underscores, starting with a letter.",
            )
            continue
        spec = _parse_column_spec(raw, path, null_values, problems)
        if spec is not None:
            if spec.split is not None:
                problems.add(f"{path}.split", "only interests is a list; remove split.")
            specs[name] = spec
    return specs


def _parse_column_spec(
    raw: Any,
    path: str,
    null_values: frozenset[str],
    problems: _Problems,
    *,
    fixed_type: str | None = None,
) -> ColumnSpec | None:
    if isinstance(raw, str):
        raw = {"column": raw}
    if not isinstance(raw, dict):
        problems.add(path, 'expected a column name or an object such as {"column": "City"}.')
        return None

    allowed = {"column", "values", "null_values", "type", "split"}
    for key in sorted(set(raw) - allowed):
        problems.add(f"{path}.{key}", f"unknown key{_did_you_mean(key, allowed)}; remove it.")
    column = _required_column(raw.get("column"), f"{path}.column", problems)

    value_type = raw.get("type", fixed_type or "auto")
    if fixed_type is not None and "type" in raw and raw["type"] != fixed_type:
        problems.add(f"{path}.type", f"this field is always {fixed_type}; remove type.")
        value_type = fixed_type
    if value_type not in VALUE_TYPES:
        problems.add(
            f"{path}.type", f"{value_type!r} is not a type; use one of {', '.join(VALUE_TYPES)}."
        )
        value_type = "auto"

    values = _parse_value_map(raw.get("values", {}), f"{path}.values", value_type, problems)
    own_nulls = _parse_null_values(raw.get("null_values", []), f"{path}.null_values", problems)
    split = raw.get("split")
    if split is not None and (not isinstance(split, str) or not split):
        problems.add(f"{path}.split", 'expected a separator such as ";".')
        split = None

    if column is None:
        return None
    return ColumnSpec(
        column=column,
        type=value_type,
        values=values,
        null_values=null_values | own_nulls,
        split=split,
        path=path,
    )


def _parse_value_map(
    values: Any, path: str, value_type: str, problems: _Problems
) -> dict[str, Any]:
    if not isinstance(values, dict):
        problems.add(path, 'expected an object of source value → value, such as {"Yes": true}.')
        return {}

    parsed: dict[str, Any] = {}
    for source, target in values.items():
        key = source.strip().casefold()
        if key in parsed and parsed[key] != target:
            problems.add(
                path, f"{source!r} appears twice with different values (matching ignores case)."
            )
        if target is not None:
            try:
                target = _coerce(target, value_type, path)
            except CellError:
                problems.add(
                    f"{path}.{source}",
                    f"{target!r} is invalid for type {value_type}; use {VALUE_MAP_TARGETS[value_type]}.",
                )
                continue
        parsed[key] = target
    return parsed


def _parse_null_values(values: Any, path: str, problems: _Problems) -> frozenset[str]:
    if not _is_list_of_text(values):
        problems.add(path, 'expected a list of texts that mean "no value", such as ["", "Select"].')
        return frozenset()
    return frozenset(value.strip().casefold() for value in values)


def _parse_csv_options(options: Any, problems: _Problems) -> tuple[str, str]:
    if not isinstance(options, dict):
        problems.add("csv", 'expected an object such as {"encoding": "utf-8", "delimiter": ","}.')
        return "utf-8-sig", ","
    for key in sorted(set(options) - {"encoding", "delimiter"}):
        problems.add(f"csv.{key}", "unknown key; use encoding or delimiter.")

    encoding = options.get("encoding", "utf-8-sig")
    try:
        "".encode(encoding)
    except (LookupError, TypeError):
        problems.add(
            "csv.encoding", f"{encoding!r} is not a known encoding; use such as utf-8 or cp1252."
        )
        encoding = "utf-8-sig"
    # A UTF-8 file may start with a byte-order mark, which plain utf-8 would keep in the first column name.
    if isinstance(encoding, str) and encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"

    delimiter = options.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        problems.add(
            "csv.delimiter", f'{delimiter!r} is not one character; use such as "," or ";".'
        )
        delimiter = ","
    return encoding, delimiter


def _parse_events(events: Any, null_values: frozenset[str], problems: _Problems) -> list[EventSpec]:
    if not isinstance(events, list):
        problems.add("events", "expected a list of event rules.")
        return []

    specs: list[EventSpec] = []
    for index, raw in enumerate(events):
        path = f"events[{index}]"
        if not isinstance(raw, dict):
            problems.add(path, 'expected an object with "type": "count" or "category".')
            continue
        event_type = raw.get("type")
        if event_type == "count":
            count_spec = _parse_count_event(raw, path, null_values, problems)
            if count_spec is not None:
                specs.append(count_spec)
        elif event_type == "category":
            category_spec = _parse_category_event(raw, path, null_values, problems)
            if category_spec is not None:
                specs.append(category_spec)
        else:
            problems.add(
                f"{path}.type",
                f'{event_type!r} is not an event rule type; use "count" (a number of events) or "category" (one event, kind from a value map).',
            )
    return specs


_EVENT_COMMON_KEYS = {"type", "column", "url", "asset", "campaign", "properties", "null_values"}


def _parse_event_common(
    raw: dict[str, Any],
    path: str,
    allowed: set[str],
    null_values: frozenset[str],
    problems: _Problems,
) -> tuple[str | None, dict[str, str], dict[str, ColumnSpec], frozenset[str]]:
    for key in sorted(set(raw) - allowed):
        problems.add(f"{path}.{key}", f"unknown key{_did_you_mean(key, allowed)}; remove it.")
    column = _required_column(raw.get("column"), f"{path}.column", problems)

    constants: dict[str, str] = {}
    for name, max_length in (("url", 2000), ("asset", 255), ("campaign", 200)):
        value = raw.get(name, "")
        if not isinstance(value, str) or len(value) > max_length:
            problems.add(f"{path}.{name}", f"expected text of at most {max_length} characters.")
            value = ""
        elif unstorable_character(value):
            problems.add(f"{path}.{name}", f"contains {unstorable_character(value)}; remove it.")
            value = ""
        constants[name] = value

    properties_raw = raw.get("properties", {})
    properties: dict[str, ColumnSpec] = {}
    if not isinstance(properties_raw, dict):
        problems.add(
            f"{path}.properties",
            'expected an object of property name → column, such as {"seconds_on_site": "Time Spent"}.',
        )
    else:
        for name, spec_raw in properties_raw.items():
            spec = _parse_column_spec(spec_raw, f"{path}.properties.{name}", null_values, problems)
            if spec is not None:
                properties[name] = spec

    own_nulls = _parse_null_values(raw.get("null_values", []), f"{path}.null_values", problems)
    return column, constants, properties, null_values | own_nulls


def _parse_count_event(
    raw: dict[str, Any], path: str, null_values: frozenset[str], problems: _Problems
) -> CountEventSpec | None:
    column, constants, properties, nulls = _parse_event_common(
        raw, path, _EVENT_COMMON_KEYS | {"kind", "cap", "unit"}, null_values, problems
    )
    kind = _event_kind(raw.get("kind"), f"{path}.kind", problems, allow_none=False)

    cap = raw.get("cap")
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_EVENT_CAP:
        problems.add(
            f"{path}.cap",
            f"{'missing' if cap is None else repr(cap) + ' is invalid'}; set the maximum number of events one row may create, a whole number from 1 to {MAX_EVENT_CAP}, such as 20.",
        )
        cap = None
    unit = raw.get("unit", 1)
    if isinstance(unit, bool) or not isinstance(unit, (int, float)) or not unit > 0:
        problems.add(
            f"{path}.unit",
            f"{unit!r} is invalid; set the source amount one event stands for, a positive number such as 300 (seconds).",
        )
        unit = None

    if column is None or kind is None or cap is None or unit is None:
        return None
    return CountEventSpec(
        column=column,
        kind=kind,
        cap=cap,
        unit=unit,
        properties=properties,
        null_values=nulls,
        path=path,
        **constants,
    )


def _parse_category_event(
    raw: dict[str, Any], path: str, null_values: frozenset[str], problems: _Problems
) -> CategoryEventSpec | None:
    column, constants, properties, nulls = _parse_event_common(
        raw, path, _EVENT_COMMON_KEYS | {"kinds", "default_kind"}, null_values, problems
    )

    kinds_raw = raw.get("kinds")
    kinds: dict[str, str | None] = {}
    if not isinstance(kinds_raw, dict) or not kinds_raw:
        problems.add(
            f"{path}.kinds",
            'missing; map each source value to an event kind or null, such as {"Email Opened": "email_open"}.',
        )
    else:
        for source, kind in kinds_raw.items():
            kinds[source.strip().casefold()] = _event_kind(
                kind, f"{path}.kinds.{source}", problems, allow_none=True
            )

    has_default = "default_kind" in raw
    default_kind = (
        _event_kind(raw["default_kind"], f"{path}.default_kind", problems, allow_none=True)
        if has_default
        else None
    )

    if column is None or not kinds:
        return None
    return CategoryEventSpec(
        column=column,
        kinds=kinds,
        default_kind=default_kind,
        has_default=has_default,
        properties=properties,
        null_values=nulls,
        path=path,
        **constants,
    )


def _parse_timeline(timeline: Any, problems: _Problems) -> tuple[int, datetime | None]:
    if not isinstance(timeline, dict):
        problems.add("timeline", 'expected an object such as {"days": 90}.')
        return DEFAULT_TIMELINE_DAYS, None
    for key in sorted(set(timeline) - {"days", "end"}):
        problems.add(f"timeline.{key}", "unknown key; use days or end.")

    days = timeline.get("days", DEFAULT_TIMELINE_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TIMELINE_DAYS:
        problems.add(
            "timeline.days",
            f"{days!r} is invalid; use a whole number of days from 1 to {MAX_TIMELINE_DAYS}.",
        )
        days = DEFAULT_TIMELINE_DAYS

    end = timeline.get("end")
    if end is None:
        return days, None
    try:
        end_date = date.fromisoformat(end)
    except (TypeError, ValueError):
        problems.add("timeline.end", f"{end!r} is not a date; use YYYY-MM-DD or leave it out.")
        return days, None
    return days, datetime.combine(end_date, time.min, tzinfo=UTC)


def _event_kind(value: Any, path: str, problems: _Problems, *, allow_none: bool) -> str | None:
    if value is None and allow_none:
        return None
    if value not in EventKind.values:
        problems.add(
            path,
            f"{value!r} is not an event kind; use one of {', '.join(EventKind.values)}"
            + (", or null for no event." if allow_none else "."),
        )
        return None
    return str(value)


def _required_column(value: Any, path: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.add(path, "missing; name the CSV column, as written in the header row.")
        return None
    return value.strip()


def _optional_column(value: Any, path: str, problems: _Problems) -> str | None:
    if value is None:
        return None
    return _required_column(value, path, problems)


def _coerce(value: Any, value_type: str, path: str) -> Any:
    if value_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().casefold() in BOOLEAN_SPELLINGS:
            return BOOLEAN_SPELLINGS[value.strip().casefold()]
        raise CellError(
            f"{value!r} is not true or false; map it in {path}.values or add it to null_values."
        )
    if value_type == "number":
        number = parse_number(value)
        if number is None:
            raise CellError(
                f"{value!r} is not a number; fix the cell or add the value to null_values."
            )
        return number
    if value_type == "text":
        if isinstance(value, (dict, list)):
            raise CellError(f"{value!r} is not text; map it to a text value.")
        return value if isinstance(value, str) else json.dumps(value)
    # auto: the value map's own types win; numbers in text become numbers.
    if isinstance(value, str) and not _looks_like_code(value):
        number = parse_number(value)
        return value if number is None else number
    return value


def parse_number(value: Any) -> int | float | None:
    """Return an int for a whole number, a float for a fraction, None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if not isinstance(value, str) or not NUMBER_PATTERN.match(value.strip()):
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    if WHOLE_NUMBER_PATTERN.match(value.strip()):
        return int(value)
    return number


def _looks_like_code(text: str) -> bool:
    """Tell digit strings that are codes, such as "007" or a 20-digit id, from quantities."""
    digits = text.strip().lstrip("+-")
    return WHOLE_NUMBER_PATTERN.match(digits) is not None and (
        (len(digits) > 1 and digits.startswith("0")) or len(digits) > 15
    )


def _is_list_of_text(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else "null"
    )


def _did_you_mean(key: str, options: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(options), n=1)
    return f"; did you mean {close[0]!r}" if close else ""
