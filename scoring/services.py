"""Every change of state that scoring makes: rule-set versions, lead scores and MQL qualification.

Scores are always recomputed from the current rule set, lead, account and
events, never adjusted by a delta, so each function here is safe to run twice
or concurrently. Tasks, commands and the admin call these functions.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.contrib.auth.models import AbstractBaseUser
from django.db import OperationalError, connection, transaction
from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from leadflow.celery import app as celery_app
from leadflow.errors import ConflictError
from leads.errors import IllegalTransition
from leads.models import Account, EngagementEvent, Lead, LeadStatus
from leads.services import enqueue_rescore, lead_transition
from scoring.engine import (
    ACCOUNT_VALUE_FIELDS,
    LEAD_VALUE_FIELDS,
    EventValues,
    lead_values,
    score_lead,
)
from scoring.errors import NoActiveRuleSet, RescoreRunNotFound, RuleSetNotFound
from scoring.models import RescoreRun, RuleSet, RuleSetChange, Simulation
from scoring.rules import CompiledRuleSet, compile_ruleset, document_from_ruleset
from scoring.rules.diff import describe_changes
from scoring.rulesets import ruleset_change_record, ruleset_import
from scoring.selectors import ruleset_active
from scoring.sql import (
    RescoreStatement,
    build_rescore_statement,
    build_staging_statement,
    events_since,
    refresh_account_rollups_sql,
    staging_table_complete,
    staging_table_drop,
    staging_table_name,
)

logger = logging.getLogger(__name__)

__all__ = [
    "RescoreResult",
    "leads_rescore",
    "rescore_all",
    "rescore_run_create",
    "rescore_run_execute",
    "ruleset_active",
    "ruleset_load",
    "ruleset_publish",
    "stale_scores_enqueue",
]

# Leads per transaction of incremental scoring. Their rows stay locked while the batch's events
# are loaded and scored in Python: 0.2 to 0.3 s for 200 leads with 20 events each and the
# default rule set (docs/benchmarks/scoring.md, 2 CPUs).
RESCORE_BATCH_SIZE = 200
# Leads per chunk of a full rescore. On PostgreSQL a chunk's UPDATE from the staging table keeps
# the chunk's rows locked until it commits. With the rescore benchmark's data (2 CPUs), a chunk of
# 5,000 leads took about 0.4 s. Chunks of 2,000 cost a quarter more time per lead, and chunks of
# 10,000 or 20,000 cost no less than 5,000.
RESCORE_CHUNK_SIZE = 5000
# Accounts per transaction of the roll-up refresh after a full rescore: about 0.3 s each on
# PostgreSQL with four leads per account.
ROLLUP_CHUNK_SIZE = 10_000
# Stale leads the periodic sweep enqueues per run, as RESCORE_BATCH_SIZE-lead tasks.
SWEEP_MAX_LEADS = 5000
# A queued or running rescore run without progress for this long is enqueued again.
RESCORE_RUN_STALL_SECONDS = 600

QUALIFY_RULE_THRESHOLDS = "scoring.thresholds"
QUALIFY_RULE_FAST_TRACK = "scoring.fast_track"


@dataclass(frozen=True)
class RescoreResult:
    scored: int
    entered_mql: int
    missing: list[int]


# Rule sets.


def ruleset_load(
    *,
    document: Any,
    actor: AbstractBaseUser | None = None,
    publish: bool = False,
    source: str = "",
) -> RuleSet:
    """Store a validated rule-set document as the next version, a draft unless `publish`.

    Publishing archives the previous published version in the same transaction
    and starts a full rescore after commit. Raises InvalidRuleSet with the
    errors by path; nothing is stored then. `source` names the file in the history.
    """
    with transaction.atomic():
        ruleset = ruleset_import(document=document, actor=actor, source=source)
        if publish:
            ruleset_publish(ruleset_id=ruleset.pk, actor=actor)
            ruleset.refresh_from_db()

    logger.info(
        "Loaded rule set %s as version %s (%s)",
        ruleset.pk,
        ruleset.version,
        ruleset.status,
        extra={"ruleset_id": ruleset.pk},
    )
    return ruleset


def ruleset_publish(*, ruleset_id: int, actor: AbstractBaseUser | None = None) -> RescoreRun:
    """Make a draft or archived rule set the active one and start a full rescore after commit.

    The previously published version is archived in the same transaction, so
    exactly one version is active at any moment. Returns the queued run.
    """
    user = _user(actor)
    with transaction.atomic():
        ruleset = RuleSet.objects.select_for_update().filter(pk=ruleset_id).first()
        if ruleset is None:
            raise RuleSetNotFound(f"Rule set {ruleset_id} does not exist.")
        if ruleset.status == RuleSet.Status.PUBLISHED:
            raise ConflictError(
                f"Rule set version {ruleset.version} is already published; nothing to do."
            )
        # The stored rules may have been edited since they were loaded; never publish invalid ones.
        compile_ruleset(ruleset)

        previous_rulesets = list(
            RuleSet.objects.select_for_update().filter(status=RuleSet.Status.PUBLISHED)
        )
        previous = [item.pk for item in previous_rulesets]
        RuleSet.objects.filter(pk__in=previous).update(
            status=RuleSet.Status.ARCHIVED, updated_by=user, updated_at=timezone.now()
        )
        ruleset.status = RuleSet.Status.PUBLISHED
        ruleset.published_at = timezone.now()
        ruleset.published_by = user
        ruleset.updated_by = user
        ruleset.save(
            update_fields=["status", "published_at", "published_by", "updated_by", "updated_at"]
        )
        run = rescore_run_create(ruleset=ruleset, actor=actor)
        ruleset_change_record(
            ruleset=ruleset,
            action=RuleSetChange.Action.PUBLISHED,
            actor=actor,
            details=_publish_details(ruleset, previous_rulesets, run),
        )

    logger.info(
        "Published rule set version %s, archived %s, rescore run %s queued",
        ruleset.version,
        previous,
        run.pk,
        extra={"ruleset_id": ruleset.pk, "rescore_run_id": run.pk},
    )
    return run


def _publish_details(
    ruleset: RuleSet, previous_rulesets: list[RuleSet], run: RescoreRun
) -> list[str]:
    details = [f"published v{ruleset.version}; full rescore run {run.pk} queued"]
    for previous in previous_rulesets:
        details.append(f"archived v{previous.version}")
        changes = describe_changes(document_from_ruleset(previous), document_from_ruleset(ruleset))
        details += [f"against v{previous.version}: {line}" for line in changes]
    return details


def rescore_run_create(*, ruleset: RuleSet, actor: AbstractBaseUser | None = None) -> RescoreRun:
    """Queue a full rescore of every lead with `ruleset`; the task is enqueued after commit."""
    run = RescoreRun.objects.create(ruleset=ruleset, triggered_by=_user(actor))
    transaction.on_commit(lambda: _enqueue_rescore_all(run.pk))
    return run


def _enqueue_rescore_all(run_id: int) -> None:
    try:
        celery_app.signature("scoring.rescore_all", args=[run_id]).apply_async()
    except (BrokerError, OSError):
        # The run stays queued in the database; the sweep enqueues stalled runs again.
        logger.warning(
            "Could not enqueue rescore run %s; the sweep will retry", run_id, exc_info=True
        )


def _user(actor: AbstractBaseUser | None) -> Any:
    return actor if actor is not None and actor.is_authenticated else None


# Incremental scoring.


def leads_rescore(*, lead_ids: Iterable[int], now: datetime | None = None) -> RescoreResult:
    """Recompute the scores of the leads with the active rule set and qualify those that pass.

    Works in batches of RESCORE_BATCH_SIZE, each in one transaction. On
    PostgreSQL a batch is one set-based UPDATE, the full rescore's statement
    by lead ids. It leaves alone a score that a newer run already wrote, and
    a lead marked stale after its snapshot, because that lead's own task
    follows. Elsewhere the Python scorer locks the batch's lead rows before
    reading their events.
    Either way concurrent runs for one lead leave the newest state. Ids that
    no longer exist are returned in `missing`.
    """
    ids = sorted(set(lead_ids))
    ruleset = ruleset_active()
    if ruleset is None:
        logger.warning("No published rule set; %s leads stay stale", len(ids))
        return RescoreResult(scored=0, entered_mql=0, missing=[])
    compiled = compile_ruleset(ruleset)
    statement = (
        build_rescore_statement(compiled, by_ids=True)
        if connection.vendor == "postgresql"
        else None
    )

    scored = entered = 0
    missing: list[int] = []
    for start in range(0, len(ids), RESCORE_BATCH_SIZE):
        batch = ids[start : start + RESCORE_BATCH_SIZE]
        with transaction.atomic():
            if statement is not None:
                written = statement.execute(lead_ids=batch, now=now or timezone.now())
            else:
                written = _score_leads_python(compiled, batch, now or timezone.now())
            batch_entered = _qualify(compiled, Lead.objects.filter(pk__in=written))
            _refresh_rollups_of_leads(written)
            _commit_without_flush_wait_unless(moved=batch_entered)
        entered += batch_entered
        scored += len(written)
        missing += _missing(batch, written)
        transaction.on_commit(functools.partial(_enqueue_auto_handoff, written))

    logger.info(
        "Rescored %s leads with rule set version %s, %s entered MQL, %s missing",
        scored,
        compiled.version,
        entered,
        len(missing),
    )
    return RescoreResult(scored=scored, entered_mql=entered, missing=missing)


AUTO_HANDOFF_TASK = "handoff.auto_handoff"


def _enqueue_auto_handoff(lead_ids: list[int]) -> None:
    """Let the handoff app check its SQL-readiness rule for freshly scored leads.

    Sent by task name because handoff depends on scoring, not the other way round. Only
    incremental scoring sends it: a full rescore after a publish must not hand leads off.
    """
    if not lead_ids or AUTO_HANDOFF_TASK not in celery_app.tasks:
        return
    try:
        celery_app.signature(AUTO_HANDOFF_TASK, args=[lead_ids]).apply_async()
    except (BrokerError, OSError):
        logger.warning("Could not enqueue the automatic handoff check of %s leads", len(lead_ids))


def _commit_without_flush_wait_unless(*, moved: int) -> None:
    """Let a transaction that wrote only scores commit without waiting for its WAL flush.

    Scores, roll-ups and a rescore run's progress are derived from the events
    and written again by the next scoring. If PostgreSQL crashes before the
    flush, the leads come back stale, as their ingest left them, so the sweep
    scores them again. A run resumes from an earlier chunk. A transaction that
    moved leads to MQL waits for the flush as usual, because its audit rows
    and webhooks must not be lost. Later flushed commits cover earlier ones,
    since the WAL is written in order.
    """
    # Inside a caller's transaction the setting would cover the caller's writes too.
    outermost = not connection.savepoint_ids
    if moved == 0 and outermost and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _missing(batch: list[int], written: list[int]) -> list[int]:
    """Return the ids of the batch that no lead has; a lead left unwritten may still exist."""
    unwritten = set(batch) - set(written)
    if not unwritten:
        return []
    existing = set(Lead.objects.filter(pk__in=unwritten).values_list("pk", flat=True))
    return sorted(unwritten - existing)


def _refresh_rollups_of_leads(lead_ids: list[int]) -> None:
    if connection.vendor != "postgresql":
        _refresh_account_rollups(Lead.objects.filter(pk__in=lead_ids))
        return
    account_ids = sorted(
        set(
            Lead.objects.filter(pk__in=lead_ids, account__isnull=False).values_list(
                "account_id", flat=True
            )
        )
    )
    if account_ids:
        refresh_account_rollups_sql(account_ids=account_ids)


def _score_leads_python(
    compiled: CompiledRuleSet, lead_ids: Sequence[int], now: datetime
) -> list[int]:
    """Lock, score and write the leads with the Python scorer in four queries; return their ids."""
    leads = list(
        Lead.objects.select_for_update(of=("self",))
        .filter(pk__in=lead_ids)
        .order_by("pk")
        .only("pk", "account_id", *LEAD_VALUE_FIELDS)
    )
    if not leads:
        return []
    account_ids = {lead.account_id for lead in leads if lead.account_id is not None}
    accounts = {
        row["pk"]: row
        for row in Account.objects.filter(pk__in=account_ids).values("pk", *ACCOUNT_VALUE_FIELDS)
    }
    events = events_by_lead(compiled, [lead.pk for lead in leads], now)

    for lead in leads:
        result = score_lead(
            compiled,
            lead=lead_values(lead),
            account=accounts.get(lead.account_id) if lead.account_id is not None else None,
            events=events.get(lead.pk, []),
            now=now,
        )
        lead.fit_score = result.fit_score
        lead.engagement_score = result.engagement_score
        lead.ruleset_version = compiled.version
        lead.score_breakdown = result.breakdown
        lead.scored_at = now
        lead.score_stale = False
    Lead.objects.bulk_update(
        leads,
        [
            "fit_score",
            "engagement_score",
            "ruleset_version",
            "score_breakdown",
            "scored_at",
            "score_stale",
        ],
    )
    return [lead.pk for lead in leads]


def events_by_lead(
    compiled: CompiledRuleSet,
    lead_ids: list[int],
    now: datetime,
    *,
    until: datetime | None = None,
) -> dict[int, list[EventValues]]:
    """Load the events of the leads that the rule set can count at `now`, grouped by lead.

    `until` leaves out events that occurred after it, for scoring as of a past moment.
    """
    kinds = {kind for rule in compiled.engagement_rules for kind in rule.kinds}
    kinds |= set(compiled.fast_track_kinds)
    queryset = EngagementEvent.objects.filter(lead_id__in=lead_ids, kind__in=kinds)
    since = events_since(compiled)
    if since is not None:
        queryset = queryset.filter(occurred_at__gte=now - since)
    if until is not None:
        queryset = queryset.filter(occurred_at__lte=until)

    events: dict[int, list[EventValues]] = {}
    for lead_id, event_id, kind, url, asset, campaign, occurred_at in queryset.values_list(
        "lead_id", "id", "kind", "url", "asset", "campaign", "occurred_at"
    ):
        events.setdefault(lead_id, []).append(
            EventValues(event_id, kind, url, asset, campaign, occurred_at)
        )
    return events


def _refresh_account_rollups(leads: QuerySet[Lead]) -> None:
    """Recompute the engagement roll-up of the accounts of `leads` from all their leads."""
    # Locking in id order keeps two batches that share accounts from deadlocking.
    account_ids = list(
        Account.objects.select_for_update()
        .filter(pk__in=leads.exclude(account=None).values("account_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    account_leads = Lead.objects.filter(account=OuterRef("pk")).values("account")
    Account.objects.filter(pk__in=account_ids).update(
        engagement_score=Coalesce(
            Subquery(account_leads.annotate(total=Sum("engagement_score")).values("total")),
            Value(0.0),
            output_field=FloatField(),
        ),
        engaged_contacts=Coalesce(
            Subquery(
                account_leads.filter(engagement_score__gt=0)
                .annotate(count=Count("pk"))
                .values("count")
            ),
            Value(0),
        ),
    )


def accounts_rollup_refresh(*, chunk_size: int = ROLLUP_CHUNK_SIZE) -> int:
    """Recompute the engagement roll-up of every account from its leads; return accounts changed.

    Runs after the last chunk of a full rescore, which then needs one pass
    over the leads instead of a lookup per account and chunk. Each chunk of
    account ids is one transaction that locks its accounts in id order, the
    order incremental scoring locks them in too.
    """
    changed = 0
    last_id = 0
    while True:
        with transaction.atomic():
            ids = list(
                Account.objects.filter(pk__gt=last_id)
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk_size]
            )
            if not ids:
                return changed
            if connection.vendor == "postgresql":
                changed += refresh_account_rollups_sql(first_id=ids[0], last_id=ids[-1])
            else:
                _refresh_account_rollups(Lead.objects.filter(account_id__in=ids))
                changed += len(ids)
            last_id = ids[-1]


# Qualification.


def _qualify(compiled: CompiledRuleSet, leads: QuerySet[Lead]) -> int:
    """Move the leads among `leads` that pass the thresholds or fast track to MQL; return how many.

    Candidates are selected in one query. They are new leads, and nurture leads
    with an event newer than their move to nurture, that this rule set scored
    with fit at or above the threshold. Their engagement must reach its
    threshold too, unless they have a fast-track event. Scores below the
    thresholds never demote a lead.
    """
    newer_event = EngagementEvent.objects.filter(
        lead=OuterRef("pk"), occurred_at__gt=OuterRef("status_changed_at")
    )
    candidates = (
        leads.filter(ruleset_version=compiled.version, fit_score__gte=compiled.fit_threshold)
        .filter(
            Q(engagement_score__gte=compiled.engagement_threshold)
            | Q(score_breakdown__fast_track__event_id__isnull=False)
        )
        .filter(
            Q(status=LeadStatus.NEW)
            | (
                Q(status=LeadStatus.NURTURE)
                & (Q(status_changed_at__isnull=True) | Exists(newer_event))
            )
        )
        .order_by("pk")
        .values_list("pk", "status", "fit_score", "engagement_score", "score_breakdown")
    )

    entered = 0
    for lead_id, status, fit_score, engagement_score, breakdown in candidates:
        rule, reason = _qualification_reason(compiled, fit_score, engagement_score, breakdown)
        try:
            lead_transition(
                lead_id=lead_id,
                to_status=LeadStatus.MQL,
                rule=rule,
                reason=reason,
                ruleset_version=compiled.version,
                expected_from=status,
            )
        except IllegalTransition:
            # Another worker or a person changed the status since the candidates were read.
            logger.info("Lead %s changed status before qualification; skipped", lead_id)
            continue
        entered += 1
    return entered


def _qualification_reason(
    compiled: CompiledRuleSet, fit_score: int, engagement_score: float, breakdown: dict[str, Any]
) -> tuple[str, str]:
    fit = f"Fit {fit_score} ≥ threshold {compiled.fit_threshold}"
    version = f"rule set v{compiled.version}"
    if engagement_score >= compiled.engagement_threshold:
        return (
            QUALIFY_RULE_THRESHOLDS,
            f"{fit} and engagement {engagement_score:g} ≥ threshold "
            f"{compiled.engagement_threshold:g} ({version}).",
        )
    fast_track = breakdown["fast_track"]
    return (
        QUALIFY_RULE_FAST_TRACK,
        f"{fit} and fast-track {fast_track['kind']} event {fast_track['event_id']} within "
        f"{compiled.fast_track_window_days} days; engagement {engagement_score:g} is below "
        f"{compiled.engagement_threshold:g} ({version}).",
    )


# Full rescoring.


def rescore_all(
    *,
    run_id: int,
    chunk_size: int = RESCORE_CHUNK_SIZE,
    time_budget_seconds: float | None = None,
    progress: Callable[[RescoreRun], None] | None = None,
) -> RescoreRun:
    """Rescore every lead with the run's rule set in chunks of lead ids, resuming after the last one.

    On PostgreSQL the run first aggregates every lead's events in one
    statement into a staging table, as of the run's `as_of`. Each chunk's
    scores then come from an UPDATE that joins that table, split over two
    database connections for large chunks. Leads that are stale when their
    chunk runs may have events the table lacks, so they are scored from their
    events, in the transaction that qualifies the chunk's leads and records
    the run's progress. A crash loses at most the chunk in flight, which is
    scored again on resume. On SQLite the Python scorer runs per chunk, in
    one transaction with its qualification and progress. The account roll-ups are
    refreshed after the last chunk. Returns the run, which is still running
    when the time budget ran out after a chunk. A run whose rule set is no
    longer active fails as superseded.
    """
    deadline = None if time_budget_seconds is None else time.monotonic() + time_budget_seconds
    run = _rescore_run_start(run_id)
    if run.status != RescoreRun.Status.RUNNING:
        return run
    compiled = compile_ruleset(run.ruleset)

    # At least one chunk per call, so that every task makes progress however small its budget.
    try:
        statements = _rescore_statements(run, compiled)
        # A second connection reads only committed rows, so a rescore inside a transaction
        # (a test, or a caller's atomic block) writes every chunk through this connection.
        split = statements is not None and not connection.in_atomic_block
        with _second_connection(enabled=split) as helper:
            while True:
                run, finished = _rescore_chunk(run.pk, compiled, statements, chunk_size, helper)
                if progress is not None:
                    progress(run)
                if finished:
                    break
                if deadline is not None and time.monotonic() > deadline:
                    return run
    except (OperationalError, SoftTimeLimitExceeded):
        # Deadlocks, lost connections and a task out of time are worth a retry. The run stays
        # running and resumes after its last chunk, from the task's retry or the sweep.
        raise
    except Exception as error:
        logger.exception("Rescore run %s failed", run.pk, extra={"rescore_run_id": run.pk})
        _rescore_run_finish(
            run.pk, RescoreRun.Status.FAILED, error=f"{type(error).__name__}: {error}"
        )
        raise

    # A resumed run whose chunks were all done lands here directly and refreshes them again.
    accounts_rollup_refresh()
    run = _rescore_run_finish(run.pk, RescoreRun.Status.DONE)
    logger.info(
        "Rescore run %s done: %s leads, %s entered MQL",
        run.pk,
        run.done_leads,
        run.entered_mql,
        extra={"rescore_run_id": run.pk, "ruleset_id": run.ruleset_id},
    )
    return run


def rescore_run_execute(
    *,
    chunk_size: int = RESCORE_CHUNK_SIZE,
    resume_run_id: int | None = None,
    progress: Callable[[RescoreRun], None] | None = None,
    actor: AbstractBaseUser | None = None,
) -> RescoreRun:
    """Rescore every lead with the published rule set in this process, or resume a given run.

    Unlike a publish, this enqueues no task, so no worker competes for the
    chunks and `progress` is called after each one. Raises NoActiveRuleSet before any
    rule set is published.
    """
    if resume_run_id is None:
        ruleset = ruleset_active()
        if ruleset is None:
            raise NoActiveRuleSet(
                "No rule set is published; load one with manage.py load_ruleset --publish."
            )
        resume_run_id = RescoreRun.objects.create(ruleset=ruleset, triggered_by=_user(actor)).pk
    return rescore_all(run_id=resume_run_id, chunk_size=chunk_size, progress=progress)


def _rescore_run_start(run_id: int) -> RescoreRun:
    with transaction.atomic():
        run = (
            RescoreRun.objects.select_for_update(of=("self",))
            .select_related("ruleset")
            .filter(pk=run_id)
            .first()
        )
        if run is None:
            raise RescoreRunNotFound(f"Rescore run {run_id} does not exist.")
        if run.status in (RescoreRun.Status.DONE, RescoreRun.Status.FAILED):
            return run

        active = ruleset_active()
        if active is None or active.pk != run.ruleset_id:
            run.status = RescoreRun.Status.FAILED
            run.error = (
                f"Superseded: rule set version {run.ruleset.version} is no longer published"
                + (f"; version {active.version} is." if active else ".")
            )
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at", "updated_at"])
            if connection.vendor == "postgresql":
                staging_table_drop(staging_table_name(run.pk))
            logger.info("Rescore run %s superseded", run.pk, extra={"rescore_run_id": run.pk})
            return run

        if run.status == RescoreRun.Status.QUEUED:
            # Leads created later are scored by the incremental path with this same rule set.
            stats = Lead.objects.aggregate(count=Count("pk"), max_id=Max("pk"))
            run.status = RescoreRun.Status.RUNNING
            run.started_at = timezone.now()
            run.total_leads = stats["count"]
            run.max_lead_id = stats["max_id"] or 0
            run.save(
                update_fields=["status", "started_at", "total_leads", "max_lead_id", "updated_at"]
            )
            logger.info(
                "Rescore run %s started: %s leads up to id %s",
                run.pk,
                run.total_leads,
                run.max_lead_id,
                extra={"rescore_run_id": run.pk},
            )
    return run


@dataclass(frozen=True)
class _RescoreStatements:
    """The PostgreSQL statements of a full rescore run's chunks."""

    # Scores the chunk's leads that are not stale from the staging table, as of `as_of`.
    staged: RescoreStatement
    # Scores the chunk's stale leads from their events, by lead ids.
    by_ids: RescoreStatement
    as_of: datetime


