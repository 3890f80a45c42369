"""Four weeks of handoffs, replayed through the services with their `now` parameter.

The story picks a share of the current MQLs, best scored first, and plans for
each a send time and a fate. It dates every MQL's qualification at the moment
the lead became ready to send, before any send. It then plays every step in time order as the
people and the SLA sweep would have: the marketer sends, reps accept, reject
or close, the sweep escalates what no rep decided in time, a rep goes on leave
and the manager moves one of her handoffs. Leads sent in the last marketing
hours are still waiting for a decision, so the inboxes show handoffs close to
and past their due time.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from django.db.models import Max

from handoff.context import HIGH_INTENT_KINDS
from handoff.demo import texts
from handoff.demo.team import OUT_OF_OFFICE_USERNAME, DemoTeam
from handoff.models import Handoff, HandoffStatus, Outcome, OutcomeReason, RejectReason, Rep
from handoff.routing import RoutingLoad, availability_problem, lead_region
from handoff.services import (
    handoff_accept,
    handoff_close,
    handoff_reassign,
    handoff_reject,
    handoff_send,
    handoff_withdraw,
    handoffs_escalate_overdue,
    rep_update,
)
from handoff.sla import (
    BusinessCalendar,
    add_business_hours,
    business_hours_between,
    calendar_for_rep,
)
from leads.demo import demo_mql_dates_set
from leads.models import EngagementEvent, Lead, LeadStatus

logger = logging.getLogger(__name__)

Choice = TypeVar("Choice")

# The system rule recorded on every handoff the demo sends, so that a reset finds them.
RULE_DEMO = "handoff.demo"

HISTORY_DAYS = 28
# Share of the eligible MQLs the marketer has sent. The rest wait in the MQL queue.
SEND_SHARE = 0.55
# Share of the sent leads that no rep has decided on yet.
PENDING_SHARE = 0.2
# Marketing hours before `now` in which a sent lead has no decision yet.
PENDING_HOURS = 12
# The marketer works from Stockholm, so sends happen in her business hours.
MARKETING_CALENDAR = BusinessCalendar(
    timezone="Europe/Stockholm", day_start=dt.time(8, 0), day_end=dt.time(17, 0)
)
# Sends within one half hour go out as one bulk send, as from the queue's checkboxes.
SEND_BATCH_MINUTES = 30
# The beat entry runs the SLA sweep every five minutes; the story runs it at the first of these
# marks after each due time, because the other runs would find nothing to do.
SWEEP_EVERY_MINUTES = 5
# A won or lost SQL needs this long between acceptance and the close.
MIN_DAYS_TO_CLOSE = 2
MAX_DAYS_TO_CLOSE = 12
# Business hours a rep takes to decide, within every rule's SLA of 8 hours or more.
DECISION_HOURS = (0.3, 6.5)
# A late decision comes this many business hours after the due time. The sweep has escalated the
# handoff by then, so the rep who got it next decides.
LATE_DECISION_HOURS = (1.5, 4.0)
LATE_SHARE = 0.06
# A demo lead qualifies as MQL at least this long after it was created and before it is sent.
QUALIFY_AFTER_CREATED = dt.timedelta(minutes=1)
QUALIFY_BEFORE_SEND = dt.timedelta(minutes=1)

OPEN, WON, LOST, WITHDRAW, PENDING = "open", "won", "lost", "withdraw", "pending"
ACCEPT, REJECT = "accept", "reject"
# Relative frequency of the reps' decisions: sales rejects about a third of the MQLs it receives.
DECISION_WEIGHTS = {ACCEPT: 66, REJECT: 32, WITHDRAW: 2}
REJECT_WEIGHTS = {
    RejectReason.NOT_A_FIT: 6,
    RejectReason.NO_ACTIVE_NEED: 7,
    RejectReason.WRONG_CONTACT: 4,
    RejectReason.DUPLICATE: 3,
    RejectReason.BAD_TIMING: 6,
}
# Outcomes of an SQL accepted early enough to have been closed since.
CLOSE_WEIGHTS = {WON: 4, LOST: 4, OPEN: 2}
# Every fate the demo shows at least once, given enough leads.
FATES = (WON, LOST, *REJECT_WEIGHTS, OPEN, WITHDRAW)
WON_REASONS = {
    OutcomeReason.PRODUCT_FIT: 5,
    OutcomeReason.SERVICE_AND_SUPPORT: 2,
    OutcomeReason.RELATIONSHIP: 2,
    OutcomeReason.PRICE: 1,
}
LOST_REASONS = {
    OutcomeReason.LOST_TO_COMPETITOR: 4,
    OutcomeReason.NO_BUDGET: 2,
    OutcomeReason.NO_DECISION: 2,
    OutcomeReason.TOO_EXPENSIVE: 2,
    OutcomeReason.PRODUCT_GAP: 1,
    OutcomeReason.TIMING: 1,
}


@dataclass
class _Plan:
    lead: Lead
    sent_at: dt.datetime
    fate: str
    # Business hours of the rep's calendar from the assignment to the decision, or from the due
    # time when late.
    decide_after_hours: float = 0.0
    late: bool = False


@dataclass(order=True)
class _Step:
    at: dt.datetime
    sequence: int
    run: Callable[[dt.datetime], None] = field(compare=False)


class Story:
    def __init__(self, team: DemoTeam, rng: random.Random, now: dt.datetime):
        self.team = team
        self.rng = rng
        self.now = now
        self.start = now - dt.timedelta(days=HISTORY_DAYS)
        self.plans: dict[int, _Plan] = {}
        self.steps: list[_Step] = []
        self.sequence = 0
        self.send_errors = 0
        self.absent_from: dt.datetime | None = None
        self.sweeps_until = now
        self.sweep_marks: set[dt.datetime] = set()
        self.absent_until = _wednesday_next_week(now.date())
        self.qualified_at: dict[int, dt.datetime] = {}

    # Planning

    def plan(self, *, share: float) -> None:
        """Choose the leads to send, when, and what becomes of each."""
        mqls = list(
            Lead.objects.filter(status=LeadStatus.MQL).select_related("account").order_by("pk")
        )
        self.qualified_at = self._ready_moments(mqls)
        chosen = self._choose_leads(mqls, share)
        if not chosen:
            self.absent_from = self.now
            self._schedule(self.now, self._rep_leaves)
            return
        total_hours = business_hours_between(self.start, self.now, MARKETING_CALENDAR)
        pending_from = max(0.0, total_hours - PENDING_HOURS)
        ready = {
            lead.pk: business_hours_between(
                self.start, self.qualified_at[lead.pk], MARKETING_CALENDAR
            )
            for lead in chosen
        }

        # Leads that qualified only in the last hours cannot have a decision yet.
        forced = [lead for lead in chosen if ready[lead.pk] >= pending_from]
        others = [lead for lead in chosen if ready[lead.pk] < pending_from]
        self.rng.shuffle(others)
        extra = max(0, round(len(chosen) * PENDING_SHARE) - len(forced))
        pending, decided = forced + others[:extra], others[extra:]

        for lead in pending:
            earliest = max(ready[lead.pk], pending_from)
            # Skewed towards the end, so that more handoffs are due soon than are overdue.
            offset = earliest + (total_hours - earliest) * self.rng.random() ** 0.7
            self._add_plan(lead, offset, PENDING)

        decided_plans = []
        for lead in decided:
            offset = self.rng.uniform(ready[lead.pk], pending_from)
            decided_plans.append(self._add_plan(lead, offset, OPEN))
        self._assign_fates(decided_plans)
        # The latest handoffs are left unswept, so the managers' page shows overdue ones.
        self.sweeps_until = self._marketing_time(pending_from)
        self._make_one_late(decided_plans, sent_before=self.sweeps_until - dt.timedelta(days=2))

        self._schedule_sends()
        self._qualify_before_sends()
        self.absent_from = self._marketing_time(min(total_hours, pending_from + 3))
        self._schedule(self.absent_from, self._rep_leaves)
        self._schedule(self._marketing_time(max(0.0, total_hours - 1)), self._manager_reassigns)

    def _choose_leads(self, mqls: list[Lead], share: float) -> list[Lead]:
        """Return the MQLs the marketer sent: those with interests and a source, best scored first."""
        candidates = [
            lead
            for lead in mqls
            if lead.interests
            and (
                lead.first_touch_source
                or lead.first_touch_campaign
                or lead.last_touch_source
                or lead.last_touch_campaign
            )
        ]
        ranked = sorted(
            candidates,
            key=lambda lead: (
                -((lead.fit_score or 0) + (lead.engagement_score or 0) / 2 + self.rng.gauss(0, 15))
            ),
        )
        return ranked[: round(len(candidates) * share)]

    def _ready_moments(self, leads: list[Lead]) -> dict[int, dt.datetime]:
        """Return, per lead, when it qualified as MQL and so was ready to send.

        That is the time of its fast-track event, else of its latest high-intent event, else
        the time by which half of the events its engagement score counts had happened. A
        moment before the lead was created becomes a minute after its creation.
        """
        fast_track: dict[int, int] = {}
        scored: dict[int, set[int]] = {}
        for lead in leads:
            breakdown = lead.score_breakdown or {}
            event_id = (breakdown.get("fast_track") or {}).get("event_id")
            if event_id:
                fast_track[lead.pk] = int(event_id)
            scored[lead.pk] = {
                int(event_id)
                for rule in breakdown.get("engagement") or []
                for event_id in rule.get("event_ids") or []
            }
        times = dict(
            EngagementEvent.objects.filter(
                pk__in={*fast_track.values(), *(i for ids in scored.values() for i in ids)}
            ).values_list("pk", "occurred_at")
        )
        high_intent = dict(
            EngagementEvent.objects.filter(
                lead__in=[lead.pk for lead in leads], kind__in=HIGH_INTENT_KINDS
            )
            .values("lead_id")
            .annotate(latest=Max("occurred_at"))
            .values_list("lead_id", "latest")
        )

        ready = {}
        for lead in leads:
            moment = times.get(fast_track.get(lead.pk, 0)) or high_intent.get(lead.pk)
            if moment is None:
                counted = sorted(times[i] for i in scored[lead.pk] if i in times)
                moment = counted[len(counted) // 2] if counted else self.start
            ready[lead.pk] = min(max(moment, lead.created_at + QUALIFY_AFTER_CREATED), self.now)
        return ready

    def _add_plan(self, lead: Lead, offset: float, fate: str) -> _Plan:
        late = self.rng.random() < LATE_SHARE
        plan = _Plan(
            lead=lead,
            sent_at=self._marketing_time(offset),
            fate=fate,
            decide_after_hours=self.rng.uniform(*(LATE_DECISION_HOURS if late else DECISION_HOURS)),
            late=late,
        )
        self.plans[lead.pk] = plan
        return plan

    def _assign_fates(self, plans: list[_Plan]) -> None:
        """Give every fate to at least one handoff, then draw the rest by weight.

        Only a handoff sent early enough can have been accepted and closed since.
        """
        closable_before = self.now - dt.timedelta(days=MIN_DAYS_TO_CLOSE + 3)
        unassigned = sorted(plans, key=lambda plan: plan.sent_at)
        for fate in FATES:
            pool = [
                plan
                for plan in unassigned
                if fate not in (WON, LOST) or plan.sent_at < closable_before
            ]
            if pool:
                plan = self.rng.choice(pool)
                plan.fate = fate
                unassigned.remove(plan)

        for plan in unassigned:
            decision = _draw(self.rng, DECISION_WEIGHTS)
            if decision == REJECT:
                plan.fate = _draw(self.rng, REJECT_WEIGHTS)
            elif decision == ACCEPT:
                closable = plan.sent_at < closable_before
                plan.fate = _draw(self.rng, CLOSE_WEIGHTS) if closable else OPEN
            else:
                plan.fate = decision

    def _make_one_late(self, plans: list[_Plan], *, sent_before: dt.datetime) -> None:
        """Make sure one rep decides after the SLA, so the sweep escalates at least one handoff."""
        pool = [plan for plan in plans if plan.fate != WITHDRAW and plan.sent_at < sent_before]
        if pool and not any(plan.late for plan in pool):
            plan = self.rng.choice(pool)
            plan.late = True
            plan.decide_after_hours = self.rng.uniform(*LATE_DECISION_HOURS)

    def _qualify_before_sends(self) -> None:
        """Date every sent lead's move to MQL before its send.

        A send planned at a lead's ready moment can fall a few seconds before it, because
        planned times are cut to the minute.
        """
        for plan in self.plans.values():
            latest = plan.sent_at - QUALIFY_BEFORE_SEND
            self.qualified_at[plan.lead.pk] = min(self.qualified_at[plan.lead.pk], latest)

    def _marketing_time(self, offset: float) -> dt.datetime:
        moment = add_business_hours(self.start, offset, MARKETING_CALENDAR)
        return min(moment.replace(second=0, microsecond=0), self.now)

    # Scheduling

    def _schedule(self, at: dt.datetime, run: Callable[[dt.datetime], None]) -> None:
        self.sequence += 1
        heapq.heappush(self.steps, _Step(at, self.sequence, run))

    def _schedule_sends(self) -> None:
        batches: dict[dt.datetime, list[int]] = {}
        for plan in self.plans.values():
            minute = plan.sent_at.minute - plan.sent_at.minute % SEND_BATCH_MINUTES
            batches.setdefault(plan.sent_at.replace(minute=minute), []).append(plan.lead.pk)
        for lead_ids in batches.values():
            # Sent a few minutes after the last of them was planned, so after it was ready too.
            latest = max(self.plans[lead_id].sent_at for lead_id in lead_ids)
            moment = min(latest + dt.timedelta(seconds=self.rng.randint(30, 600)), self.now)
            self._schedule(moment, functools.partial(self._send, lead_ids=sorted(lead_ids)))

    def _watch(self, handoff: Handoff) -> None:
        """Schedule the sweep that finds the handoff overdue if no rep has decided by then."""
        if handoff.rep_id is None or handoff.due_at is None or handoff.due_at >= self.sweeps_until:
            return
        due = handoff.due_at
        mark = due.replace(minute=due.minute - due.minute % SWEEP_EVERY_MINUTES, second=0)
        mark = mark.replace(microsecond=0) + dt.timedelta(minutes=SWEEP_EVERY_MINUTES)
        if mark not in self.sweep_marks:
            self.sweep_marks.add(mark)
            self._schedule(mark, self._sweep)

    def run(self) -> None:
        # Scoring moved the leads to MQL when the demo was built. The story dates those moves
        # first, so that the services see each lead as it was when the marketer sent it.
        demo_mql_dates_set(dates=self.qualified_at)
        while self.steps:
            step = heapq.heappop(self.steps)
            step.run(step.at)

    # Steps

    def _send(self, at: dt.datetime, *, lead_ids: list[int]) -> None:
        note = ""
        if len(lead_ids) == 1 and self.rng.random() < 0.4:
            note = texts.send_note(self.plans[lead_ids[0]].lead, self.rng)
        result = handoff_send(
            lead_ids=lead_ids,
            actor=self.team.marketer,
            marketing_notes=note,
            rule=RULE_DEMO,
            now=at,
        )
        self.send_errors += len(result.errors)
        for error in result.errors:
            logger.info("Demo lead %s not sent: %s", error["lead_id"], error["code"])
        for handoff in result.created:
            self._watch(handoff)
            plan = self.plans[handoff.lead_id]
            if plan.fate == PENDING:
                continue
            decide_at = add_business_hours(
                handoff.due_at if plan.late and handoff.due_at else at,
                plan.decide_after_hours,
                calendar_for_rep(handoff.rep),
            )
            if decide_at < self.now:
                self._schedule(decide_at, functools.partial(self._decide, plan=plan))

    def _sweep(self, at: dt.datetime) -> None:
        for successor in Handoff.objects.filter(pk__in=handoffs_escalate_overdue(now=at)):
            self._watch(successor)

    def _decide(self, at: dt.datetime, *, plan: _Plan) -> None:
        handoff = (
            Handoff.objects.select_related("rep__user")
            .filter(lead_id=plan.lead.pk, status=HandoffStatus.PENDING)
            .first()
        )
        if handoff is None or self._is_absent(handoff.rep, at):
            return

        if plan.fate == WITHDRAW:
            handoff_withdraw(
                handoff_id=handoff.pk,
                actor=self.team.marketer,
                note=texts.withdraw_note(self.rng),
                now=at,
            )
        elif plan.fate in RejectReason.values:
            actor = handoff.rep.user if handoff.rep else self.team.manager
            handoff_reject(
                handoff_id=handoff.pk,
                actor=actor,
                reason=plan.fate,
                note=texts.reject_note(plan.lead, plan.fate, self.rng, today=at.date()),
                now=at,
            )
        else:
            self._accept(at, plan, handoff)

    def _accept(self, at: dt.datetime, plan: _Plan, handoff: Handoff) -> None:
        rep = handoff.rep or self._claimer(at, plan.lead)
        if rep is None:
            return
        handoff_accept(
            handoff_id=handoff.pk,
            actor=rep.user,
            qualification=texts.qualification(
                plan.lead, self.rng, technical=handoff.technical_expert_id is not None
            ),
            next_step=texts.next_step(plan.lead, self.rng),
            next_step_date=_working_day(at.date() + dt.timedelta(days=self.rng.randint(2, 14))),
            now=at,
        )
        if plan.fate not in (WON, LOST):
            return
        days_left = (self.now - at).total_seconds() / 86400 - 1
        if days_left < MIN_DAYS_TO_CLOSE:
            return
        days = self.rng.uniform(MIN_DAYS_TO_CLOSE, min(days_left, MAX_DAYS_TO_CLOSE))
        close_at = add_business_hours(
            at + dt.timedelta(days=days), self.rng.uniform(0.3, 6.0), calendar_for_rep(rep)
        )
        if close_at < self.now:
            self._schedule(
                close_at, functools.partial(self._close, plan=plan, handoff_id=handoff.pk)
            )

    def _claimer(self, at: dt.datetime, lead: Lead) -> Rep | None:
        """Return an available rep to take a handoff from the fallback queue, one of the lead's region first."""
        load = RoutingLoad.current()
        region = lead_region(lead)
        reps = list(self.team.reps.values())
        self.rng.shuffle(reps)
        reps.sort(
            key=lambda rep: region not in {territory.code for territory in rep.territories.all()}
        )
        for rep in reps:
            if self._is_absent(rep, at):
                continue
            if availability_problem(rep, today=at.date(), load=load, excluded=()) is None:
                return rep
        return None

    def _close(self, at: dt.datetime, *, plan: _Plan, handoff_id: int) -> None:
        reasons = WON_REASONS if plan.fate == WON else LOST_REASONS
        reason = _draw(self.rng, reasons)
        handoff = Handoff.objects.select_related("rep__user").get(pk=handoff_id)
        handoff_close(
            handoff_id=handoff_id,
            actor=handoff.rep.user if handoff.rep else self.team.manager,
            outcome=Outcome.WON if plan.fate == WON else Outcome.LOST,
            reason=reason,
            note=texts.outcome_note(plan.lead, reason, self.rng),
            now=at,
        )

    def _rep_leaves(self, at: dt.datetime) -> None:
        rep = self.team.reps[OUT_OF_OFFICE_USERNAME]
        rep_update(
            rep_id=rep.pk,
            actor=self.team.manager,
            fields={"out_of_office_until": self.absent_until},
        )

    def _is_absent(self, rep: Rep | None, at: dt.datetime) -> bool:
        return (
            rep is not None
            and rep.user.username == OUT_OF_OFFICE_USERNAME
            and self.absent_from is not None
            and at >= self.absent_from
        )

    def _manager_reassigns(self, at: dt.datetime) -> None:
        """Move the oldest pending handoff of the absent rep to the least-loaded available colleague."""
        absent = self.team.reps[OUT_OF_OFFICE_USERNAME]
        handoff = (
            Handoff.objects.filter(rep=absent, status=HandoffStatus.PENDING)
            .order_by("due_at", "id")
            .first()
        )
        if handoff is None:
            return
        load = RoutingLoad.current()
        colleagues = sorted(
            (rep for rep in self.team.reps.values() if rep.pk != absent.pk),
            key=lambda rep: (load.open_for(rep), rep.pk),
        )
        for rep in colleagues:
            if availability_problem(rep, today=at.date(), load=load, excluded=()) is None:
                handoff_reassign(
                    handoff_id=handoff.pk,
                    actor=self.team.manager,
                    to_rep_id=rep.pk,
                    note=texts.reassign_note(absent.display_name, self.absent_until),
                    now=at,
                )
                return


