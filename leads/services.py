"""Every change of state of accounts, leads and their lifecycle.

Views, the API, tasks and commands call these functions; none of them writes
these models directly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from leadflow.celery import app as celery_app
from leads import ingest_fast
from leads.errors import (
    AccountDomainTaken,
    AccountNotFound,
    IllegalTransition,
    InvalidAccountData,
    InvalidLeadData,
    LeadIdentityConflict,
    LeadNotFound,
)
from leads.ingest_fast import EventRow
from leads.inputs import EventInput, InputError, LeadInput, parse_event
from leads.lifecycle import allowed_next_statuses
from leads.models import Account, EngagementEvent, Lead, LeadStatus, StatusChange
from leads.normalize import (
    derive_job_function,
    derive_seniority,
    email_domain,
    is_free_mail,
    normalize_domain,
    region_for_country,
)

logger = logging.getLogger(__name__)

# The identity a PUT upsert addresses a lead by; see lead_upsert.
LeadMatch = Literal["email", "external_id"]

# Follow-up work other apps attach to a status change (webhooks, handoff), run after commit.
# Apps register here at import time instead of leads importing them, so dependencies keep
# pointing from handoff and scoring towards leads.
_after_transition_hooks: list[Callable[[StatusChange], None]] = []


def register_after_transition(hook: Callable[[StatusChange], None]) -> None:
    if hook not in _after_transition_hooks:
        _after_transition_hooks.append(hook)


class TransitionGuard(Protocol):
    """A check another app runs before a lead changes status; raises IllegalTransition to reject it.

    `lead` still has its old status, and inside lead_transition its row is locked.
    `rule` is the rule of the transition, empty for a move a person makes.
    """

    def __call__(self, *, lead: Lead, to_status: str, rule: str) -> None: ...


# Checks other apps attach to every status change, such as handoff rejecting the move of a lead
# a rep is deciding on. Registered at start-up, for the same reason as the hooks above.
_transition_guards: list[TransitionGuard] = []


def register_transition_guard(guard: TransitionGuard) -> None:
    if guard not in _transition_guards:
        _transition_guards.append(guard)


def lead_transition_guard_error(
    *, lead: Lead, to_status: str, rule: str = ""
) -> IllegalTransition | None:
    """Return the error a registered guard raises for this move, or None when all allow it.

    Pages call this to offer only the moves lead_transition would make. It reads
    without a lock, so lead_transition runs the guards again.
    """
    try:
        _run_transition_guards(lead=lead, to_status=to_status, rule=rule)
    except IllegalTransition as error:
        return error
    return None


def _run_transition_guards(*, lead: Lead, to_status: str, rule: str) -> None:
    for guard in _transition_guards:
        guard(lead=lead, to_status=to_status, rule=rule)


def lead_transition(
    *,
    lead_id: int,
    to_status: str,
    actor: AbstractBaseUser | None = None,
    rule: str = "",
    reason: str = "",
    ruleset_version: int | None = None,
    expected_from: str | None = None,
    extra_updates: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> StatusChange:
    """Move a lead to `to_status` if the lifecycle allows it, and record the step.

    The lead row is locked for the whole check-and-write, so two concurrent
    transitions of one lead serialise and the second sees the first's result.
    `expected_from` lets a caller insist on the status it based its decision
    on; a mismatch is an IllegalTransition. `now` dates the change (default:
    the current time), so a caller replaying a decision records when it was
    made. Registered guards run after the lifecycle check, on the locked row, and
    may reject the move. Hooks run after commit.
    """
    if to_status not in LeadStatus.values:
        raise IllegalTransition(
            f"Unknown status {to_status!r}; use one of {', '.join(LeadStatus.values)}.",
            extra={"to_status": to_status},
        )

    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
        if lead is None:
            raise LeadNotFound(f"Lead {lead_id} does not exist.")

        from_status = lead.status
        if expected_from is not None and from_status != expected_from:
            raise IllegalTransition(
                f"Lead {lead_id} is {from_status}, not {expected_from}; reload it and try again.",
                extra={"lead_id": lead_id, "from_status": from_status, "to_status": to_status},
            )
        if to_status not in allowed_next_statuses(from_status):
            allowed = ", ".join(sorted(allowed_next_statuses(from_status))) or "none (final status)"
            raise IllegalTransition(
                f"Lead {lead_id} cannot move from {from_status} to {to_status}; allowed next: {allowed}.",
                extra={"lead_id": lead_id, "from_status": from_status, "to_status": to_status},
            )
        _run_transition_guards(lead=lead, to_status=to_status, rule=rule)

        now = now or timezone.now()
        lead.status = to_status
        lead.status_changed_at = now
        update_fields = ["status", "status_changed_at", "updated_at"]
        for field, value in (extra_updates or {}).items():
            setattr(lead, field, value)
            update_fields.append(field)
        lead.save(update_fields=update_fields)

        change = StatusChange.objects.create(
            lead=lead,
            from_status=from_status,
            to_status=to_status,
            actor=actor if actor is not None and actor.is_authenticated else None,  # type: ignore[misc]
            rule=rule,
            reason=reason,
            ruleset_version=ruleset_version
            if ruleset_version is not None
            else lead.ruleset_version,
            fit_score=lead.fit_score,
            engagement_score=lead.engagement_score,
            created_at=now,
        )

        for hook in _after_transition_hooks:
            transaction.on_commit(lambda hook=hook: hook(change))  # type: ignore[misc]

    logger.info(
        "Lead %s moved from %s to %s",
        lead_id,
        from_status,
        to_status,
        extra={"lead_id": lead_id, "rule": rule, "actor_id": getattr(actor, "pk", None)},
    )
    return change


def account_for_email(
    email: str | None, *, create: bool = True, company_name: str = ""
) -> Account | None:
    """Find, or create, the account an e-mail address belongs to; free-mail never links."""
    domain = normalize_domain(email_domain(email))
    if not domain or is_free_mail(domain):
        return None
    account = Account.objects.filter(domain=domain).first()
    if account is not None or not create:
        return account
    # Two ingests of the same new company can race here; the unique domain decides.
    account, _ = Account.objects.get_or_create(
        domain=domain, defaults={"name": Account.name_for(domain=domain, company_name=company_name)}
    )
    return account


# Account fields that fit rules read; changing one makes the scores of the account's leads stale.
ACCOUNT_SCORED_FIELDS = frozenset(
    {
        "segment",
        "facility_type",
        "country",
        "region",
        "employee_count",
        "annual_revenue_usd",
        "processes",
        "technologies",
    }
)
ACCOUNT_FIELDS = ACCOUNT_SCORED_FIELDS | {
    "name",
    "domain",
    "city",
    "parent",
    "owner",
    "custom_attributes",
}
# A host name of letters, digits and hyphens in at least two labels, such as precision-parts.example.
DOMAIN_PATTERN = re.compile(
    r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$"
)


def account_create(
    *, fields: dict[str, Any], actor: AbstractBaseUser | None = None
) -> tuple[Account, list[int]]:
    """Create an account and link the existing unlinked leads of its domain.

    The domain is normalised to a bare lower-case host. A free-mail domain is
    invalid, and a domain another account has is an AccountDomainTaken (409).
    The region is derived from the country when not given. Returns the account
    and the ids of the leads it linked, whose scores are marked stale.
    """
    _check_account_fields(fields)
    data = dict(fields)
    data["domain"] = clean_account_domain(data.get("domain"))
    if data.get("country") and not data.get("region"):
        data["region"] = region_for_country(data["country"])

    with transaction.atomic():
        _check_domain_free(data["domain"], account_id=None)
        account = Account(**data)
        _save_account(account)
        linked = _link_domain_leads(account)

    logger.info(
        "Account %s created by user %s; %s leads linked",
        account.pk,
        getattr(actor, "pk", None),
        len(linked),
        extra={"account_id": account.pk},
    )
    return account, linked


def account_update(
    *, account_id: int, fields: dict[str, Any], actor: AbstractBaseUser | None = None
) -> tuple[Account, list[int]]:
    """Change the given fields of an account; returns it and the ids of leads newly linked.

    A new domain is normalised and checked as in account_create, and links the
    unlinked leads of that domain. Leads already linked stay with the account.
    Changing a field that fit rules read marks the scores of the account's leads stale.
    """
    _check_account_fields(fields)
    data = dict(fields)
    if "domain" in data:
        data["domain"] = clean_account_domain(data["domain"])

    with transaction.atomic():
        account = Account.objects.select_for_update().filter(pk=account_id).first()
        if account is None:
            raise AccountNotFound(f"Account {account_id} does not exist.")
        if "parent" in data:
            _check_parent(account, data["parent"])
        domain_changed = "domain" in data and data["domain"] != account.domain
        if domain_changed:
            _check_domain_free(data["domain"], account_id=account.pk)

        changed = {name for name, value in data.items() if getattr(account, name) != value}
        for name, value in data.items():
            setattr(account, name, value)
        if "country" in changed and "region" not in data:
            account.region = region_for_country(account.country) if account.country else ""
            changed.add("region")
        _save_account(account)

        linked = _link_domain_leads(account) if domain_changed else []
        if changed & ACCOUNT_SCORED_FIELDS:
            leads_mark_stale(
                lead_ids=Lead.objects.filter(account=account).values_list("pk", flat=True)
            )

    logger.info(
        "Account %s updated by user %s: %s; %s leads linked",
        account.pk,
        getattr(actor, "pk", None),
        ", ".join(sorted(changed)) or "no changes",
        len(linked),
        extra={"account_id": account.pk},
    )
    return account, linked


def account_link_leads(*, account_id: int) -> list[int]:
    """Link the unlinked leads whose e-mail domain is the account's domain; return their ids.

    Leads linked to another account keep it, and an account without a domain
    links nothing. The linked leads' scores are marked stale, because fit
    rules read account fields.
    """
    with transaction.atomic():
        account = Account.objects.filter(pk=account_id).first()
        if account is None:
            raise AccountNotFound(f"Account {account_id} does not exist.")
        linked = _link_domain_leads(account)

    logger.info(
        "Account %s linked %s leads of its domain",
        account.pk,
        len(linked),
        extra={"account_id": account.pk},
    )
    return linked


def clean_account_domain(value: Any) -> str | None:
    """Return the normalised domain, None for an empty one, or raise InvalidAccountData."""
    if value in (None, ""):
        return None
    domain = normalize_domain(str(value))
    if domain is None or not DOMAIN_PATTERN.match(domain):
        raise InvalidAccountData(
            f"{value!r} is not a web domain; send a host such as precision-parts.example.",
            extra={"fields": {"domain": ["Not a web domain, such as precision-parts.example."]}},
        )
    if is_free_mail(domain):
        raise InvalidAccountData(
            f"{domain} is a free-mail domain, which does not identify an employer, so leads on it "
            "never link to an account; leave the domain empty.",
            extra={"fields": {"domain": ["A free-mail domain cannot identify an account."]}},
        )
    return domain


def _check_account_fields(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - ACCOUNT_FIELDS)
    if unknown:
        raise InvalidAccountData(
            f"Fields {', '.join(unknown)} are not account fields.",
            extra={"fields": {name: ["Unknown account field."] for name in unknown}},
        )


def _check_domain_free(domain: str | None, *, account_id: int | None) -> None:
    if domain is None:
        return
    accounts = Account.objects.filter(domain=domain)
    if account_id is not None:
        accounts = accounts.exclude(pk=account_id)
    holder = accounts.values_list("pk", flat=True).first()
    if holder is not None:
        raise AccountDomainTaken(
            f"Account {holder} already has the domain {domain}; update that account instead.",
            extra={"fields": {"domain": [f"Belongs to account {holder}."]}},
        )


def _check_parent(account: Account, parent: Account | None) -> None:
    """Reject a parent that is the account itself or one of its subsidiaries."""
    seen: set[int] = set()
    current = parent
    while current is not None and current.pk not in seen:
        if current.pk == account.pk:
            raise InvalidAccountData(
                f"Account {parent.pk if parent else ''} cannot be the parent of account "
                f"{account.pk}, because it is that account or one of its subsidiaries.",
                extra={"fields": {"parent": ["Would make the account its own parent."]}},
            )
        seen.add(current.pk)
        current = current.parent


def _save_account(account: Account) -> None:
    # The unique index decides between two requests that pass the domain check at once.
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        raise AccountDomainTaken(
            f"Another account took the domain {account.domain} meanwhile; update that account "
            "instead.",
            extra={"fields": {"domain": ["Belongs to another account."]}},
        ) from None


def _link_domain_leads(account: Account) -> list[int]:
    if not account.domain or is_free_mail(account.domain):
        return []
    lead_ids = list(
        Lead.objects.select_for_update()
        .filter(account__isnull=True, email__iendswith=f"@{account.domain}")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not lead_ids:
        return []
    Lead.objects.filter(pk__in=lead_ids).update(account=account, updated_at=timezone.now())
    leads_mark_stale(lead_ids=lead_ids)
    return lead_ids


def leads_mark_stale(*, lead_ids: Iterable[int], seen_stale: Iterable[int] = ()) -> list[int]:
    """Flag the leads' scores as stale and ask scoring to recompute them after commit.

    The flag is the durable record: if the broker is down and the task never
    runs, the periodic sweep finds the flag and enqueues the lead again.
    `seen_stale` names leads the caller read with the flag set in this
    transaction. They are enqueued but not written again, which saves reading
    each row (8 ms for 1,000 leads).
    """
    ids = sorted(set(lead_ids))
    if not ids:
        return ids
    # NOTE: a lead already flagged stale is not written again, so a rescore that read its
    # events before this commit can clear the flag; the rescore enqueued below still counts the
    # new event, but if that enqueue also fails, the sweep does not see the lead.
    to_flag = sorted(set(ids) - set(seen_stale))
    if to_flag and connection.vendor == "postgresql":
        ingest_fast.leads_flag_stale(lead_ids=to_flag)
    elif to_flag:
        Lead.objects.filter(pk__in=to_flag, score_stale=False).update(score_stale=True)
    transaction.on_commit(lambda: enqueue_rescore(ids))
    return ids


RESCORE_TASK = "scoring.rescore_leads"


def enqueue_rescore(lead_ids: list[int]) -> None:
    """Send the lead ids to the scoring task by name; a broker failure is only logged, the flag stays."""
    try:
        celery_app.signature(RESCORE_TASK, args=[lead_ids]).apply_async()
    except (OperationalError, OSError):
        # The stale flag is already committed, so the sweep retries these leads later.
        logger.warning(
            "Could not enqueue rescoring of %s leads; the sweep will retry",
            len(lead_ids),
            exc_info=True,
        )


def _apply_lead_fields(lead: Lead, data: LeadInput) -> None:
    country_before = lead.country
    for name, value in data.fields.items():
        setattr(lead, name, value)
    if lead.country != country_before and "region" not in data.fields:
        # The region of the old country would be wrong; derive it again below.
        lead.region = ""
    if data.interests is not None:
        lead.interests = sorted(set(data.interests))
    if data.custom_attributes:
        lead.custom_attributes = {**lead.custom_attributes, **data.custom_attributes}

    # Derived fields fill gaps only; a value the source sent wins.
    if lead.job_title and not data.fields.get("job_function"):
        lead.job_function = lead.job_function or derive_job_function(lead.job_title)
    if lead.job_title and not data.fields.get("seniority"):
        lead.seniority = lead.seniority or derive_seniority(lead.job_title)
    if lead.country and not lead.region:
        lead.region = region_for_country(lead.country)


def lead_upsert(
    *,
    data: LeadInput,
    actor: AbstractBaseUser | None = None,
    match_on: LeadMatch | None = None,
) -> tuple[Lead, bool]:
    """Create the lead or update the one with the same e-mail (or source system and external id).

    Links the lead to the account of its e-mail domain, creating the account
    for a company domain it has not seen; free-mail never links. Marks the
    score stale so scoring recomputes it after commit.

    `match_on` looks the lead up by that identity only, as the PUT upserts
    address it. The other identity in `data` is then stored when the lead has
    none, and one that differs from the lead's, or belongs to another lead,
    raises LeadIdentityConflict.
    """
    with transaction.atomic():
        lead = _find_lead_for_update(data, match_on)
        created = lead is None
        if lead is None:
            if match_on is not None:
                _check_identity_free(data, lead_id=None)
            lead = Lead(
                email=data.email, source_system=data.source_system, external_id=data.external_id
            )
        elif match_on is not None:
            _merge_identity(lead, data)
        elif data.email and not lead.email:
            lead.email = data.email

        _apply_lead_fields(lead, data)
        if lead.account_id is None and lead.email:
            lead.account = account_for_email(lead.email, company_name=lead.company_name)
        lead.score_stale = True
        lead.save()

        leads_mark_stale(lead_ids=[lead.pk])

    logger.info(
        "Lead %s %s", lead.pk, "created" if created else "updated", extra={"lead_id": lead.pk}
    )
    return lead, created


def _find_lead_for_update(data: LeadInput, match_on: LeadMatch | None = None) -> Lead | None:
    queryset = Lead.objects.select_for_update()
    if data.email and match_on != "external_id":
        lead = queryset.with_emails([data.email]).first()
        if lead is not None or match_on == "email":
            return lead
    if data.external_id and match_on != "email":
        return queryset.filter(
            source_system=data.source_system, external_id=data.external_id
        ).first()
    return None


def _merge_identity(lead: Lead, data: LeadInput) -> None:
    """Store the identity `data` adds to the lead found by the other one, or raise on a clash."""
    if data.email and lead.email and data.email.lower() != lead.email.lower():
        raise LeadIdentityConflict(
            f"Lead {lead.pk} has another e-mail address; an upsert by external id cannot "
            "change it. Send the lead's own address, or leave email out.",
            extra={"fields": {"email": ["Differs from the e-mail address of the lead."]}},
        )
    has_external_id = lead.external_id is not None
    if (
        data.external_id
        and has_external_id
        and ((lead.source_system, lead.external_id) != (data.source_system, data.external_id))
    ):
        raise LeadIdentityConflict(
            f"Lead {lead.pk} has external_id {lead.external_id!r} in source_system "
            f"{lead.source_system!r}; an upsert by e-mail cannot change it. Send the lead's own "
            "external id, or leave source_system and external_id out.",
            extra={"fields": {"external_id": ["Differs from the external id of the lead."]}},
        )

    _check_identity_free(data, lead_id=lead.pk)
    if data.email and not lead.email:
        lead.email = data.email
    if data.external_id and not has_external_id:
        lead.source_system = data.source_system
        lead.external_id = data.external_id


def _check_identity_free(data: LeadInput, *, lead_id: int | None) -> None:
    """Raise LeadIdentityConflict when another lead has the e-mail or external id of `data`."""
    others = Lead.objects.exclude(pk=lead_id) if lead_id is not None else Lead.objects.all()
    if data.email:
        holder = others.with_emails([data.email]).values_list("pk", flat=True).first()
        if holder is not None:
            raise LeadIdentityConflict(
                f"Lead {holder} already has this e-mail address; update that lead instead.",
                extra={"fields": {"email": [f"Belongs to lead {holder}."]}},
            )
    if data.external_id:
        holder = (
            others.filter(source_system=data.source_system, external_id=data.external_id)
            .values_list("pk", flat=True)
            .first()
        )
        if holder is not None:
            raise LeadIdentityConflict(
                f"Lead {holder} already has external_id {data.external_id!r} in source_system "
                f"{data.source_system!r}; update that lead instead.",
                extra={"fields": {"external_id": [f"Belongs to lead {holder}."]}},
            )


def lead_update(
    *, lead_id: int, fields: dict[str, Any], actor: AbstractBaseUser | None = None
) -> Lead:
    """Change editable fields of a lead (not its status) and mark its score stale."""
    forbidden = set(fields) & {
        "status",
        "fit_score",
        "engagement_score",
        "score_breakdown",
        "ruleset_version",
    }
    if forbidden:
        raise InvalidLeadData(
            f"Fields {', '.join(sorted(forbidden))} are set by scoring and the lifecycle, not by edits.",
            extra={"fields": {name: ["Read-only."] for name in sorted(forbidden)}},
        )

    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
        if lead is None:
            raise LeadNotFound(f"Lead {lead_id} does not exist.")
        data = LeadInput(
            email=lead.email,
            fields={k: v for k, v in fields.items() if k not in {"interests", "custom_attributes"}},
            interests=fields.get("interests"),
            custom_attributes=fields.get("custom_attributes") or {},
        )
        _apply_lead_fields(lead, data)
        lead.score_stale = True
        lead.save()
        leads_mark_stale(lead_ids=[lead.pk])
    return lead


@dataclass
class EventResult:
    """The outcome of one item of an ingest request, in request order."""

    index: int
    status: str  # "created", "duplicate" or "error"
    external_id: str | None = None
    event_id: int | None = None
    lead_id: int | None = None
    errors: dict[str, list[str]] | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.external_id is not None:
            body["external_id"] = self.external_id
        if self.event_id is not None:
            body["id"] = self.event_id
        if self.lead_id is not None:
            body["lead_id"] = self.lead_id
        if self.errors:
            body["errors"] = self.errors
        return body


def events_ingest(*, items: list[Any], source: str = "") -> list[EventResult]:
    """Validate and store engagement events; return one result per item, in order.

    Valid items are stored even when others in the same call are invalid.
    An event whose external_id is already stored (or appears earlier in the
    same call) is a duplicate and changes nothing. Unknown leads named by
    e-mail are created. Scoring of the touched leads is enqueued after commit.
    On PostgreSQL the events go in through COPY and one INSERT … ON CONFLICT
    (leads.ingest_fast), elsewhere through the ORM.
    """
    results: list[EventResult | None] = [None] * len(items)
    parsed: list[tuple[int, EventInput]] = []
    now = timezone.now()
    for index, raw in enumerate(items):
        try:
            event = parse_event(raw, now=now)
        except InputError as error:
            results[index] = EventResult(index=index, status="error", errors=error.errors)
            continue
        if source and not event.source:
            event.source = source
        parsed.append((index, event))

    # No savepoint: any error rolls back the caller's whole transaction, such as the one
    # of an Idempotency-Key, so a savepoint would cost two round trips and protect nothing.
    with transaction.atomic(savepoint=False):
        _store_events(parsed, results)

    return [result for result in results if result is not None]


def _store_events(parsed: list[tuple[int, EventInput]], results: list[EventResult | None]) -> None:
    postgres = connection.vendor == "postgresql"
    lead_ids_by_key, stale_lead_ids = _known_event_leads([event for _, event in parsed])

    # Events whose lead is unknown are checked against the stored events first, so that a
    # resend creates no lead and reports no error. On PostgreSQL the others meet a stored
    # copy in the insert, which skips it and says so; checking them beforehand would read
    # the index twice. The ORM insert cannot say what it skipped, so there all are checked.
    unresolved = [
        (index, event) for index, event in parsed if _lead_key(event) not in lead_ids_by_key
    ]
    checked = unresolved if postgres else parsed
    stored = _stored_event_lead_ids([event.external_id for _, event in checked])
    for index, event in checked:
        if event.external_id in stored:
            results[index] = _duplicate(index, event.external_id, stored[event.external_id])
    new_lead_ids = _create_event_leads(
        [(index, event) for index, event in unresolved if results[index] is None],
        results,
        lead_ids_by_key,
    )

    # The first valid item with an external id is the one to store; later ones duplicate it.
    rows: dict[str, EventRow] = {}
    first_index: dict[str, int] = {}
    for index, event in parsed:
        if results[index] is not None or event.external_id in rows:
            continue
        first_index[event.external_id] = index
        rows[event.external_id] = EventRow(
            lead_id=lead_ids_by_key[_lead_key(event)],
            kind=event.kind,
            url=event.url,
            asset=event.asset,
            campaign=event.campaign,
            occurred_at=event.occurred_at,
            properties=event.properties,
            external_id=event.external_id,
            source=event.source,
        )

    if postgres:
        event_ids = ingest_fast.events_insert(rows=list(rows.values()), received_at=timezone.now())
    else:
        event_ids = _events_insert_orm(list(rows.values()))
    # A row the insert skipped was stored before, by an earlier or a concurrent request.
    taken = _stored_event_lead_ids(
        [external_id for external_id in rows if external_id not in event_ids]
    )

    touched: set[int] = set()
    for index, event in parsed:
        if results[index] is not None:
            continue
        row = rows[event.external_id]
        if event.external_id in taken:
            results[index] = _duplicate(index, row.external_id, taken[row.external_id])
        elif first_index[event.external_id] != index:
            results[index] = _duplicate(index, row.external_id, row.lead_id)
        else:
            results[index] = EventResult(
                index=index,
                status="created",
                external_id=row.external_id,
                event_id=event_ids[row.external_id],
                lead_id=row.lead_id,
            )
            touched.add(row.lead_id)

    # New leads are created stale, and the lookup saw which known leads already were.
    leads_mark_stale(lead_ids=touched | new_lead_ids, seen_stale=stale_lead_ids | new_lead_ids)
    logger.info("Stored %s engagement events for %s leads", len(event_ids), len(touched))


def _duplicate(index: int, external_id: str, lead_id: int) -> EventResult:
    return EventResult(index=index, status="duplicate", external_id=external_id, lead_id=lead_id)


def _stored_event_lead_ids(external_ids: list[str]) -> dict[str, int]:
    if not external_ids:
        return {}
    if connection.vendor == "postgresql":
        return ingest_fast.stored_event_lead_ids(external_ids=external_ids)
    return dict(
        EngagementEvent.objects.filter(external_id__in=external_ids).values_list(
            "external_id", "lead_id"
        )
    )


def _events_insert_orm(rows: list[EventRow]) -> dict[str, int]:
    """Insert events through the ORM; return the event ids by external id.

    ignore_conflicts leaves primary keys unset, so the ids are read back by external_id.
    """
    EngagementEvent.objects.bulk_create(
        [
            EngagementEvent(
                lead_id=row.lead_id,
                kind=row.kind,
                url=row.url,
                asset=row.asset,
                campaign=row.campaign,
                occurred_at=row.occurred_at,
                properties=row.properties,
                external_id=row.external_id,
                source=row.source,
            )
            for row in rows
        ],
        ignore_conflicts=True,
    )
    # TODO: without PostgreSQL's RETURNING, an event a concurrent request stored between the
    # duplicate check and this insert is read back here and reported as created.
    return dict(
        EngagementEvent.objects.filter(
            external_id__in=[row.external_id for row in rows]
        ).values_list("external_id", "pk")
    )


LeadKey = tuple[str, str, str]


def _lead_key(event: EventInput) -> LeadKey:
    if event.lead_id is not None:
        return ("id", str(event.lead_id), "")
    if event.email:
        return ("email", event.email, "")
    return ("external", event.source_system, event.lead_external_id or "")


def _known_event_leads(events: list[EventInput]) -> tuple[dict[LeadKey, int], set[int]]:
    """Map the lead references of the events to the ids of existing leads.

    Also returns the ids of those leads whose score is already marked stale. A reference
    to no existing lead is missing from the mapping. The number of queries is fixed: one
    per kind of reference.
    """
    keys = {_lead_key(event) for event in events}
    resolved: dict[LeadKey, int] = {}
    stale: set[int] = set()

    ids = [int(value) for kind, value, _ in keys if kind == "id"]
    if ids:
        for lead_id, is_stale in Lead.objects.filter(pk__in=ids).values_list("pk", "score_stale"):
            resolved[("id", str(lead_id), "")] = lead_id
            if is_stale:
                stale.add(lead_id)

    emails = [value for kind, value, _ in keys if kind == "email"]
    if emails:
        for email, (lead_id, is_stale) in _leads_by_email(emails).items():
            resolved[("email", email.lower(), "")] = lead_id
            if is_stale:
                stale.add(lead_id)

    external_keys = [key for key in keys if key[0] == "external"]
    if external_keys:
        condition = Q()
        for _, source_system, external_id in external_keys:
            condition |= Q(source_system=source_system, external_id=external_id)
        matches = Lead.objects.filter(condition).values_list(
            "pk", "source_system", "external_id", "score_stale"
        )
        for found_id, found_system, found_external_id, is_stale in matches:
            resolved[("external", found_system, found_external_id or "")] = found_id
            if is_stale:
                stale.add(found_id)
    return resolved, stale


def _create_event_leads(
    pending: list[tuple[int, EventInput]],
    results: list[EventResult | None],
    lead_ids_by_key: dict[LeadKey, int],
) -> set[int]:
    """Create the leads of unknown e-mail addresses, and reject the other unknown references.

    Adds the new leads to `lead_ids_by_key` and returns their ids. An event naming a lead id
    or external id that does not exist gets an error result. SQLite splits the insert of
    many new leads into batches; otherwise the number of queries is fixed.
    """
    emails = {event.email for _, event in pending if event.email and _lead_key(event)[0] == "email"}
    created = leads_create_for_emails(emails=emails)
    for email, lead_id in created.items():
        lead_ids_by_key[("email", email, "")] = lead_id

    for index, event in pending:
        key = _lead_key(event)
        if key in lead_ids_by_key:
            continue
        results[index] = EventResult(
            index=index,
            status="error",
            external_id=event.external_id,
            errors=_unresolved_lead_errors(key),
        )
    return set(created.values())


def _unresolved_lead_errors(key: LeadKey) -> dict[str, list[str]]:
    """Name the field of an event's lead reference that matched no lead, and the fix."""
    kind, value, external_id = key
    if kind == "id":
        return {"lead_id": [f"Lead {value} does not exist; name the lead by email to create it."]}
    if kind == "email":
        # The insert met a lead with this address that the lookup did not find, such as one
        # stored meanwhile by another request. A resend finds it.
        return {
            "email": [
                f"No lead with the e-mail address {value} could be found or created; "
                "send the event again."
            ]
        }
    if not value:
        return {
            "lead_external_id": [
                f"No lead has external_id {external_id!r} without a source_system; send the "
                "source_system the id comes from, or name the lead by email to create it."
            ]
        }
    return {
        "lead_external_id": [
            f"No lead has external_id {external_id!r} in source_system {value!r}; "
            "name the lead by email to create it."
        ]
    }