def _rescore_statements(run: RescoreRun, compiled: CompiledRuleSet) -> _RescoreStatements | None:
    """Stage the run's event aggregates unless a complete staging table exists; None on SQLite."""
    if connection.vendor != "postgresql":
        return None
    table = staging_table_name(run.pk)
    with transaction.atomic():
        # The lock makes a second worker on the same run wait for the table instead of building it.
        run = RescoreRun.objects.select_for_update().get(pk=run.pk)
        if run.as_of is None or not staging_table_complete(table):
            _rescore_stage(run, compiled, table)
    assert run.as_of is not None, "the staging step sets as_of"
    return _RescoreStatements(
        staged=build_rescore_statement(compiled, staged_table=table),
        by_ids=build_rescore_statement(compiled, by_ids=True),
        as_of=run.as_of,
    )


def _rescore_stage(run: RescoreRun, compiled: CompiledRuleSet, table: str) -> None:
    """Aggregate every lead's events into `table` as of the run's `as_of`, set now if missing.

    A run resumed after PostgreSQL lost the table (it is UNLOGGED) builds it
    again with the same `as_of`. Leads that received events since then are
    stale or were scored later by incremental scoring, and chunks leave
    both kinds to that path.
    """
    started = time.monotonic()
    staging_table_drop(table)
    if run.as_of is None:
        run.as_of = timezone.now()
        run.save(update_fields=["as_of", "updated_at"])
    leads = build_staging_statement(compiled, table=table).execute(now=run.as_of)
    logger.info(
        "Rescore run %s aggregated the events of %s leads as of %s in %.1f s",
        run.pk,
        leads,
        run.as_of.isoformat(),
        time.monotonic() - started,
        extra={"rescore_run_id": run.pk},
    )