def _draw(rng: random.Random, weights: dict[Choice, int]) -> Choice:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _wednesday_next_week(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=7 - today.weekday() + 2)


def _working_day(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def demo_handoff_ids() -> set[int]:
    """Return the ids of the handoffs the demo sent and of those that replaced them on reassignment."""
    ids = set(Handoff.objects.filter(sent_rule=RULE_DEMO).values_list("pk", flat=True))
    frontier = set(ids)
    while frontier:
        frontier = (
            set(Handoff.objects.filter(previous_id__in=frontier).values_list("pk", flat=True)) - ids
        )
        ids |= frontier
    return ids


def story_counts(*, now: dt.datetime) -> dict[str, int]:
    """Count the demo's handoffs by state, as of `now`."""
    demo = Handoff.objects.filter(pk__in=demo_handoff_ids())
    pending = demo.filter(status=HandoffStatus.PENDING)
    accepted = demo.filter(status=HandoffStatus.ACCEPTED)
    return {
        "pending": pending.count(),
        "overdue": pending.filter(rep__isnull=False, due_at__lte=now).count(),
        "queued": pending.filter(rep__isnull=True).count(),
        "open_sqls": accepted.filter(outcome="").count(),
        "won": accepted.filter(outcome=Outcome.WON).count(),
        "lost": accepted.filter(outcome=Outcome.LOST).count(),
        "rejected": demo.filter(status=HandoffStatus.REJECTED).count(),
        "withdrawn": demo.filter(status=HandoffStatus.WITHDRAWN).count(),
        "reassigned": demo.filter(status=HandoffStatus.REASSIGNED).count(),
    }
