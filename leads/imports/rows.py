"""Reading a CSV file against a mapping: header checks and the conversion of one row.

Converting a row touches no database, so the dry run, the real import and the
tests share it. Events get times and external ids derived from the row's
identity alone, so importing the same file again yields the same events.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from leadflow.errors import ApplicationError
from leads.imports.mapping import (
    CategoryEventSpec,
    CellError,
    ColumnSpec,
    CountEventSpec,
    ImportMapping,
    parse_number,
)
from leads.inputs import InputError, LeadInput, parse_lead

EVENT_SOURCE = "csv-import"
EVENT_ID_PREFIX = "import:"
SECONDS_PER_DAY = 86_400
# Raises the csv module's 128 KiB default, which a long notes column can exceed. The limit is
# process-wide in the csv module.
MAX_CELL_CHARACTERS = 1_000_000


class ImportFileError(ApplicationError):
    """The CSV file cannot be imported with this mapping: unreadable, or columns missing."""

    code = "invalid_import_file"


class RowError(ValueError):
    """A row that cannot be imported; `identity` is the raw identifying value, for the report."""

    def __init__(self, messages: list[str], identity: str = ""):
        super().__init__("; ".join(messages))
        self.messages = messages
        self.identity = identity


@dataclass(frozen=True)
class Header:
    """The header row: column positions and the columns kept as custom attributes."""

    positions: dict[str, int]
    # Number of header cells, counting those without a name.
    width: int
    # Positions of header cells without a name, whose values are not imported.
    unnamed: list[int]
    # Custom attribute key → spec of the unmapped column kept under it.
    unmapped: dict[str, ColumnSpec]
    ignored: list[str]


@dataclass
class PlannedEvent:
    external_id: str
    kind: str
    occurred_at: datetime
    url: str
    asset: str
    campaign: str
    properties: dict[str, Any]


@dataclass
class ParsedRow:
    row_number: int
    lead: LeadInput
    events: list[PlannedEvent] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def identity(self) -> str:
        return self.lead.identity

    @property
    def key(self) -> tuple[str, str]:
        """The key that decides which rows of a file are the same lead."""
        if self.lead.email:
            return ("email", self.lead.email)
        return ("external_id", f"{self.lead.source_system}:{self.lead.external_id}")


def check_encoding(path: Path, encoding: str) -> None:
    """Decode the whole file once, so a bad byte stops the import before any row is written."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    try:
        with path.open("rb") as file:
            while chunk := file.read(1 << 20):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
    except OSError as error:
        raise ImportFileError(f"Cannot read {path}: {error.strerror}; check the path.") from error
    except UnicodeDecodeError as error:
        name = "UTF-8" if encoding == "utf-8-sig" else encoding
        raise ImportFileError(
            f"{path.name} is not valid {name} at byte {offset + error.start}; save it as "
            'UTF-8, or set csv.encoding in the mapping to the file\'s encoding, such as "cp1252".'
        ) from error


def read_rows(path: Path, mapping: ImportMapping) -> tuple[Header, Iterator[tuple[int, list[str]]]]:
    """Open the file and check its header; return the header and (row number, cells) pairs.

    Row numbers count the header as row 1, as a spreadsheet shows them. Blank
    rows are skipped but keep their numbers.
    """
    check_encoding(path, mapping.encoding)
    csv.field_size_limit(MAX_CELL_CHARACTERS)
    file = path.open(encoding=mapping.encoding, newline="")
    reader = csv.reader(file, delimiter=mapping.delimiter)
    try:
        header_cells = next(reader)
    except StopIteration:
        file.close()
        raise ImportFileError(f"{path.name} is empty; it needs a header row.") from None
    except csv.Error as error:
        file.close()
        raise ImportFileError(f"{path.name} header row is not valid CSV: {error}.") from error

    try:
        header = check_header(header_cells, mapping)
    except ImportFileError:
        file.close()
        raise

    def rows() -> Iterator[tuple[int, list[str]]]:
        with file:
            row_number = 1
            try:
                for cells in reader:
                    row_number += 1
                    if any(cell.strip() for cell in cells):
                        yield row_number, cells
            except csv.Error as error:
                raise ImportFileError(
                    f"{path.name} row {row_number + 1} is not valid CSV: {error}; check that row for an unclosed quote."
                ) from error

    return header, rows()