def _rescore_chunk(
    run_id: int,
    compiled: CompiledRuleSet,
    statements: _RescoreStatements | None,
    chunk_size: int,
    helper: ThreadPoolExecutor | None = None,
) -> tuple[RescoreRun, bool]:
    """Rescore the next chunk after the run's last lead id; return the run and whether it is done."""
    run = RescoreRun.objects.get(pk=run_id)
    first_id = run.last_lead_id + 1
    chunk_ids = list(
        Lead.objects.filter(pk__gte=first_id, pk__lte=run.max_lead_id)
        .order_by("pk")
        .values_list("pk", flat=True)[:chunk_size]
    )
    if not chunk_ids:
        return run, True
    last_id = chunk_ids[-1]
    if statements is not None:
        _score_chunk_staged(statements, chunk_ids, helper)

    with transaction.atomic():
        # The lock makes a second worker on the same run wait, then see that this chunk is done.
        run = RescoreRun.objects.select_for_update().get(pk=run_id)
        if run.last_lead_id != first_id - 1:
            logger.info(
                "Rescore run %s: another worker recorded the chunk from lead %s",
                run.pk,
                first_id,
                extra={"rescore_run_id": run.pk},
            )
            return run, run.last_lead_id >= run.max_lead_id

        chunk = Lead.objects.filter(pk__gte=first_id, pk__lte=last_id)
        if statements is not None:
            # NOTE: after an import that left most leads stale, those leads are scored here from
            # their events, which costs as much per lead as a rescore without the staging table.
            stale_ids = list(chunk.filter(score_stale=True).values_list("pk", flat=True))
            if stale_ids:
                statements.by_ids.execute(lead_ids=stale_ids, now=timezone.now())
        else:
            _score_leads_python(compiled, chunk_ids, timezone.now())
        entered = _qualify(compiled, chunk)
        _commit_without_flush_wait_unless(moved=entered)

        run.last_lead_id = last_id
        run.done_leads = F("done_leads") + len(chunk_ids)
        run.entered_mql = F("entered_mql") + entered
        run.save(update_fields=["last_lead_id", "done_leads", "entered_mql", "updated_at"])
        run.refresh_from_db()
    return run, last_id >= run.max_lead_id


