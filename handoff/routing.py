"""Routing of a lead to the account owner, else the first matching rule, else the fallback queue.

`route_lead` only decides and explains; it writes nothing, so the dry-run and
the real assignment share it. The services lock the settings row around it and
then record the decision and advance the round-robin cursor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count
from django.utils import timezone

from handoff.models import Handoff, HandoffStatus, Rep, RoutingRule, RoutingStrategy
from leads.models import EngagementEvent, Lead

STEP_ACCOUNT_OWNER = "account_owner"
STEP_RULE = "rule"
STEP_FALLBACK = "fallback_queue"
STEP_MANUAL = "manual"

# A lead requests a technical consultation with an event of this kind or with this custom attribute.
TECHNICAL_CONSULTATION_KIND = "technical_consultation"
TECHNICAL_CONSULTATION_ATTRIBUTE = "technical_consultation"


@dataclass
class RoutingDecision:
    """The chosen rep (None for the fallback queue) and the reasons, as stored on the handoff."""

    step: str
    rep: Rep | None = None
    rule: RoutingRule | None = None
    sla_hours: Decimal | None = None
    rules: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    technical_expert: Rep | None = None
    technical_expert_trace: dict[str, Any] | None = None
    # A person's reason, such as a manager's note on a manual reassignment.
    note: str = ""

    def as_trace(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "rep_id": self.rep.pk if self.rep else None,
            "rep": self.rep.display_name if self.rep else None,
            "rule_id": self.rule.pk if self.rule else None,
            "rule": self.rule.name if self.rule else None,
            "reason": self.reason,
            "rules": self.rules,
            "skipped": self.skipped,
            "technical_expert": self.technical_expert_trace,
        }

    @property
    def reason(self) -> str:
        if self.note:
            return self.note
        if self.step == STEP_ACCOUNT_OWNER and self.rep is not None:
            return "Owner of the lead's account."
        if self.step == STEP_RULE and self.rule is not None:
            strategy = self.rule.get_strategy_display().lower()
            return f"Rule {self.rule.name!r} matched; chosen by {strategy} among eligible reps."
        return "No rule matched with an eligible rep; placed in the fallback queue."


@dataclass
class RoutingLoad:
    """Pending handoffs per rep, as assignee and as technical expert, counted once per routing."""

    as_rep: dict[int, int]
    as_expert: dict[int, int]

    @classmethod
    def current(cls) -> RoutingLoad:
        pending = Handoff.objects.filter(status=HandoffStatus.PENDING)
        as_rep = dict(
            pending.filter(rep__isnull=False)
            .values_list("rep")
            .annotate(count=Count("id"))
            .values_list("rep", "count")
        )
        as_expert = dict(
            pending.filter(technical_expert__isnull=False)
            .values_list("technical_expert")
            .annotate(count=Count("id"))
            .values_list("technical_expert", "count")
        )
        return cls(as_rep=as_rep, as_expert=as_expert)

    def open_for(self, rep: Rep) -> int:
        return self.as_rep.get(rep.pk, 0)

    def add(self, rep: Rep) -> None:
        self.as_rep[rep.pk] = self.as_rep.get(rep.pk, 0) + 1

    def add_expert(self, rep: Rep) -> None:
        self.as_expert[rep.pk] = self.as_expert.get(rep.pk, 0) + 1


def lead_region(lead: Lead) -> str:
    return lead.region or (lead.account.region if lead.account else "")


def lead_segment(lead: Lead) -> str:
    return lead.account.segment if lead.account else ""


def needs_technical_expert(lead: Lead) -> bool:
    if (lead.custom_attributes or {}).get(TECHNICAL_CONSULTATION_ATTRIBUTE):
        return True
    return EngagementEvent.objects.filter(lead=lead, kind=TECHNICAL_CONSULTATION_KIND).exists()


def _lower(values: Iterable[Any]) -> set[str]:
    return {str(value).strip().lower() for value in values if str(value).strip()}


def availability_problem(
    rep: Rep, *, today: dt.date, load: RoutingLoad, excluded: Collection[int]
) -> str | None:
    """Return why the rep cannot take a handoff now, or None when they can."""
    if rep.pk in excluded:
        return "already had a handoff of this lead"
    if not rep.is_active:
        return "inactive"
    if not rep.user.is_active:
        return "user account inactive"
    if rep.is_out_of_office(today):
        return f"out of office until {rep.out_of_office_until:%Y-%m-%d}"
    open_count = load.open_for(rep)
    if open_count >= rep.capacity:
        return f"at capacity ({open_count} of {rep.capacity} open)"
    return None


def coverage_problem(rep: Rep, lead: Lead) -> str | None:
    """Return why the rep does not sell to this lead's segment or products, or None."""
    segment = lead_segment(lead).lower()
    rep_segments = _lower(rep.segments or [])
    if rep_segments and segment not in rep_segments:
        return f"does not cover segment {segment or '(none)'}"
    rep_products = _lower(rep.product_lines or [])
    interests = _lower(lead.interests or [])
    if rep_products and interests and not (rep_products & interests):
        return "sells none of the lead's product interests"
    return None


