"""The CSV lead import: rows converted by the mapping and written in batches with bulk queries."""

from __future__ import annotations

import csv
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from django.db import DatabaseError, transaction
from django.utils import timezone

from leadflow.db import refresh_planner_statistics
from leads.imports.mapping import ImportMapping
from leads.imports.rows import (
    EVENT_SOURCE,
    ParsedRow,
    RowError,
    parse_row,
    read_rows,
)
from leads.inputs import LeadInput
from leads.models import Account, EngagementEvent, Lead
from leads.normalize import email_domain, is_free_mail, normalize_domain
from leads.services import _apply_lead_fields, leads_mark_stale

logger = logging.getLogger(__name__)

# Rows per transaction. A batch costs a few lookups and bulk writes plus the event inserts, and
# keeps at most batch_size times (sum of the mapping's event caps) planned events in memory.
BATCH_SIZE = 500
# Event rows per INSERT on PostgreSQL (SQLite's limit of 999 parameters makes Django use fewer).
EVENT_INSERT_BATCH = 1000
# Planned event ids per lookup of the ones already stored.
EVENT_LOOKUP_BATCH = 500
# An import this large can change the table sizes by orders of magnitude. After smaller
# ones the planner statistics stay close enough until autovacuum refreshes them.
ANALYZE_AFTER_ROWS = 1000
# Every field an import can change on an existing lead, derived fields included.
UPDATE_FIELDS = [
    "email",
    "first_name",
    "last_name",
    "job_title",
    "job_function",
    "seniority",
    "phone",
    "company_name",
    "account",
    "country",
    "region",
    "city",
    "first_touch_source",
    "first_touch_medium",
    "first_touch_campaign",
    "last_touch_source",
    "last_touch_medium",
    "last_touch_campaign",
    "interests",
    "email_opt_out",
    "call_opt_out",
    "marketing_notes",
    "custom_attributes",
]

CREATED = "created"
UPDATED = "updated"
ERROR = "error"


@dataclass
class RowResult:
    """The outcome of one CSV row; row numbers count the header as row 1."""

    row_number: int
    identity: str
    status: str
    lead_id: int | None = None
    events_created: int = 0
    # Lead fields an update changed; empty for a created lead and for an update that changed nothing.
    changed_fields: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    file_name: str
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)
    events_created: int = 0
    events_existing: int = 0
    accounts_created: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        counts = {CREATED: 0, UPDATED: 0, ERROR: 0}
        for row in self.rows:
            counts[row.status] += 1
        return counts

    @property
    def rows_with_messages(self) -> int:
        return sum(1 for row in self.rows if row.messages)

    def write_csv(self, file: TextIO) -> None:
        """Write one line per row: number, identity, status, lead id, events, changed fields, messages."""
        writer = csv.writer(file)
        writer.writerow(
            ["row", "identity", "status", "lead_id", "events_created", "changed_fields", "messages"]
        )
        for row in self.rows:
            writer.writerow(
                [
                    row.row_number,
                    row.identity,
                    row.status,
                    row.lead_id or "",
                    row.events_created,
                    " ".join(row.changed_fields),
                    " | ".join(row.messages),
                ]
            )


@dataclass
class _BatchOutcome:
    results: list[RowResult]
    events_created: int = 0
    events_existing: int = 0
    accounts_created: int = 0


