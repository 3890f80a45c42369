"""Simulation of a rule set against the current leads: what publishing it would change.

A simulation scores every lead with the rule set as a publish would, and
compares the result with the scores stored now. It writes nothing but its
own Simulation row: each chunk is read in a read-only transaction that is
rolled back, and nothing is enqueued for the leads. On PostgreSQL a chunk is
one SELECT built from the rescore's scoring query (scoring.sql); on SQLite
the Python scorer runs per chunk.

The stored result has this shape:

    {"now": ISO time, "leads": count, "thresholds": {...}, "enter": count, "leave": count,
     "histograms": {"fit_before": [12 counts], "fit_after": [...], "engagement_before": [...],
                    "engagement_after": [...]},
     "movers": [{"lead_id", "direction", "status", "fit_before", "fit_after",
                 "engagement_before", "engagement_after", "fast_track", "rules": [...]}],
     "history": {"accepted": {"total", "draft", "baseline"}, "rejected": {...}, ...}}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from leadflow.celery import app as celery_app
from leads.models import Account, EngagementEvent, Lead, LeadStatus, StatusChange
from scoring.engine import (
    ACCOUNT_VALUE_FIELDS,
    LEAD_VALUE_FIELDS,
    ScoreResult,
    lead_values,
    score_lead,
)
from scoring.errors import SimulationNotFound
from scoring.models import RuleSet, Simulation
from scoring.rules import CompiledRuleSet, compile_ruleset
from scoring.selectors import ruleset_active, ruleset_by_version
from scoring.services import events_by_lead
from scoring.sql import HISTOGRAM_BUCKETS, HISTOGRAM_SERIES, build_simulation_statement

logger = logging.getLogger(__name__)

# Up to this many leads a simulation runs in the request; above, a Celery task runs it.
SIMULATION_INLINE_MAX_LEADS = 2000
# Leads per read-only SELECT on PostgreSQL. The statement returns only counts and a few ids,
# so a chunk costs the database about 0.2 s per 1,000 leads and the worker almost nothing.
SIMULATION_CHUNK_SIZE_SQL = 10_000
# Leads per chunk of the Python scorer, whose inputs are held in memory.
SIMULATION_CHUNK_SIZE_PYTHON = 500
# Leads listed per direction, each with the rules that moved it.
MOVERS_SAMPLE_SIZE = 20
MOVER_RULES_SHOWN = 6
# Past sales decisions replayed by the what-if, newest first; each costs a Python scoring.
HISTORY_MAX_DECISIONS = 1000
HISTORY_BATCH_SIZE = 200
SIMULATE_TASK = "scoring.simulate"

BUCKET_LABELS = ["< 0", *(f"{low}-{low + 9}" for low in range(0, 100, 10)), "≥ 100"]


def histogram_bucket(score: float) -> int:
    """Number a score's histogram bucket: 0 below zero, then one per ten points, 11 from 100."""
    if score < 0:
        return 0
    if score >= 100:
        return HISTOGRAM_BUCKETS - 1
    return int(score // 10) + 1


@dataclass
class _Tally:
    """Counts of the chunks simulated so far."""

    leads: int = 0
    enter: int = 0
    leave: int = 0
    enter_ids: list[int] = field(default_factory=list)
    leave_ids: list[int] = field(default_factory=list)
    histograms: dict[str, list[int]] = field(
        default_factory=lambda: {series: [0] * HISTOGRAM_BUCKETS for series in HISTOGRAM_SERIES}
    )

    def add_sample(self, direction: str, lead_ids: Sequence[int]) -> None:
        sample = self.enter_ids if direction == "enter" else self.leave_ids
        sample.extend(lead_ids[: MOVERS_SAMPLE_SIZE - len(sample)])


# Starting and running.


def simulation_start(
    *, version: int, actor: AbstractBaseUser | None = None, inline_max_leads: int | None = None
) -> Simulation:
    """Simulate a rule-set version against every lead; small sets now, large ones in a task.

    Raises InvalidRuleSet when the stored rules do not compile. Returns the
    simulation, done when it ran in this call, else queued with its task
    enqueued after commit.
    """
    ruleset = ruleset_by_version(version)
    compile_ruleset(ruleset)
    active = ruleset_active()
    total = Lead.objects.count()

    simulation = Simulation.objects.create(
        ruleset=ruleset,
        ruleset_revision=ruleset.revision,
        baseline_version=active.version if active is not None else None,
        total_leads=total,
        requested_by=_user(actor),
    )
    logger.info(
        "Simulation %s of rule set version %s requested for %s leads",
        simulation.pk,
        ruleset.version,
        total,
        extra={"simulation_id": simulation.pk, "ruleset_id": ruleset.pk},
    )

    limit = SIMULATION_INLINE_MAX_LEADS if inline_max_leads is None else inline_max_leads
    if total <= limit:
        return simulation_run(simulation_id=simulation.pk)
    transaction.on_commit(lambda: _enqueue_simulation(simulation.pk))
    return simulation


def _enqueue_simulation(simulation_id: int) -> None:
    try:
        celery_app.signature(SIMULATE_TASK, args=[simulation_id]).apply_async()
    except (BrokerError, OSError):
        logger.warning(
            "Could not enqueue simulation %s; it is marked failed", simulation_id, exc_info=True
        )
        Simulation.objects.filter(pk=simulation_id).update(
            status=Simulation.Status.FAILED,
            error="The task queue is not reachable; run the simulation again later.",
            finished_at=timezone.now(),
        )


def simulation_run(*, simulation_id: int, chunk_size: int | None = None) -> Simulation:
    """Run a queued simulation chunk by chunk, saving progress after each; safe to run twice.

    A simulation that another call already finished or started is returned
    unchanged, so a task delivered twice does the work once.
    """
    simulation = _simulation_begin(simulation_id)
    if simulation.status != Simulation.Status.RUNNING:
        return simulation

    started = time.monotonic()
    try:
        result = _simulate(simulation, chunk_size)
    except Exception as error:
        logger.exception(
            "Simulation %s failed", simulation_id, extra={"simulation_id": simulation_id}
        )
        Simulation.objects.filter(pk=simulation_id).update(
            status=Simulation.Status.FAILED,
            error=f"{type(error).__name__}: {error}",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        raise

    Simulation.objects.filter(pk=simulation_id).update(
        status=Simulation.Status.DONE,
        result=result,
        done_leads=result["leads"],
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    logger.info(
        "Simulation %s done in %.1f s: %s leads, %s would enter MQL, %s would leave",
        simulation_id,
        time.monotonic() - started,
        result["leads"],
        result["enter"],
        result["leave"],
        extra={"simulation_id": simulation_id},
    )
    return Simulation.objects.select_related("ruleset").get(pk=simulation_id)


def _simulation_begin(simulation_id: int) -> Simulation:
    with transaction.atomic():
        simulation = (
            Simulation.objects.select_for_update(of=("self",))
            .select_related("ruleset")
            .filter(pk=simulation_id)
            .first()
        )
        if simulation is None:
            raise SimulationNotFound(f"Simulation {simulation_id} does not exist.")
        if simulation.status != Simulation.Status.QUEUED:
            return simulation
        simulation.status = Simulation.Status.RUNNING
        simulation.started_at = timezone.now()
        simulation.save(update_fields=["status", "started_at", "updated_at"])
    return simulation


def _simulate(simulation: Simulation, chunk_size: int | None) -> dict[str, Any]:
    compiled = compile_ruleset(simulation.ruleset)
    baseline = _baseline(simulation)
    now = timezone.now()
    on_postgres = connection.vendor == "postgresql"
    size = chunk_size or (
        SIMULATION_CHUNK_SIZE_SQL if on_postgres else SIMULATION_CHUNK_SIZE_PYTHON
    )
    statement = (
        build_simulation_statement(compiled, sample_size=MOVERS_SAMPLE_SIZE)
        if on_postgres
        else None
    )

    tally = _Tally()
    max_id = Lead.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    last_id = 0
    while last_id < max_id:
        first_id = last_id + 1
        last_id = _chunk_end(first_id, size) or max_id
        with _read_only():
            if statement is not None:
                _tally_sql_rows(
                    tally, statement.execute(first_id=first_id, last_id=last_id, now=now)
                )
            else:
                _tally_python_chunk(tally, compiled, first_id, last_id, now)
        Simulation.objects.filter(pk=simulation.pk).update(
            done_leads=tally.leads, updated_at=timezone.now()
        )

    with _read_only():
        movers = _mover_details(compiled, "enter", tally.enter_ids, now)
        movers += _mover_details(compiled, "leave", tally.leave_ids, now)
        history = _history_what_if(compiled, baseline)

    return {
        "now": now.isoformat(),
        "leads": tally.leads,
        "thresholds": _thresholds(compiled, baseline),
        "enter": tally.enter,
        "leave": tally.leave,
        "histograms": tally.histograms,
        "bucket_labels": BUCKET_LABELS,
        "movers": movers,
        "history": history,
    }


def _baseline(simulation: Simulation) -> CompiledRuleSet | None:
    if simulation.baseline_version is None:
        return None
    baseline = RuleSet.objects.filter(version=simulation.baseline_version).first()
    return compile_ruleset(baseline) if baseline is not None else None


def _chunk_end(first_id: int, size: int) -> int | None:
    """Return the id of the chunk's last lead, or None when fewer than `size` leads remain."""
    return (
        Lead.objects.filter(pk__gte=first_id)
        .order_by("pk")
        .values_list("pk", flat=True)[size - 1 : size]
        .first()
    )


@contextmanager
def _read_only() -> Iterator[None]:
    """Run the block in a transaction that is rolled back, read-only too where possible.

    PostgreSQL accepts SET TRANSACTION READ ONLY only as the first statement
    of a transaction, so inside a caller's transaction (an API request) the
    rollback of the savepoint is the guard.
    """
    outer = connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and not outer:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
        yield
        transaction.set_rollback(True)


# One chunk.


def _tally_sql_rows(
    tally: _Tally, rows: list[tuple[str, int | None, int, list[int] | None]]
) -> None:
    for series, bucket, count, lead_ids in rows:
        if series in ("enter", "leave"):
            if series == "enter":
                tally.enter += count
            else:
                tally.leave += count
            tally.add_sample(series, lead_ids or [])
            continue
        assert bucket is not None, "histogram rows always carry a bucket"
        tally.histograms[series][bucket] += count
        if series == "fit_before":
            tally.leads += count


def _tally_python_chunk(
    tally: _Tally, compiled: CompiledRuleSet, first_id: int, last_id: int, now: datetime
) -> None:
    leads = list(_leads_for_simulation().filter(pk__gte=first_id, pk__lte=last_id).order_by("pk"))
    results = _score_python(compiled, leads, now)
    enter_ids: list[int] = []
    leave_ids: list[int] = []
    for lead in leads:
        result = results[lead.pk]
        tally.leads += 1
        for series, score in (
            ("fit_before", lead.fit_score),
            ("fit_after", result.fit_score),
            ("engagement_before", lead.engagement_score),
            ("engagement_after", result.engagement_score),
        ):
            tally.histograms[series][histogram_bucket(score)] += 1
        qualifies = qualifies_under(compiled, result)
        if lead.may_enter and qualifies:
            enter_ids.append(lead.pk)
        elif lead.status == LeadStatus.MQL and not qualifies:
            leave_ids.append(lead.pk)
    tally.enter += len(enter_ids)
    tally.leave += len(leave_ids)
    tally.add_sample("enter", enter_ids)
    tally.add_sample("leave", leave_ids)


def _leads_for_simulation() -> Any:
    """Leads with the values the scorer reads and whether they may enter MQL, as _qualify decides."""
    newer_event = EngagementEvent.objects.filter(
        lead=OuterRef("pk"), occurred_at__gt=OuterRef("status_changed_at")
    )
    may_enter = Q(status=LeadStatus.NEW) | (
        Q(status=LeadStatus.NURTURE) & (Q(status_changed_at__isnull=True) | Exists(newer_event))
    )
    return Lead.objects.only(
        "pk",
        "account_id",
        "status",
        "status_changed_at",
        "fit_score",
        "engagement_score",
        "score_breakdown",
        *LEAD_VALUE_FIELDS,
    ).annotate(may_enter=may_enter)


def _score_python(
    compiled: CompiledRuleSet,
    leads: Sequence[Lead],
    now: datetime,
    *,
    as_of: dict[int, datetime] | None = None,
) -> dict[int, ScoreResult]:
    """Score leads with the Python scorer as of `now`, or each as of its `as_of` time."""
    account_ids = {lead.account_id for lead in leads if lead.account_id is not None}
    accounts = {
        row["pk"]: row
        for row in Account.objects.filter(pk__in=account_ids).values("pk", *ACCOUNT_VALUE_FIELDS)
    }
    # As of several moments, load from the earliest moment's windows up to the latest moment.
    load_now = min(as_of.values()) if as_of else now
    until = max(as_of.values()) if as_of else None
    events = events_by_lead(compiled, [lead.pk for lead in leads], load_now, until=until)

    results = {}
    for lead in leads:
        lead_now = as_of[lead.pk] if as_of else now
        lead_events = [
            event
            for event in events.get(lead.pk, [])
            if as_of is None or event.occurred_at <= lead_now
        ]
        results[lead.pk] = score_lead(
            compiled,
            lead=lead_values(lead),
            account=accounts.get(lead.account_id) if lead.account_id is not None else None,
            events=lead_events,
            now=lead_now,
        )
    return results


def qualifies_under(compiled: CompiledRuleSet, result: ScoreResult) -> bool:
    """Tell whether scores pass the rule set's MQL test: fit, and engagement or a fast track."""
    return result.fit_score >= compiled.fit_threshold and (
        result.engagement_score >= compiled.engagement_threshold or result.fast_track is not None
    )


# Details of the result.


def _mover_details(
    compiled: CompiledRuleSet, direction: str, lead_ids: list[int], now: datetime
) -> list[dict[str, Any]]:
    """Describe the sampled leads that move, with the rules whose points changed most."""
    if not lead_ids:
        return []
    leads = list(_leads_for_simulation().filter(pk__in=lead_ids).order_by("pk"))
    results = _score_python(compiled, leads, now)
    movers = []
    for lead in leads:
        result = results[lead.pk]
        movers.append(
            {
                "lead_id": lead.pk,
                "direction": direction,
                "status": lead.status,
                "fit_before": lead.fit_score,
                "fit_after": result.fit_score,
                "engagement_before": lead.engagement_score,
                "engagement_after": result.engagement_score,
                "fast_track": result.fast_track is not None,
                "rules": rule_moves(lead.score_breakdown or {}, result.breakdown),
            }
        )
    return movers


def rule_moves(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """List the rules whose points differ between two breakdowns, largest change first."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for side, breakdown in (("before", before), ("after", after)):
        for section in ("fit", "engagement"):
            for entry in breakdown.get(section) or []:
                row = rows.setdefault(
                    (section, entry["rule"]),
                    {
                        "rule": entry["rule"],
                        "label": entry.get("label") or entry["rule"],
                        "section": section,
                        "before": 0,
                        "after": 0,
                    },
                )
                row[side] = entry.get("points") or 0
                if side == "after":
                    row["label"] = entry.get("label") or entry["rule"]
    moved = [row for row in rows.values() if row["before"] != row["after"]]
    moved.sort(key=lambda row: (-abs(row["after"] - row["before"]), row["rule"]))
    return moved[:MOVER_RULES_SHOWN]


def _thresholds(compiled: CompiledRuleSet, baseline: CompiledRuleSet | None) -> dict[str, Any]:
    return {
        "fit": compiled.fit_threshold,
        "engagement": compiled.engagement_threshold,
        "baseline_fit": baseline.fit_threshold if baseline else None,
        "baseline_engagement": baseline.engagement_threshold if baseline else None,
    }


# What-if against past sales decisions.

ACCEPTED = "accepted"
REJECTED = "rejected"
REJECT_RULE = "handoff.reject"


def _history_what_if(compiled: CompiledRuleSet, baseline: CompiledRuleSet | None) -> dict[str, Any]:
    """Count how many leads that sales accepted or rejected would have qualified under the rules.

    Each lead is scored as of the moment it last became MQL before the
    decision, with the events up to then. Lead and account fields are read as
    they are today, because their history is not kept.
    """
    decisions = _latest_decisions()
    as_of = _mql_moments(decisions)
    outcome_by_lead = {lead_id: outcome for lead_id, (outcome, _) in decisions.items()}
    summary: dict[str, Any] = {
        outcome: {"total": 0, "draft": 0, "baseline": 0} for outcome in (ACCEPTED, REJECTED)
    }
    lead_ids = sorted(decisions)
    for start in range(0, len(lead_ids), HISTORY_BATCH_SIZE):
        batch = list(
            Lead.objects.filter(pk__in=lead_ids[start : start + HISTORY_BATCH_SIZE])
            .only("pk", "account_id", *LEAD_VALUE_FIELDS)
            .order_by("pk")
        )
        moments = {lead.pk: as_of[lead.pk] for lead in batch}
        draft_results = _score_python(compiled, batch, timezone.now(), as_of=moments)
        baseline_results = (
            _score_python(baseline, batch, timezone.now(), as_of=moments) if baseline else {}
        )
        for lead in batch:
            counts = summary[outcome_by_lead[lead.pk]]
            counts["total"] += 1
            counts["draft"] += qualifies_under(compiled, draft_results[lead.pk])
            if baseline is not None:
                counts["baseline"] += qualifies_under(baseline, baseline_results[lead.pk])

    summary["has_baseline"] = baseline is not None
    summary["limit"] = HISTORY_MAX_DECISIONS
    summary["limited"] = len(decisions) >= HISTORY_MAX_DECISIONS
    return summary


def _latest_decisions() -> dict[int, tuple[str, datetime]]:
    """Return each decided lead's latest decision, for the HISTORY_MAX_DECISIONS newest leads.

    An acceptance is a move from MQL to SQL (the handoff's accept records it
    with rule handoff.accept); a rejection is a status change with rule
    handoff.reject.
    """
    accepted = Q(from_status=LeadStatus.MQL, to_status=LeadStatus.SQL)
    rejected = Q(rule=REJECT_RULE)
    decisions: dict[int, tuple[str, datetime]] = {}
    rows = (
        StatusChange.objects.filter(accepted | rejected)
        .order_by("-created_at", "-id")
        .values_list("lead_id", "rule", "created_at")
        .iterator(chunk_size=1000)
    )
    for lead_id, rule, created_at in rows:
        if lead_id in decisions:
            continue
        outcome = REJECTED if rule == REJECT_RULE else ACCEPTED
        decisions[lead_id] = (outcome, created_at)
        if len(decisions) >= HISTORY_MAX_DECISIONS:
            break
    return decisions


def _mql_moments(decisions: dict[int, tuple[str, datetime]]) -> dict[int, datetime]:
    """Return, per lead, when it last became MQL before its decision; else the decision time."""
    moments = {lead_id: decided_at for lead_id, (_, decided_at) in decisions.items()}
    became_mql = StatusChange.objects.filter(
        lead_id__in=list(decisions), to_status=LeadStatus.MQL
    ).values_list("lead_id", "created_at")
    latest: dict[int, datetime] = {}
    for lead_id, created_at in became_mql:
        decided_at = decisions[lead_id][1]
        if created_at <= decided_at and (lead_id not in latest or created_at > latest[lead_id]):
            latest[lead_id] = created_at
    moments.update(latest)
    return moments


def _user(actor: AbstractBaseUser | None) -> Any:
    return actor if actor is not None and actor.is_authenticated else None
