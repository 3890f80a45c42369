"""Every change of state of handoffs: send, route, accept, reject, withdraw, reassign, escalate, close.

Views, the API, tasks and commands call these functions. Lead status changes go
through leads.services.lead_transition, which locks the lead row. Lock order is
handoff row, then lead row, then the settings row, so no two services wait on
each other in a cycle.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from handoff.context import build_context, missing_context
from handoff.errors import (
    HandoffAlreadyOpen,
    HandoffContextMissing,
    HandoffNotFound,
    HandoffNotPending,
    InvalidHandoffInput,
    LeadNotQualified,
    NotAllowed,
    QualificationInvalid,
    QualificationMissing,
    RepNotFound,
    RoutingRuleNotFound,
)
from handoff.models import (
    MAX_NEXT_STEP_LENGTH,
    MAX_NEXT_STEP_YEARS,
    MAX_QUALIFICATION_LENGTH,
    MAX_RULE_POSITION,
    OUTCOME_REASONS,
    ContextField,
    Handoff,
    HandoffEvent,
    HandoffEventKind,
    HandoffSettings,
    HandoffStatus,
    Outcome,
    OutcomeReason,
    QualificationField,
    RejectReason,
    Rep,
    RoutingRule,
)
from handoff.routing import (
    STEP_MANUAL,
    RoutingDecision,
    RoutingLoad,
    active_rules,
    availability_problem,
    route_lead,
)
from handoff.sla import add_business_hours, calendar_for_rep
from leadflow.errors import ApplicationError
from leadflow.roles import REVOPS, SALES_MANAGER, has_role
from leads.errors import IllegalTransition
from leads.models import EngagementEvent, Lead, LeadStatus
from leads.services import lead_transition

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser

RULE_AUTO = "handoff.auto"
RULE_SLA = "handoff.sla"

# A rejection sends the lead back to nurture when it may become ready later, and disqualifies it
# when the person or the company will never buy.
REJECT_TARGET_STATUS: dict[str, str] = {
    RejectReason.NOT_A_FIT: LeadStatus.DISQUALIFIED,
    RejectReason.NO_ACTIVE_NEED: LeadStatus.NURTURE,
    RejectReason.WRONG_CONTACT: LeadStatus.DISQUALIFIED,
    RejectReason.DUPLICATE: LeadStatus.DISQUALIFIED,
    RejectReason.BAD_TIMING: LeadStatus.NURTURE,
}

# The SLA sweep handles at most this many overdue handoffs a run. Each costs a routing decision
# of about ten queries, and the next run picks up the rest.
SLA_SWEEP_BATCH = 200

# A reassignment chain longer than this is a data problem, not a routing one.
MAX_CHAIN = 100


# --- Settings -------------------------------------------------------------------------------


def handoff_settings_get() -> HandoffSettings:
    settings_row, _ = HandoffSettings.objects.get_or_create(pk=1)
    return settings_row


def _lock_settings() -> HandoffSettings:
    """Lock the settings row, serialising routing decisions so capacity and cursors never race."""
    handoff_settings_get()
    return HandoffSettings.objects.select_for_update().get(pk=1)


def handoff_settings_update(*, actor: User | None, **fields: Any) -> HandoffSettings:
    """Change the handoff configuration; unknown field names or values are rejected."""
    allowed = {
        "required_context_fields": set(ContextField.values),
        "required_qualification_fields": set(QualificationField.values),
    }
    errors: dict[str, list[str]] = {}
    for name, choices in allowed.items():
        unknown = sorted(set(fields.get(name) or []) - choices)
        if unknown:
            errors[name] = [
                f"Unknown field {', '.join(unknown)}; use any of {', '.join(sorted(choices))}."
            ]
    editable = {
        "required_context_fields",
        "required_qualification_fields",
        "default_sla_hours",
        "auto_handoff_enabled",
        "auto_fit_threshold",
        "auto_event_kinds",
        "auto_window_days",
    }
    for name in set(fields) - editable:
        errors[name] = ["Not a handoff setting."]
    if errors:
        raise InvalidHandoffInput(next(iter(errors.values()))[0], extra={"fields": errors})

    with transaction.atomic():
        settings_row = _lock_settings()
        for name, value in fields.items():
            setattr(settings_row, name, value)
        settings_row.save()
    logger.info(
        "Handoff settings changed: %s",
        ", ".join(sorted(fields)),
        extra={"actor_id": getattr(actor, "pk", None)},
    )
    return settings_row


# --- Recording ------------------------------------------------------------------------------


def _record(
    handoff: Handoff,
    kind: str,
    *,
    actor: User | None = None,
    rule: str = "",
    rep: Rep | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> HandoffEvent:
    return HandoffEvent.objects.create(
        handoff=handoff,
        created_at=at or timezone.now(),
        lead_id=handoff.lead_id,
        kind=kind,
        actor=_actor_or_none(actor),
        rule=rule,
        rep=rep,
        note=note,
        data=data or {},
    )


def _actor_or_none(actor: User | None) -> Any:
    return actor if actor is not None and actor.is_authenticated else None


def _due_at(decision: RoutingDecision, now: dt.datetime) -> dt.datetime:
    hours = decision.sla_hours if decision.sla_hours is not None else 8
    return add_business_hours(now, hours, calendar_for_rep(decision.rep))


def _assign(
    *,
    lead: Lead,
    decision: RoutingDecision,
    context: dict[str, Any],
    marketing_notes: str,
    actor: User | None,
    rule: str,
    load: RoutingLoad,
    now: dt.datetime,
    previous: Handoff | None = None,
    escalated_to: Any = None,
    breach_count: int = 0,
    record_sent: bool = False,
) -> Handoff:
    """Create the pending handoff a routing decision calls for, and record why."""
    handoff = Handoff.objects.create(
        lead=lead,
        rep=decision.rep,
        technical_expert=decision.technical_expert,
        routing_rule=decision.rule,
        routing=decision.as_trace(),
        context=context,
        marketing_notes=marketing_notes,
        sent_by=_actor_or_none(actor),
        sent_rule=rule,
        previous=previous,
        created_at=now,
        due_at=_due_at(decision, now),
        escalated_to=escalated_to,
        breach_count=breach_count,
    )
    if record_sent:
        _record(
            handoff, HandoffEventKind.SENT, actor=actor, rule=rule, note=marketing_notes, at=now
        )

    if decision.rep is not None:
        _record(
            handoff,
            HandoffEventKind.ASSIGNED,
            actor=actor,
            rule=rule,
            rep=decision.rep,
            note=decision.reason,
            data=decision.as_trace(),
            at=now,
        )
        load.add(decision.rep)
        Rep.objects.filter(pk=decision.rep.pk).update(last_assigned_at=now)
        decision.rep.last_assigned_at = now
    else:
        _record(
            handoff,
            HandoffEventKind.QUEUED,
            actor=actor,
            rule=rule,
            note=decision.reason,
            data=decision.as_trace(),
            at=now,
        )

    if decision.rule is not None and decision.rep is not None:
        # Advance the round-robin cursor; least-loaded rules keep it too, for the record.
        RoutingRule.objects.filter(pk=decision.rule.pk).update(last_assigned_rep=decision.rep)
        decision.rule.last_assigned_rep = decision.rep

    if decision.technical_expert_trace is not None:
        expert = decision.technical_expert
        if expert is not None:
            load.add_expert(expert)
        _record(
            handoff,
            HandoffEventKind.TECHNICAL_EXPERT_ASSIGNED,
            actor=actor,
            rule=rule,
            rep=expert,
            note=decision.technical_expert_trace["reason"],
            data=decision.technical_expert_trace,
            at=now,
        )
    return handoff


# --- Send -----------------------------------------------------------------------------------


@dataclass
class SendResult:
    """The handoffs created and, per lead that could not be sent, the reason."""

    created: list[Handoff] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": [
                {"lead_id": handoff.lead_id, "handoff_id": handoff.pk, "rep_id": handoff.rep_id}
                for handoff in self.created
            ],
            "errors": self.errors,
        }


def _send_one(
    *,
    lead_id: int,
    actor: User | None,
    marketing_notes: str,
    rule: str,
    settings_row: HandoffSettings,
    load: RoutingLoad,
    rules: list[RoutingRule],
    now: dt.datetime,
    dated: bool,
) -> Handoff:
    lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
    if lead is None:
        raise LeadNotQualified(
            f"Lead {lead_id} does not exist.", code="lead_not_found", extra={"lead_id": lead_id}
        )
    if lead.status != LeadStatus.MQL:
        raise LeadNotQualified(
            f"Lead {lead_id} is {lead.status}; only MQLs can be sent to sales.",
            extra={"lead_id": lead_id, "status": lead.status},
        )
    if Handoff.objects.filter(lead_id=lead_id, status=HandoffStatus.PENDING).exists():
        raise HandoffAlreadyOpen(
            f"Lead {lead_id} already has an open handoff; wait for the rep's decision or withdraw it.",
            extra={"lead_id": lead_id},
        )

    # A send dated in the past snapshots only the engagement that had happened by then.
    context = build_context(lead, marketing_notes=marketing_notes, as_of=now if dated else None)
    missing = missing_context(context, list(settings_row.required_context_fields or []))
    if missing:
        labels = ", ".join(ContextField(name).label.lower() for name in missing)
        raise HandoffContextMissing(
            f"Lead {lead_id} is missing {labels}; fill them in before handing it to sales.",
            extra={"lead_id": lead_id, "missing": missing},
        )

    decision = route_lead(
        lead, load=load, rules=rules, default_sla_hours=settings_row.default_sla_hours, now=now
    )
    handoff = _assign(
        lead=lead,
        decision=decision,
        context=context,
        marketing_notes=marketing_notes,
        actor=actor,
        rule=rule,
        load=load,
        now=now,
        record_sent=True,
    )
    return handoff


def handoff_send(
    *,
    lead_ids: Iterable[int],
    actor: User | None = None,
    marketing_notes: str = "",
    rule: str = "",
    now: dt.datetime | None = None,
) -> SendResult:
    """Hand MQLs to sales: snapshot their context, route each one and open a pending handoff.

    Each lead is sent in its own savepoint, so leads that fail a check (not an
    MQL, already handed off, missing required context) are reported without
    losing the others. Routing decisions are serialised through the settings row.
    `now` dates the handoffs, their SLA and audit trail, and ends the qualifying
    engagement in their context; it defaults to the current time.
    """
    ids = list(dict.fromkeys(int(lead_id) for lead_id in lead_ids))
    result = SendResult()
    if not ids:
        return result

    dated = now is not None
    now = now or timezone.now()
    with transaction.atomic():
        settings_row = _lock_settings()
        load = RoutingLoad.current()
        rules = active_rules()
        for lead_id in ids:
            try:
                with transaction.atomic():
                    handoff = _send_one(
                        lead_id=lead_id,
                        actor=actor,
                        marketing_notes=marketing_notes,
                        rule=rule,
                        settings_row=settings_row,
                        load=load,
                        rules=rules,
                        now=now,
                        dated=dated,
                    )
            except ApplicationError as error:
                result.errors.append(
                    {"lead_id": lead_id, "code": error.code, "message": error.message}
                )
                continue
            except IntegrityError:
                # Another request opened a handoff for this lead between the check and the insert.
                result.errors.append(
                    {
                        "lead_id": lead_id,
                        "code": HandoffAlreadyOpen.code,
                        "message": f"Lead {lead_id} already has an open handoff.",
                    }
                )
                continue
            result.created.append(handoff)

    logger.info(
        "Sent %s leads to sales, %s failed",
        len(result.created),
        len(result.errors),
        extra={"actor_id": getattr(actor, "pk", None), "rule": rule},
    )
    return result


def handoff_auto_for_leads(*, lead_ids: Iterable[int]) -> SendResult:
    """Send the given leads to sales when the SQL-readiness rule holds for them.

    The rule: automatic handoff is enabled, the lead is an MQL without an open
    handoff, its fit score reaches the threshold and it has a high-intent event
    of a configured kind within the window. Scoring calls this after qualifying.
    """
    settings_row = handoff_settings_get()
    ids = sorted({int(lead_id) for lead_id in lead_ids})
    if not settings_row.auto_handoff_enabled or not ids:
        return SendResult()

    since = timezone.now() - dt.timedelta(days=settings_row.auto_window_days)
    ready = list(
        Lead.objects.filter(
            pk__in=ids,
            status=LeadStatus.MQL,
            fit_score__gte=settings_row.auto_fit_threshold,
        )
        .exclude(handoffs__status=HandoffStatus.PENDING)
        .filter(
            pk__in=EngagementEvent.objects.filter(
                kind__in=list(settings_row.auto_event_kinds or []), occurred_at__gte=since
            ).values("lead_id")
        )
        .values_list("pk", flat=True)
    )
    if not ready:
        return SendResult()
    return handoff_send(lead_ids=ready, rule=RULE_AUTO)


# --- Decisions ------------------------------------------------------------------------------


def _lock_handoff(handoff_id: int) -> Handoff:
    handoff = Handoff.objects.select_for_update().filter(pk=handoff_id).first()
    if handoff is None:
        raise HandoffNotFound(f"Handoff {handoff_id} does not exist.")
    return handoff


def _require_pending(handoff: Handoff) -> None:
    if handoff.status != HandoffStatus.PENDING:
        raise HandoffNotPending(
            f"Handoff {handoff.pk} is already {handoff.status}; reload the page to see its current state.",
            extra={"handoff_id": handoff.pk, "status": handoff.status},
        )


def _rep_of(actor: User | None) -> Rep | None:
    if actor is None or not actor.is_authenticated:
        return None
    return Rep.objects.select_related("user").filter(user_id=actor.pk).first()


def _validate_qualification(
    *,
    settings_row: HandoffSettings,
    qualification: dict[str, Any],
    next_step: str,
    next_step_date: dt.date | None,
    today: dt.date,
) -> dict[str, str]:
    values: dict[str, Any] = {
        name: str(qualification.get(name) or "").strip()
        for name in QualificationField.values
        if name not in (QualificationField.NEXT_STEP, QualificationField.NEXT_STEP_DATE)
    }
    values[QualificationField.NEXT_STEP] = next_step.strip()
    values[QualificationField.NEXT_STEP_DATE] = next_step_date

    missing = [
        name for name in settings_row.required_qualification_fields or [] if not values.get(name)
    ]
    invalid = _qualification_problems(values, today=today)
    if missing or invalid:
        _raise_qualification_errors(missing, invalid)
    return {name: value for name, value in values.items() if isinstance(value, str) and value}


def _qualification_problems(
    values: dict[str, Any], *, today: dt.date
) -> dict[str, tuple[str, str]]:
    """Return, per value out of its limits, the message for its field and one naming the field.

    The limits are the text lengths and the range of the next-step date.
    """
    problems = {}
    for name, value in values.items():
        limit = (
            MAX_NEXT_STEP_LENGTH
            if name == QualificationField.NEXT_STEP
            else MAX_QUALIFICATION_LENGTH
        )
        if isinstance(value, str) and len(value) > limit:
            message = (
                f"{len(value):,} characters long; shorten it to {limit:,} characters or fewer."
            )
            problems[name] = (message, f"{QualificationField(name).label} is {message}")

    next_step_date = values[QualificationField.NEXT_STEP_DATE]
    latest = next_step_latest_date(today)
    message = ""
    if next_step_date is not None and next_step_date < today:
        message = f"{next_step_date:%Y-%m-%d} is in the past; give the date the next step happens."
    elif next_step_date is not None and next_step_date > latest:
        message = (
            f"{next_step_date:%Y-%m-%d} is more than {MAX_NEXT_STEP_YEARS} years ahead; give the "
            f"date the next step happens, {latest:%Y-%m-%d} at the latest."
        )
    if message:
        label = QualificationField.NEXT_STEP_DATE.label
        problems[QualificationField.NEXT_STEP_DATE] = (message, f"{label} {message}")
    return problems


def _raise_qualification_errors(missing: list[str], invalid: dict[str, tuple[str, str]]) -> None:
    """Raise QualificationMissing when fields are only missing, else QualificationInvalid."""
    errors = {
        name: [f"{QualificationField(name).label} is required to accept."] for name in missing
    }
    errors.update({name: [message] for name, (message, _) in invalid.items()})
    parts = []
    if missing:
        labels = ", ".join(QualificationField(name).label.lower() for name in missing)
        parts.append(f"Fill in {labels}.")
    parts.extend(summary for _, summary in invalid.values())

    error_class = QualificationInvalid if invalid else QualificationMissing
    raise error_class(" ".join(parts), extra={"fields": errors})


def next_step_latest_date(today: dt.date) -> dt.date:
    """Return the latest next-step date a rep may give on `today`: the same day MAX_NEXT_STEP_YEARS on."""
    try:
        return today.replace(year=today.year + MAX_NEXT_STEP_YEARS)
    except ValueError:
        # 29 February of a year whose counterpart is no leap year.
        return today.replace(year=today.year + MAX_NEXT_STEP_YEARS, day=28)


def handoff_accept(
    *,
    handoff_id: int,
    actor: User,
    qualification: dict[str, Any] | None = None,
    next_step: str = "",
    next_step_date: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Handoff:
    """Accept a pending handoff: the lead becomes an SQL owned by the rep, with the next step recorded.

    The assigned rep accepts; a handoff waiting in the fallback queue may be
    claimed by any available rep. The handoff row is locked, so of two reps
    accepting at once exactly one becomes the owner. `now` dates the decision
    and is the day a next-step date may not precede; it defaults to the current time.
    """
    now = now or timezone.now()
    settings_row = handoff_settings_get()
    today = timezone.localdate(now)
    qualification_values = _validate_qualification(
        settings_row=settings_row,
        qualification=qualification or {},
        next_step=next_step,
        next_step_date=next_step_date,
        today=today,
    )
    rep = _rep_of(actor)
    if rep is None:
        raise NotAllowed("Only sales reps can accept handoffs; ask an admin for a rep profile.")

    with transaction.atomic():
        handoff = _lock_handoff(handoff_id)
        _require_pending(handoff)
        if handoff.rep_id is None:
            problem = availability_problem(
                rep, today=today, load=RoutingLoad.current(), excluded=()
            )
            if problem is not None:
                raise NotAllowed(f"You cannot take handoff {handoff_id} from the queue: {problem}.")
            handoff.rep = rep
        elif handoff.rep_id != rep.pk:
            raise NotAllowed(f"Handoff {handoff_id} is assigned to another rep.")

        lead_transition(
            lead_id=handoff.lead_id,
            to_status=LeadStatus.SQL,
            actor=_actor_or_none(actor),
            rule="handoff.accept",
            reason=f"Accepted handoff {handoff.pk}; next step: {next_step.strip()}".strip(),
            expected_from=LeadStatus.MQL,
            extra_updates={"owner": actor},
            now=now,
        )
        handoff.status = HandoffStatus.ACCEPTED
        handoff.decided_at = now
        handoff.decided_by = actor  # type: ignore[assignment]
        handoff.qualification = qualification_values
        handoff.next_step = next_step.strip()
        handoff.next_step_date = next_step_date
        handoff.save(
            update_fields=[
                "rep",
                "status",
                "decided_at",
                "decided_by",
                "qualification",
                "next_step",
                "next_step_date",
            ]
        )
        _record(
            handoff,
            HandoffEventKind.ACCEPTED,
            actor=actor,
            rep=rep,
            note=handoff.next_step,
            data={"qualification": qualification_values},
            at=now,
        )

    logger.info(
        "Handoff %s accepted by rep %s", handoff.pk, rep.pk, extra={"lead_id": handoff.lead_id}
    )
    return handoff


def handoff_reject(
    *,
    handoff_id: int,
    actor: User,
    reason: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> Handoff:
    """Reject a pending handoff with a coded reason; the lead goes to nurture or is disqualified by reason.

    `now` dates the decision and defaults to the current time.
    """
    now = now or timezone.now()
    if reason not in REJECT_TARGET_STATUS:
        raise InvalidHandoffInput(
            f"{reason!r} is not a rejection reason; use one of {', '.join(RejectReason.values)}.",
            extra={"fields": {"reason": ["Choose a rejection reason."]}},
        )
    rep = _rep_of(actor)

    with transaction.atomic():
        handoff = _lock_handoff(handoff_id)
        _require_pending(handoff)
        is_manager = has_role(actor, SALES_MANAGER, REVOPS)
        if not is_manager and (rep is None or handoff.rep_id != rep.pk):
            raise NotAllowed(
                f"Only the assigned rep or a sales manager can reject handoff {handoff_id}."
            )

        target = REJECT_TARGET_STATUS[reason]
        lead_transition(
            lead_id=handoff.lead_id,
            to_status=target,
            actor=_actor_or_none(actor),
            rule="handoff.reject",
            reason=f"Rejected handoff {handoff.pk}: {RejectReason(reason).label}. {note}".strip(),
            expected_from=LeadStatus.MQL,
            now=now,
        )
        handoff.status = HandoffStatus.REJECTED
        handoff.decided_at = now
        handoff.decided_by = actor  # type: ignore[assignment]
        handoff.reject_reason = reason
        handoff.reject_note = note.strip()
        handoff.save(
            update_fields=["status", "decided_at", "decided_by", "reject_reason", "reject_note"]
        )
        _record(
            handoff,
            HandoffEventKind.REJECTED,
            actor=actor,
            rep=handoff.rep,
            note=handoff.reject_note,
            data={"reason": reason, "lead_status": target},
            at=now,
        )

    logger.info(
        "Handoff %s rejected with reason %s", handoff.pk, reason, extra={"lead_id": handoff.lead_id}
    )
    return handoff


def handoff_withdraw(
    *, handoff_id: int, actor: User, note: str = "", now: dt.datetime | None = None
) -> Handoff:
    """Take a pending handoff back to marketing; the lead stays an MQL.

    `now` dates the withdrawal and defaults to the current time.
    """
    now = now or timezone.now()
    with transaction.atomic():
        handoff = _lock_handoff(handoff_id)
        _require_pending(handoff)
        handoff.status = HandoffStatus.WITHDRAWN
        handoff.decided_at = now
        handoff.decided_by = actor  # type: ignore[assignment]
        handoff.save(update_fields=["status", "decided_at", "decided_by"])
        _record(
            handoff,
            HandoffEventKind.WITHDRAWN,
            actor=actor,
            rep=handoff.rep,
            note=note.strip(),
            at=now,
        )
    logger.info("Handoff %s withdrawn", handoff.pk, extra={"lead_id": handoff.lead_id})
    return handoff


def _chain_rep_ids(handoff: Handoff) -> set[int]:
    """Return the reps that already held this lead along the reassignment chain."""
    rep_ids: set[int] = set()
    current: Handoff | None = handoff
    for _ in range(MAX_CHAIN):
        if current is None:
            break
        if current.rep_id is not None:
            rep_ids.add(current.rep_id)
        current = current.previous
    return rep_ids


def _reassign_locked(
    *,
    handoff: Handoff,
    actor: User | None,
    rule: str,
    note: str,
    to_rep: Rep | None,
    now: dt.datetime,
    escalated_to: Any = None,
    breach_count: int = 0,
) -> Handoff:
    """Close a locked pending handoff as reassigned and open the next one (to `to_rep` or re-routed)."""
    settings_row = _lock_settings()
    load = RoutingLoad.current()
    lead = Lead.objects.get(pk=handoff.lead_id)

    if to_rep is not None:
        decision = RoutingDecision(
            step=STEP_MANUAL,
            rep=to_rep,
            sla_hours=settings_row.default_sla_hours,
            technical_expert=handoff.technical_expert,
            note=note or "Reassigned by a sales manager.",
        )
    else:
        decision = route_lead(
            lead,
            excluded_rep_ids=_chain_rep_ids(handoff),
            load=load,
            default_sla_hours=settings_row.default_sla_hours,
            now=now,
        )

    handoff.status = HandoffStatus.REASSIGNED
    handoff.decided_at = now
    handoff.decided_by = _actor_or_none(actor)
    handoff.save(update_fields=["status", "decided_at", "decided_by"])

    successor = _assign(
        lead=lead,
        decision=decision,
        context=handoff.context,
        marketing_notes=handoff.marketing_notes,
        actor=actor,
        rule=rule,
        load=load,
        now=now,
        previous=handoff,
        escalated_to=escalated_to or handoff.escalated_to,
        breach_count=breach_count or handoff.breach_count,
    )
    _record(
        handoff,
        HandoffEventKind.REASSIGNED,
        actor=actor,
        rule=rule,
        rep=decision.rep,
        note=note,
        data={
            "from_rep_id": handoff.rep_id,
            "to_rep_id": decision.rep.pk if decision.rep else None,
            "new_handoff_id": successor.pk,
            "step": decision.step,
        },
        at=now,
    )
    return successor


def handoff_reassign(
    *,
    handoff_id: int,
    actor: User,
    to_rep_id: int | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Handoff:
    """Move a pending handoff to another rep, chosen by a sales manager or by routing again.

    With `to_rep_id` the rep must be available and within capacity; without it,
    routing runs again, skipping every rep who already held the lead. `now`
    dates the reassignment and the new SLA; it defaults to the current time.
    """
    if not has_role(actor, SALES_MANAGER, REVOPS):
        raise NotAllowed("Only sales managers and revenue operations can reassign handoffs.")

    to_rep = None
    if to_rep_id is not None:
        to_rep = Rep.objects.select_related("user").filter(pk=to_rep_id).first()
        if to_rep is None:
            raise RepNotFound(f"Rep {to_rep_id} does not exist.")

    now = now or timezone.now()
    with transaction.atomic():
        handoff = _lock_handoff(handoff_id)
        _require_pending(handoff)
        if to_rep is not None:
            if to_rep.pk == handoff.rep_id:
                raise InvalidHandoffInput(
                    f"Handoff {handoff_id} is already assigned to that rep; choose another.",
                    extra={"fields": {"to_rep": ["Choose a different rep."]}},
                )
            problem = availability_problem(
                to_rep, today=timezone.localdate(now), load=RoutingLoad.current(), excluded=()
            )
            if problem is not None:
                raise InvalidHandoffInput(
                    f"{to_rep.display_name} cannot take handoff {handoff_id}: {problem}.",
                    extra={"fields": {"to_rep": [problem]}},
                )
        successor = _reassign_locked(
            handoff=handoff,
            actor=actor,
            rule="handoff.reassign",
            note=note.strip(),
            to_rep=to_rep,
            now=now,
        )

    logger.info(
        "Handoff %s reassigned as handoff %s to rep %s",
        handoff_id,
        successor.pk,
        successor.rep_id,
        extra={"actor_id": actor.pk},
    )
    return successor


def handoff_breach(*, handoff_id: int, now: dt.datetime | None = None) -> Handoff | None:
    """Escalate one overdue handoff to the rep's manager and reassign it to the next rep.

    Returns the new handoff, or None when the handoff was decided or is no longer
    overdue by the time its row was locked (safe to run twice).
    """
    now = now or timezone.now()
    with transaction.atomic():
        handoff = Handoff.objects.select_for_update().filter(pk=handoff_id).first()
        if (
            handoff is None
            or handoff.status != HandoffStatus.PENDING
            or handoff.due_at is None
            or handoff.due_at > now
        ):
            return None

        rep = handoff.rep
        manager = rep.manager if rep is not None else None
        overdue_minutes = int((now - handoff.due_at).total_seconds() // 60)
        _record(
            handoff,
            HandoffEventKind.SLA_BREACHED,
            rule=RULE_SLA,
            rep=rep,
            data={"due_at": handoff.due_at.isoformat(), "overdue_minutes": overdue_minutes},
            at=now,
        )
        _record(
            handoff,
            HandoffEventKind.ESCALATED,
            rule=RULE_SLA,
            rep=rep,
            data={"manager_id": manager.pk if manager else None},
            note="Escalated to the rep's sales manager."
            if manager
            else "The rep has no sales manager; visible on the managers' page.",
            at=now,
        )
        handoff.breach_count += 1
        handoff.escalated_to = manager
        handoff.save(update_fields=["breach_count", "escalated_to"])

        successor = _reassign_locked(
            handoff=handoff,
            actor=None,
            rule=RULE_SLA,
            note="SLA breached; routed to the next rep.",
            to_rep=None,
            now=now,
            escalated_to=manager,
            breach_count=handoff.breach_count,
        )

    # TODO: escalation reaches the manager through the managers' page only; no e-mail is sent yet.
    logger.warning(
        "Handoff %s breached its SLA by %s minutes; reassigned as handoff %s",
        handoff_id,
        overdue_minutes,
        successor.pk,
        extra={"lead_id": handoff.lead_id, "rep_id": handoff.rep_id},
    )
    return successor


def handoffs_escalate_overdue(
    *, now: dt.datetime | None = None, limit: int = SLA_SWEEP_BATCH
) -> list[int]:
    """Escalate and reassign up to `limit` overdue pending handoffs, and return the new handoff ids.

    The sweep skips handoffs waiting in the fallback queue because there is no next
    rep to try. Managers see them on their page.
    """
    now = now or timezone.now()
    overdue = list(
        Handoff.objects.filter(status=HandoffStatus.PENDING, due_at__lte=now, rep__isnull=False)
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    created: list[int] = []
    for handoff_id in overdue:
        successor = handoff_breach(handoff_id=handoff_id, now=now)
        if successor is not None:
            created.append(successor.pk)
    if overdue:
        logger.info("SLA sweep: %s overdue handoffs, %s reassigned", len(overdue), len(created))
    return created


# --- Outcome --------------------------------------------------------------------------------


def handoff_close(
    *,
    handoff_id: int,
    actor: User,
    outcome: str,
    reason: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> Handoff:
    """Close the SQL of an accepted handoff as won or lost, with a coded reason.

    `now` dates the outcome and defaults to the current time.
    """
    now = now or timezone.now()
    if outcome not in OUTCOME_REASONS:
        raise InvalidHandoffInput(
            f"{outcome!r} is not an outcome; use won or lost.",
            extra={"fields": {"outcome": ["Choose won or lost."]}},
        )
    if reason not in OUTCOME_REASONS[outcome]:
        choices = ", ".join(OUTCOME_REASONS[outcome])
        raise InvalidHandoffInput(
            f"{reason!r} is not a reason for {outcome}; use one of {choices}.",
            extra={"fields": {"reason": [f"Choose one of {choices}."]}},
        )
    rep = _rep_of(actor)

    with transaction.atomic():
        handoff = _lock_handoff(handoff_id)
        if handoff.status != HandoffStatus.ACCEPTED or handoff.outcome:
            raise HandoffNotPending(
                f"Handoff {handoff_id} is not an open SQL (status {handoff.status}"
                f"{', outcome ' + handoff.outcome if handoff.outcome else ''}).",
                extra={"handoff_id": handoff_id},
            )
        is_manager = has_role(actor, SALES_MANAGER, REVOPS)
        if not is_manager and (rep is None or handoff.rep_id != rep.pk):
            raise NotAllowed(
                f"Only the owning rep or a sales manager can close handoff {handoff_id}."
            )

        try:
            lead_transition(
                lead_id=handoff.lead_id,
                to_status=outcome,
                actor=_actor_or_none(actor),
                rule="handoff.close",
                reason=f"{OutcomeReason(reason).label}. {note}".strip(),
                expected_from=LeadStatus.SQL,
                now=now,
            )
        except IllegalTransition as error:
            raise LeadNotQualified(
                f"Lead {handoff.lead_id} is no longer an SQL; {error.message}",
                extra={"lead_id": handoff.lead_id},
            ) from error
        handoff.outcome = outcome
        handoff.outcome_reason = reason
        handoff.outcome_note = note.strip()
        handoff.closed_at = now
        handoff.save(update_fields=["outcome", "outcome_reason", "outcome_note", "closed_at"])
        _record(
            handoff,
            HandoffEventKind.WON if outcome == Outcome.WON else HandoffEventKind.LOST,
            actor=actor,
            rep=handoff.rep,
            note=handoff.outcome_note,
            data={"reason": reason},
            at=now,
        )

    logger.info(
        "Handoff %s closed as %s (%s)",
        handoff.pk,
        outcome,
        reason,
        extra={"lead_id": handoff.lead_id},
    )
    return handoff


# --- Reps and routing rules (revenue operations) ----------------------------------------------

REP_EDITABLE_FIELDS = {
    "segments",
    "product_lines",
    "capacity",
    "is_technical_expert",
    "is_active",
    "out_of_office_until",
    "home_territory",
    "manager",
}
RULE_EDITABLE_FIELDS = {
    "name",
    "position",
    "is_active",
    "regions",
    "segments",
    "product_interests",
    "strategy",
    "sla_hours",
}


def rep_update(*, rep_id: int, actor: User | None, fields: dict[str, Any]) -> Rep:
    """Change a rep's coverage, capacity or availability; `territories` takes a list of territories."""
    unknown = set(fields) - REP_EDITABLE_FIELDS - {"territories"}
    if unknown:
        raise InvalidHandoffInput(
            f"Fields {', '.join(sorted(unknown))} cannot be edited on a rep.",
            extra={"fields": {name: ["Not editable."] for name in sorted(unknown)}},
        )
    with transaction.atomic():
        rep = Rep.objects.select_for_update().filter(pk=rep_id).first()
        if rep is None:
            raise RepNotFound(f"Rep {rep_id} does not exist.")
        changed = [name for name in fields if name in REP_EDITABLE_FIELDS]
        for name in changed:
            setattr(rep, name, fields[name])
        if changed:
            rep.save(update_fields=changed)
        if "territories" in fields:
            rep.territories.set(fields["territories"])
    logger.info(
        "Rep %s updated: %s",
        rep_id,
        ", ".join(sorted(fields)),
        extra={"actor_id": getattr(actor, "pk", None)},
    )
    return rep