def leads_import_csv(
    *,
    path: Path,
    mapping: ImportMapping,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> ImportReport:
    """Create or update a lead per CSV row and store the events the mapping derives; report every row.

    Each batch of rows is one transaction. An invalid row is reported and the
    others are stored. Leads of a batch are marked stale and one rescoring is
    enqueued per batch after commit. A dry run does the same work in a
    transaction that it rolls back, so it writes nothing and enqueues nothing.
    Raises ImportFileError when the file or its header does not fit the mapping.
    """
    started = time.monotonic()
    header, rows = read_rows(path, mapping)
    timeline_end = mapping.timeline_end or timezone.now().replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    report = ImportReport(file_name=path.name, dry_run=dry_run, ignored_columns=header.ignored)
    first_row_by_key: dict[tuple[str, str], int] = {}
    logger.info("Import of %s started (dry run: %s)", path.name, dry_run)

    with transaction.atomic() if dry_run else nullcontext():
        for chunk in _batched(rows, batch_size):
            parsed: list[ParsedRow] = []
            for row_number, cells in chunk:
                try:
                    parsed.append(
                        parse_row(
                            row_number=row_number,
                            cells=cells,
                            header=header,
                            mapping=mapping,
                            timeline_end=timeline_end,
                        )
                    )
                except RowError as error:
                    report.rows.append(
                        RowResult(
                            row_number=row_number,
                            identity=error.identity,
                            status=ERROR,
                            messages=error.messages,
                        )
                    )

            _note_repeated_leads(parsed, first_row_by_key)
            _import_batch(parsed, report)
            if on_batch is not None:
                on_batch(len(report.rows))

        if dry_run:
            transaction.set_rollback(True)
        elif len(report.rows) >= ANALYZE_AFTER_ROWS:
            refresh_planner_statistics(Account, Lead, EngagementEvent)

    report.rows.sort(key=lambda row: row.row_number)
    report.duration_seconds = time.monotonic() - started
    counts = report.counts
    logger.info(
        "Import of %s finished in %.1f s (dry run: %s): %s created, %s updated, %s errors, %s events created",
        path.name,
        report.duration_seconds,
        dry_run,
        counts[CREATED],
        counts[UPDATED],
        counts[ERROR],
        report.events_created,
    )
    return report


def _batched(
    rows: Iterable[tuple[int, list[str]]], size: int
) -> Iterator[list[tuple[int, list[str]]]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _note_repeated_leads(
    rows: list[ParsedRow], first_row_by_key: dict[tuple[str, str], int]
) -> None:
    for row in rows:
        first = first_row_by_key.setdefault(row.key, row.row_number)
        if first != row.row_number:
            row.warnings.append(
                f"Same lead as row {first}; this row's values were applied on top of it."
            )


def _import_batch(rows: list[ParsedRow], report: ImportReport) -> None:
    if not rows:
        return
    try:
        with transaction.atomic():
            outcome = _write_batch(rows)
    except DatabaseError:
        # Usually a concurrent import stored one of these leads after the lookup. Row by row, each
        # row finds that lead, and a row the database still rejects is reported on its own.
        logger.warning(
            "Batch of rows %s to %s failed; retrying row by row",
            rows[0].row_number,
            rows[-1].row_number,
            exc_info=True,
        )
        outcome = _BatchOutcome(results=[])
        for row in rows:
            try:
                with transaction.atomic():
                    single = _write_batch([row])
            except DatabaseError as error:
                logger.warning("Row %s failed: %s", row.row_number, type(error).__name__)
                single = _BatchOutcome(
                    results=[
                        RowResult(
                            row_number=row.row_number,
                            identity=row.identity,
                            status=ERROR,
                            messages=[f"The database rejected the row: {error}".strip()],
                        )
                    ]
                )
            outcome.results += single.results
            outcome.events_created += single.events_created
            outcome.events_existing += single.events_existing
            outcome.accounts_created += single.accounts_created

    report.rows += outcome.results
    report.events_created += outcome.events_created
    report.events_existing += outcome.events_existing
    report.accounts_created += outcome.accounts_created


def _write_batch(rows: list[ParsedRow]) -> _BatchOutcome:
    """Upsert the rows' leads and insert their new events; the caller opens the transaction."""
    known = _existing_leads(rows)
    existing_pks = {lead.pk for lead in known.values()}
    accounts, accounts_created = _accounts_for(rows)

    row_leads = _upsert_leads(rows, known, accounts)
    outcome = _insert_events(row_leads, existing_pks)
    outcome.accounts_created = accounts_created

    leads_mark_stale(lead_ids=[row_lead.lead.pk for row_lead in row_leads])
    return outcome


@dataclass
class _RowLead:
    row: ParsedRow
    lead: Lead
    created: bool
    changed_fields: list[str]


def _upsert_leads(
    rows: list[ParsedRow], known: dict[tuple[str, str], Lead], accounts: dict[str, Account]
) -> list[_RowLead]:
    """Apply the rows to their leads in file order, then write them with one bulk query per shape.

    An existing lead is written only in the fields whose value changed, because
    bulk_update costs a CASE expression per row and field.
    """
    now = timezone.now()
    to_create: list[Lead] = []
    changed_by_pk: dict[int, set[str]] = {}
    leads_by_pk: dict[int, Lead] = {}
    row_leads: list[_RowLead] = []
    for row in rows:
        lead = _match(row.lead, known)
        created = lead is None
        if lead is None:
            lead = Lead(
                email=row.lead.email,
                source_system=row.lead.source_system,
                external_id=row.lead.external_id,
            )
            to_create.append(lead)
        before = _field_values(lead)

        if row.lead.email and not lead.email:
            lead.email = row.lead.email
        for key in _keys(row.lead):
            known.setdefault(key, lead)
        # The field rules of lead_upsert, so an imported lead and one sent to the API derive alike.
        _apply_lead_fields(lead, row.lead)
        if lead.account_id is None and lead.email:
            lead.account = accounts.get(_company_domain(lead.email) or "")

        changed = [name for name, value in _field_values(lead).items() if before[name] != value]
        if lead.pk is not None:
            changed_by_pk.setdefault(lead.pk, set()).update(changed)
            leads_by_pk[lead.pk] = lead
        row_leads.append(_RowLead(row=row, lead=lead, created=created, changed_fields=changed))

    Lead.objects.bulk_create(to_create)

    by_shape: dict[frozenset[str], list[Lead]] = {}
    for pk, changed_fields in changed_by_pk.items():
        if changed_fields:
            leads_by_pk[pk].updated_at = now
            by_shape.setdefault(frozenset(changed_fields), []).append(leads_by_pk[pk])
    for fields, leads in by_shape.items():
        Lead.objects.bulk_update(leads, [*sorted(fields), "updated_at"])
    return row_leads


def _field_values(lead: Lead) -> dict[str, Any]:
    values = {name: getattr(lead, name) for name in UPDATE_FIELDS}
    values["account"] = lead.account_id
    return values


def _insert_events(row_leads: list[_RowLead], existing_pks: set[int]) -> _BatchOutcome:
    """Insert the planned events not stored yet and build the rows' results."""
    outcome = _BatchOutcome(results=[])
    stored = _stored_event_ids(
        [
            planned.external_id
            for row_lead in row_leads
            if row_lead.lead.pk in existing_pks
            for planned in row_lead.row.events
        ]
    )

    new_events: list[EngagementEvent] = []
    planned_ids: set[str] = set()
    for row_lead in row_leads:
        row, lead = row_lead.row, row_lead.lead
        row_events = 0
        for planned in row.events:
            if planned.external_id in stored:
                outcome.events_existing += 1
                continue
            # A lead repeated in the batch plans the same ids twice.
            if planned.external_id in planned_ids:
                continue
            planned_ids.add(planned.external_id)
            new_events.append(
                EngagementEvent(
                    lead_id=lead.pk,
                    kind=planned.kind,
                    url=planned.url,
                    asset=planned.asset,
                    campaign=planned.campaign,
                    occurred_at=planned.occurred_at,
                    properties=planned.properties,
                    external_id=planned.external_id,
                    source=EVENT_SOURCE,
                )
            )
            row_events += 1
        outcome.results.append(
            RowResult(
                row_number=row.row_number,
                identity=row.identity,
                status=CREATED if row_lead.created else UPDATED,
                lead_id=lead.pk,
                events_created=row_events,
                changed_fields=[] if row_lead.created else row_lead.changed_fields,
                messages=row.warnings,
            )
        )

    # TODO: an event another writer stores between the lookup and this insert is skipped by the
    # unique index but still counted as created here.
    EngagementEvent.objects.bulk_create(
        new_events, ignore_conflicts=True, batch_size=EVENT_INSERT_BATCH
    )
    outcome.events_created = len(new_events)
    return outcome


def _keys(data: LeadInput) -> list[tuple[str, str]]:
    keys = []
    if data.email:
        keys.append(("email", data.email))
    if data.external_id:
        keys.append(("external_id", f"{data.source_system}:{data.external_id}"))
    return keys


def _match(data: LeadInput, known: dict[tuple[str, str], Lead]) -> Lead | None:
    # The e-mail wins over the external id, as in lead_upsert.
    for key in _keys(data):
        if key in known:
            return known[key]
    return None


def _existing_leads(rows: list[ParsedRow]) -> dict[tuple[str, str], Lead]:
    emails = {row.lead.email for row in rows if row.lead.email}
    known: dict[tuple[str, str], Lead] = {}
    for lead in Lead.objects.with_emails(emails):
        assert lead.email is not None
        known[("email", lead.email.lower())] = lead

    by_system: dict[str, set[str]] = {}
    for row in rows:
        if row.lead.external_id:
            by_system.setdefault(row.lead.source_system, set()).add(row.lead.external_id)
    for source_system, external_ids in by_system.items():
        for lead in Lead.objects.filter(source_system=source_system, external_id__in=external_ids):
            known.setdefault(("external_id", f"{source_system}:{lead.external_id}"), lead)
    return known


def _company_domain(email: str) -> str | None:
    domain = normalize_domain(email_domain(email))
    if not domain or is_free_mail(domain):
        return None
    return domain


def _accounts_for(rows: list[ParsedRow]) -> tuple[dict[str, Account], int]:
    """Return the accounts of the rows' company domains by domain, creating missing ones.

    Free-mail domains never get an account, as in account_for_email.
    """
    names: dict[str, str] = {}
    for row in rows:
        domain = _company_domain(row.lead.email or "")
        if domain:
            company_name = row.lead.fields.get("company_name") or ""
            if not names.get(domain):
                names[domain] = company_name
    if not names:
        return {}, 0

    accounts = {account.domain: account for account in Account.objects.filter(domain__in=names)}
    missing = [
        Account(domain=domain, name=Account.name_for(domain=domain, company_name=name))
        for domain, name in names.items()
        if domain not in accounts
    ]
    if missing:
        # Another writer may create the same domain meanwhile; the unique domain keeps one.
        Account.objects.bulk_create(missing, ignore_conflicts=True)
        accounts = {account.domain: account for account in Account.objects.filter(domain__in=names)}
    return {domain: account for domain, account in accounts.items() if domain}, len(missing)


def _stored_event_ids(external_ids: list[str]) -> set[str]:
    stored: set[str] = set()
    for start in range(0, len(external_ids), EVENT_LOOKUP_BATCH):
        chunk = external_ids[start : start + EVENT_LOOKUP_BATCH]
        stored.update(
            EngagementEvent.objects.filter(external_id__in=chunk).values_list(
                "external_id", flat=True
            )
        )
    return stored