# Leads of a chunk from which its UPDATE is split in two halves that two database connections
# write at the same time, because an UPDATE cannot use PostgreSQL's parallel workers. With the
# rescore benchmark's data at 100,000 leads on 2 CPUs, the chunks took 6.5 s instead of 10 s
# while the second CPU was free, and 8 % less while another program kept it busy.
RESCORE_SPLIT_MIN_LEADS = 1000


@contextmanager
def _second_connection(*, enabled: bool) -> Iterator[ThreadPoolExecutor | None]:
    """Yield a one-thread executor whose thread has its own database connection, or None."""
    if not enabled:
        yield None
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rescore") as helper:
        try:
            yield helper
        finally:
            # Django opens a connection per thread and closes it only when asked.
            helper.submit(_close_connection).result()


def _close_connection() -> None:
    connection.close()


def _score_chunk_staged(
    statements: _RescoreStatements, chunk_ids: list[int], helper: ThreadPoolExecutor | None
) -> None:
    """Write the chunk's scores from the staging table, each half in a transaction of its own.

    Each half commits without waiting for the other, because PostgreSQL
    could not detect a deadlock that ran through this process's wait for the
    other half. Leads written before a crash are written again on resume,
    from the same staging table.
    """
    if helper is None or len(chunk_ids) < RESCORE_SPLIT_MIN_LEADS:
        _score_range(statements.staged, chunk_ids[0], chunk_ids[-1], statements.as_of)
        return

    middle = len(chunk_ids) // 2
    upper = helper.submit(
        _score_range, statements.staged, chunk_ids[middle], chunk_ids[-1], statements.as_of
    )
    try:
        _score_range(statements.staged, chunk_ids[0], chunk_ids[middle - 1], statements.as_of)
    finally:
        # Wait for the other half even when this one failed, so that no write outlives the chunk.
        upper_error = upper.exception()
    if upper_error is not None:
        raise upper_error