def _apply_rule_fields(rule: RoutingRule, fields: dict[str, Any]) -> None:
    unknown = set(fields) - RULE_EDITABLE_FIELDS - {"reps", "territories"}
    if unknown:
        raise InvalidHandoffInput(
            f"Fields {', '.join(sorted(unknown))} cannot be set on a routing rule.",
            extra={"fields": {name: ["Not editable."] for name in sorted(unknown)}},
        )
    for name in RULE_EDITABLE_FIELDS & set(fields):
        setattr(rule, name, fields[name])
    rule.save()
    if "reps" in fields:
        rule.reps.set(fields["reps"])
    if "territories" in fields:
        rule.territories.set(fields["territories"])


def routing_rule_create(*, actor: User | None, fields: dict[str, Any]) -> RoutingRule:
    """Add a routing rule; without a position it goes after the last rule."""
    with transaction.atomic():
        _lock_settings()
        rule = RoutingRule()
        if fields.get("position") is None:
            last = (
                RoutingRule.objects.order_by("-position").values_list("position", flat=True).first()
            )
            # Rules with equal positions are tried in id order, so at the maximum the new rule
            # still comes last.
            fields = {**fields, "position": min((last or 0) + 10, MAX_RULE_POSITION)}
        _apply_rule_fields(rule, fields)
    logger.info("Routing rule %s created", rule.pk, extra={"actor_id": getattr(actor, "pk", None)})
    return rule