def rule_mismatch(rule: RoutingRule, lead: Lead) -> str | None:
    """Return the first condition of the rule the lead fails, or None when the rule matches."""
    region = lead_region(lead).lower()
    regions = _lower(rule.regions or [])
    if regions and region not in regions:
        return f"region {region or '(none)'} not in {', '.join(sorted(regions))}"
    segment = lead_segment(lead).lower()
    segments = _lower(rule.segments or [])
    if segments and segment not in segments:
        return f"segment {segment or '(none)'} not in {', '.join(sorted(segments))}"
    products = _lower(rule.product_interests or [])
    interests = _lower(lead.interests or [])
    if products and not (products & interests):
        return f"no product interest in {', '.join(sorted(products))}"
    return None


def rule_pool(rule: RoutingRule) -> list[Rep]:
    """Return the rule's listed reps plus the reps of its territories, ordered by id."""
    pool: dict[int, Rep] = {rep.pk: rep for rep in rule.reps.all()}
    for territory in rule.territories.all():
        for rep in territory.reps.all():
            pool.setdefault(rep.pk, rep)
    return [pool[rep_id] for rep_id in sorted(pool)]


def _round_robin_order(pool: list[Rep], cursor_rep_id: int | None) -> list[Rep]:
    """Rotate the pool so it starts with the first rep after the one who got the last lead."""
    if cursor_rep_id is None:
        return pool
    start = next((index for index, rep in enumerate(pool) if rep.pk > cursor_rep_id), 0)
    return pool[start:] + pool[:start]


def _least_loaded_order(pool: list[Rep], load: RoutingLoad) -> list[Rep]:
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(pool, key=lambda rep: (load.open_for(rep), rep.last_assigned_at or epoch, rep.pk))


def _skip(rep: Rep, reason: str, rule: RoutingRule | None) -> dict[str, Any]:
    return {
        "rep_id": rep.pk,
        "rep": rep.display_name,
        "rule_id": rule.pk if rule else None,
        "reason": reason,
    }


def _pick_from_rule(
    rule: RoutingRule,
    lead: Lead,
    *,
    today: dt.date,
    load: RoutingLoad,
    excluded: Collection[int],
    skipped: list[dict[str, Any]],
) -> Rep | None:
    pool = rule_pool(rule)
    if rule.strategy == RoutingStrategy.LEAST_LOADED:
        ordered = _least_loaded_order(pool, load)
    else:
        ordered = _round_robin_order(pool, rule.last_assigned_rep_id)

    for rep in ordered:
        problem = availability_problem(
            rep, today=today, load=load, excluded=excluded
        ) or coverage_problem(rep, lead)
        if problem is None:
            return rep
        skipped.append(_skip(rep, problem, rule))
    return None


def _account_owner(
    lead: Lead,
    *,
    today: dt.date,
    load: RoutingLoad,
    excluded: Collection[int],
    skipped: list[dict[str, Any]],
) -> Rep | None:
    owner = lead.account.owner if lead.account else None
    if owner is None:
        return None
    rep = Rep.objects.select_related("user").filter(user=owner).first()
    if rep is None:
        skipped.append(
            {
                "rep_id": None,
                "rep": owner.get_username(),
                "rule_id": None,
                "reason": "account owner has no rep profile",
            }
        )
        return None
    problem = availability_problem(rep, today=today, load=load, excluded=excluded)
    if problem is not None:
        skipped.append(_skip(rep, f"account owner {problem}", None))
        return None
    return rep