def check_header(cells: list[str], mapping: ImportMapping) -> Header:
    """Match the header against the mapping; raise ImportFileError for missing or repeated columns."""
    positions: dict[str, int] = {}
    unnamed: list[int] = []
    problems: list[str] = []
    for index, name in enumerate(cells):
        name = name.strip()
        if not name:
            unnamed.append(index)
            continue
        if name in positions:
            problems.append(
                f'Column "{name}" appears twice in the header (columns {positions[name] + 1} and {index + 1}); rename one.'
            )
        positions[name] = index

    for column in sorted(mapping.mapped_columns()):
        if column not in positions:
            close = difflib.get_close_matches(column, list(positions), n=1)
            hint = (
                f'; did you mean "{close[0]}"?' if close else "; check the spelling in the mapping."
            )
            problems.append(f'Column "{column}" is not in the header{hint}')

    unmapped: dict[str, ColumnSpec] = {}
    ignored = sorted((mapping.ignore_columns & positions.keys()) - mapping.mapped_columns())
    if mapping.keep_unmapped:
        used_keys = dict.fromkeys(mapping.custom_attributes, "custom_attributes")
        for column in positions:
            if column in mapping.mapped_columns() or column in mapping.ignore_columns:
                continue
            key = attribute_key(column)
            if key in used_keys:
                problems.append(
                    f'Column "{column}" would be kept as custom attribute "{key}", which '
                    f"{used_keys[key]} already uses; map the column explicitly or list it in ignore_columns."
                )
                continue
            used_keys[key] = f'column "{column}"'
            unmapped[key] = ColumnSpec(column=column, null_values=mapping.null_values)
    else:
        ignored = sorted(set(positions) - mapping.mapped_columns())

    if problems:
        raise ImportFileError(" ".join(problems), extra={"problems": problems})
    return Header(
        positions=positions, width=len(cells), unnamed=unnamed, unmapped=unmapped, ignored=ignored
    )


def attribute_key(column: str) -> str:
    """Turn a column name into a custom attribute key: "Lead Quality" → "lead_quality"."""
    key = re.sub(r"[^a-z0-9]+", "_", column.casefold()).strip("_")[:64]
    if not key or not key[0].isalpha():
        key = f"column_{key}"[:64]
    return key


def parse_row(
    *,
    row_number: int,
    cells: list[str],
    header: Header,
    mapping: ImportMapping,
    timeline_end: datetime,
) -> ParsedRow:
    """Convert one CSV row to a lead input and its planned events; raise RowError with every problem."""
    messages: list[str] = []

    def cell(column: str) -> str:
        index = header.positions[column]
        return cells[index] if index < len(cells) else ""

    lead = _parse_lead_cells(cell, mapping, header, messages)
    events: list[PlannedEvent] = []
    warnings: list[str] = []
    if lead is not None:
        events = _plan_events(cell, mapping, lead.identity, timeline_end, messages, warnings)
    if messages or lead is None:
        raise RowError(messages, identity=_raw_identity(cell, mapping))

    for index in header.unnamed:
        if index < len(cells) and cells[index].strip():
            warnings.append(
                f"Column {index + 1} has no name in the header; its value {cells[index].strip()!r} was ignored."
            )
    if any(value.strip() for value in cells[header.width :]):
        warnings.append(
            f"The row has {len(cells)} cells but the header has {header.width}; the extra cells were ignored."
        )
    return ParsedRow(row_number=row_number, lead=lead, events=events, warnings=warnings)


def _raw_identity(cell: Any, mapping: ImportMapping) -> str:
    if mapping.email_column and cell(mapping.email_column).strip():
        return str(cell(mapping.email_column).strip())
    if mapping.external_id_column and cell(mapping.external_id_column).strip():
        return f"{mapping.source_system}:{cell(mapping.external_id_column).strip()}"
    return ""


def _parse_lead_cells(
    cell: Any, mapping: ImportMapping, header: Header, messages: list[str]
) -> LeadInput | None:
    data: dict[str, Any] = {"source_system": mapping.source_system}
    columns: dict[str, str] = {}

    for name, column in (
        ("email", mapping.email_column),
        ("external_id", mapping.external_id_column),
    ):
        if column is None:
            continue
        value = cell(column).strip()
        if value.casefold() not in mapping.null_values:
            data[name] = value
        columns[name] = column
    if "email" not in data and "external_id" not in data:
        names = " or ".join(f'"{column}"' for column in columns.values())
        messages.append(
            f"Column {names} is empty; every row needs the value that identifies its lead."
        )
        return None

    for name, spec in mapping.fields.items():
        has_value, value = _convert(spec, cell(spec.column), messages)
        if has_value:
            data[name] = value
            columns[name] = spec.column

    custom: dict[str, Any] = {}
    for key, spec in mapping.custom_attributes.items():
        has_value, value = _convert(spec, cell(spec.column), messages)
        if has_value:
            custom[key] = value
    for key, spec in header.unmapped.items():
        has_value, value = _convert(spec, cell(spec.column), messages)
        if has_value:
            custom[key] = value
    data["custom_attributes"] = custom

    try:
        return parse_lead(data)
    except InputError as error:
        for name, field_messages in error.errors.items():
            column = columns.get(name, name)
            value = data.get(name, "")
            for message in field_messages:
                messages.append(f'Column "{column}", value {str(value)!r}: {message}')
        return None