def routing_rule_update(*, rule_id: int, actor: User | None, fields: dict[str, Any]) -> RoutingRule:
    with transaction.atomic():
        _lock_settings()
        rule = RoutingRule.objects.filter(pk=rule_id).first()
        if rule is None:
            raise RoutingRuleNotFound(f"Routing rule {rule_id} does not exist.")
        _apply_rule_fields(rule, fields)
    logger.info("Routing rule %s updated", rule_id, extra={"actor_id": getattr(actor, "pk", None)})
    return rule


def routing_rule_delete(*, rule_id: int, actor: User | None) -> None:
    """Delete a routing rule; handoffs it routed keep their trace and lose only the link."""
    with transaction.atomic():
        _lock_settings()
        deleted, _ = RoutingRule.objects.filter(pk=rule_id).delete()
    if not deleted:
        raise RoutingRuleNotFound(f"Routing rule {rule_id} does not exist.")
    logger.info("Routing rule %s deleted", rule_id, extra={"actor_id": getattr(actor, "pk", None)})


def routing_rules_reorder(*, rule_ids: list[int], actor: User | None) -> list[RoutingRule]:
    """Renumber the rules in the given order (10, 20, 30 …); rules not listed follow in their old order."""
    with transaction.atomic():
        _lock_settings()
        rules = list(RoutingRule.objects.order_by("position", "id"))
        by_id = {rule.pk: rule for rule in rules}
        unknown = [rule_id for rule_id in rule_ids if rule_id not in by_id]
        if unknown:
            raise InvalidHandoffInput(
                f"Routing rules {', '.join(map(str, unknown))} do not exist; reload the page.",
                code="rule_not_found",
            )
        ordered = [by_id[rule_id] for rule_id in dict.fromkeys(rule_ids)]
        ordered += [rule for rule in rules if rule.pk not in set(rule_ids)]
        for index, rule in enumerate(ordered, start=1):
            rule.position = index * 10
        RoutingRule.objects.bulk_update(ordered, ["position"])
    logger.info("Routing rules reordered", extra={"actor_id": getattr(actor, "pk", None)})
    return ordered


def routing_rule_move(*, rule_id: int, direction: str, actor: User | None) -> list[RoutingRule]:
    """Swap a rule with its neighbour above ("up") or below ("down")."""
    ids = list(RoutingRule.objects.order_by("position", "id").values_list("pk", flat=True))
    if rule_id not in ids:
        raise InvalidHandoffInput(f"Routing rule {rule_id} does not exist.", code="rule_not_found")
    index = ids.index(rule_id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
    return routing_rules_reorder(rule_ids=ids, actor=actor)