def pick_technical_expert(
    lead: Lead,
    *,
    assigned: Rep | None,
    today: dt.date,
    load: RoutingLoad,
) -> tuple[Rep | None, dict[str, Any]]:
    """Choose the least-loaded available technical expert other than the assigned rep.

    An expert's load is their pending handoffs as assignee plus as expert, held against their capacity.
    """
    experts = list(
        Rep.objects.select_related("user").filter(is_technical_expert=True).order_by("id")
    )
    skipped: list[dict[str, Any]] = []
    eligible: list[tuple[int, int, Rep]] = []
    for rep in experts:
        if assigned is not None and rep.pk == assigned.pk:
            skipped.append(_skip(rep, "is the assigned rep", None))
            continue
        total = load.open_for(rep) + load.as_expert.get(rep.pk, 0)
        problem = availability_problem(rep, today=today, load=load, excluded=())
        if problem is None and total >= rep.capacity:
            problem = f"at capacity ({total} of {rep.capacity} open, as rep and expert)"
        if problem is not None:
            skipped.append(_skip(rep, problem, None))
            continue
        eligible.append((total, rep.pk, rep))

    chosen = min(eligible)[2] if eligible else None
    trace = {
        "requested": True,
        "rep_id": chosen.pk if chosen else None,
        "rep": chosen.display_name if chosen else None,
        "reason": "Least-loaded available technical expert."
        if chosen
        else "No technical expert is available.",
        "skipped": skipped,
    }
    return chosen, trace


def active_rules() -> list[RoutingRule]:
    return list(
        RoutingRule.objects.filter(is_active=True)
        .order_by("position", "id")
        .prefetch_related("reps__user", "territories__reps__user")
    )


def route_lead(
    lead: Lead,
    *,
    excluded_rep_ids: Collection[int] = (),
    load: RoutingLoad | None = None,
    rules: list[RoutingRule] | None = None,
    default_sla_hours: Decimal = Decimal(8),
    now: dt.datetime | None = None,
) -> RoutingDecision:
    """Decide which rep gets the lead and explain the decision; writes nothing.

    Reps in `excluded_rep_ids` are skipped, so a reassignment after an SLA breach
    moves on to someone new. `load` and `rules` can be passed in by callers that
    route many leads in one transaction.
    """
    today = timezone.localdate(now or timezone.now())
    load = load or RoutingLoad.current()
    rules = active_rules() if rules is None else rules
    skipped: list[dict[str, Any]] = []
    decision: RoutingDecision | None = None

    owner = _account_owner(lead, today=today, load=load, excluded=excluded_rep_ids, skipped=skipped)
    if owner is not None:
        decision = RoutingDecision(step=STEP_ACCOUNT_OWNER, rep=owner, sla_hours=default_sla_hours)

    tried: list[dict[str, Any]] = []
    for rule in rules if decision is None else []:
        mismatch = rule_mismatch(rule, lead)
        if mismatch is not None:
            tried.append({"rule_id": rule.pk, "rule": rule.name, "matched": False, "why": mismatch})
            continue
        rep = _pick_from_rule(
            rule, lead, today=today, load=load, excluded=excluded_rep_ids, skipped=skipped
        )
        if rep is None:
            tried.append(
                {"rule_id": rule.pk, "rule": rule.name, "matched": True, "why": "no eligible rep"}
            )
            continue
        tried.append({"rule_id": rule.pk, "rule": rule.name, "matched": True, "why": "chosen"})
        decision = RoutingDecision(step=STEP_RULE, rep=rep, rule=rule, sla_hours=rule.sla_hours)
        break

    if decision is None:
        decision = RoutingDecision(step=STEP_FALLBACK, sla_hours=default_sla_hours)
    decision.rules = tried
    decision.skipped = skipped

    if needs_technical_expert(lead):
        expert, trace = pick_technical_expert(lead, assigned=decision.rep, today=today, load=load)
        decision.technical_expert = expert
        decision.technical_expert_trace = trace
    return decision