def _convert(spec: ColumnSpec, raw: str, messages: list[str]) -> tuple[bool, Any]:
    try:
        return spec.convert(raw)
    except CellError as error:
        messages.append(f'Column "{spec.column}", value {raw.strip()!r}: {error}')
        return False, None


def _plan_events(
    cell: Any,
    mapping: ImportMapping,
    identity: str,
    timeline_end: datetime,
    messages: list[str],
    warnings: list[str],
) -> list[PlannedEvent]:
    window = mapping.timeline_days * SECONDS_PER_DAY
    timeline_start = timeline_end - timedelta(seconds=window)
    # The row's latest activity: a hashed point in the window. Categorical columns describe the
    # last activity, so their events happen then; counted events fall between the window start and it.
    last_seen = timeline_end - timedelta(seconds=int(_fraction(identity) * window))

    events: list[PlannedEvent] = []
    for spec in mapping.events:
        raw = cell(spec.column).strip()
        if raw.casefold() in spec.null_values:
            continue
        properties = _event_properties(spec.properties, cell, messages)
        if isinstance(spec, CountEventSpec):
            count = _event_count(spec, raw, messages)
            span = (last_seen - timeline_start).total_seconds()
            for ordinal in range(1, count + 1):
                offset = int(_fraction(identity, spec.column, str(ordinal)) * span)
                events.append(
                    _planned_event(
                        spec,
                        spec.kind,
                        identity,
                        str(ordinal),
                        timeline_start + timedelta(seconds=offset),
                        {"column": spec.column, "ordinal": ordinal, **properties},
                    )
                )
        else:
            kind = _category_kind(spec, raw, warnings)
            if kind is not None:
                events.append(
                    _planned_event(
                        spec,
                        kind,
                        identity,
                        raw.casefold(),
                        last_seen,
                        {"column": spec.column, "value": raw, **properties},
                    )
                )
    return events


def _event_count(spec: CountEventSpec, raw: str, messages: list[str]) -> int:
    number = parse_number(raw)
    if number is None or number < 0:
        messages.append(
            f'Column "{spec.column}", value {raw!r}: not a count; use a number of 0 or more, or add the value to null_values.'
        )
        return 0
    return min(math.floor(number / spec.unit), spec.cap)


def _category_kind(spec: CategoryEventSpec, raw: str, warnings: list[str]) -> str | None:
    key = raw.casefold()
    if key in spec.kinds:
        return spec.kinds[key]
    if spec.has_default:
        return spec.default_kind
    warnings.append(
        f'Column "{spec.column}", value {raw!r}: no event kind; add it to {spec.path}.kinds or set {spec.path}.default_kind. No event was created for it.'
    )
    return None


def _event_properties(
    specs: dict[str, ColumnSpec], cell: Any, messages: list[str]
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, spec in specs.items():
        has_value, value = _convert(spec, cell(spec.column), messages)
        if has_value:
            properties[name] = value
    return properties


def _planned_event(
    spec: CountEventSpec | CategoryEventSpec,
    kind: str,
    identity: str,
    ordinal: str,
    occurred_at: datetime,
    properties: dict[str, Any],
) -> PlannedEvent:
    return PlannedEvent(
        external_id=event_external_id(identity, spec.column, ordinal),
        kind=kind,
        occurred_at=occurred_at,
        url=spec.url,
        asset=spec.asset,
        campaign=spec.campaign,
        properties=properties,
    )


def event_external_id(identity: str, column: str, ordinal: str) -> str:
    """Return the event id for the ordinal-th event a column gives a lead: the same on every import."""
    digest = hashlib.sha256("\x1f".join((identity, column, ordinal)).encode()).hexdigest()
    return f"{EVENT_ID_PREFIX}{digest[:40]}"


def _fraction(*parts: str) -> float:
    """Map the parts to a number in [0, 1) that depends on nothing else."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