def _score_range(statement: RescoreStatement, first_id: int, last_id: int, as_of: datetime) -> None:
    with transaction.atomic():
        statement.execute(first_id=first_id, last_id=last_id, now=as_of)
        _commit_without_flush_wait_unless(moved=0)


def _rescore_run_finish(run_id: int, status: str, *, error: str = "") -> RescoreRun:
    if connection.vendor == "postgresql":
        staging_table_drop(staging_table_name(run_id))
    run = RescoreRun.objects.select_related("ruleset").get(pk=run_id)
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at", "updated_at"])
    return run


# Stale scores.


def stale_scores_enqueue(
    *, limit: int = SWEEP_MAX_LEADS, stall_seconds: int = RESCORE_RUN_STALL_SECONDS
) -> int:
    """Enqueue rescoring of up to `limit` leads whose score is stale, and of stalled rescore runs.

    This is how scores catch up after the broker was down when their input
    changed, and how a run resumes after its worker died. A run or simulation
    without progress for `stall_seconds` counts as stalled; a stalled
    simulation is marked failed, to be run again by a person. Returns the
    number of leads enqueued.
    """
    if ruleset_active() is None:
        logger.warning("No published rule set; stale leads are not enqueued")
        return 0

    # TODO: a lead still waiting in the queue from the previous sweep is enqueued again; the
    # duplicate rescore is harmless but costs a batch.
    lead_ids = list(
        Lead.objects.filter(score_stale=True).order_by("pk").values_list("pk", flat=True)[:limit]
    )
    for start in range(0, len(lead_ids), RESCORE_BATCH_SIZE):
        enqueue_rescore(lead_ids[start : start + RESCORE_BATCH_SIZE])

    stalled_before = timezone.now() - timedelta(seconds=stall_seconds)
    stalled = list(
        RescoreRun.objects.filter(
            status__in=[RescoreRun.Status.QUEUED, RescoreRun.Status.RUNNING],
            updated_at__lt=stalled_before,
        ).values_list("pk", flat=True)
    )
    for run_id in stalled:
        _enqueue_rescore_all(run_id)

    failed_simulations = Simulation.objects.filter(
        status__in=[Simulation.Status.QUEUED, Simulation.Status.RUNNING],
        updated_at__lt=stalled_before,
    ).update(
        status=Simulation.Status.FAILED,
        error="The simulation stopped making progress, probably because its worker stopped; "
        "run it again.",
        finished_at=timezone.now(),
    )

    logger.info(
        "Sweep enqueued %s stale leads and %s stalled rescore runs; %s stalled simulations failed",
        len(lead_ids),
        len(stalled),
        failed_simulations,
    )
    return len(lead_ids)