def _leads_by_email(emails: list[str]) -> dict[str, tuple[int, bool]]:
    """Return the id and the stale flag of the leads with these lower-case addresses.

    The lookup goes through lower(email), the index of the case-insensitive unique
    constraint: a plain `email IN (…)` has no index to use and scans the whole lead table.
    The result is keyed by the lower-case address, even where the stored one has capitals.
    """
    if connection.vendor == "postgresql":
        found = ingest_fast.leads_by_email(emails=emails)
    else:
        found = {
            email or "": (lead_id, is_stale)
            for email, lead_id, is_stale in Lead.objects.with_emails(emails).values_list(
                "email", "pk", "score_stale"
            )
        }
    return {email.lower(): value for email, value in found.items()}


def leads_create_for_emails(*, emails: Iterable[str]) -> dict[str, int]:
    """Create a bare lead for each lower-case e-mail address; return the lead ids by address.

    The set-based counterpart of lead_upsert for events from people not seen
    before: each lead links to its company's account as lead_upsert would link
    it, in a fixed number of queries apart from SQLite's batching of large inserts.
    An address that already has a lead, even one a concurrent request just
    created, keeps that lead. The new leads are stale; the caller enqueues them.
    """
    addresses = sorted(set(emails))
    if not addresses:
        return {}
    domains = {address: normalize_domain(email_domain(address)) for address in addresses}
    account_ids = accounts_get_or_create(
        domains={domain for domain in domains.values() if domain and not is_free_mail(domain)}
    )

    Lead.objects.bulk_create(
        [
            Lead(
                email=address,
                account_id=account_ids.get(domains[address] or ""),
                score_stale=True,
            )
            for address in addresses
        ],
        ignore_conflicts=True,
    )
    lead_ids = {email: lead_id for email, (lead_id, _) in _leads_by_email(addresses).items()}
    logger.info("Created leads for %s unknown e-mail addresses", len(addresses))
    return lead_ids


def accounts_get_or_create(*, domains: set[str]) -> dict[str, int]:
    """Find or create the accounts of company domains; return the account ids by domain.

    A new account is named after its domain, as account_for_email names it.
    """
    if not domains:
        return {}
    account_ids: dict[str, int] = {}
    for domain, account_id in Account.objects.filter(domain__in=domains).values_list(
        "domain", "pk"
    ):
        account_ids[domain or ""] = account_id
    missing = sorted(domains - account_ids.keys())
    if missing:
        # Two ingests of the same new company can race here; the unique domain decides.
        Account.objects.bulk_create(
            [Account(domain=domain, name=Account.name_for(domain=domain)) for domain in missing],
            ignore_conflicts=True,
        )
        created = Account.objects.filter(domain__in=missing).values_list("domain", "pk")
        for domain, account_id in created:
            account_ids[domain or ""] = account_id
    return account_ids
