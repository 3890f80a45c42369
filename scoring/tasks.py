"""Celery tasks of scoring: thin wrappers that pass ids to one service each.

Task names are fixed because other apps enqueue them by name
(leads.services.enqueue_rescore sends "scoring.rescore_leads").
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerError

from scoring import services, simulation
from scoring.models import RescoreRun

logger = logging.getLogger(__name__)

# Seconds of work one rescore_all task does before it enqueues its continuation, well inside
# its soft time limit so that a chunk in flight can finish.
RESCORE_ALL_TIME_BUDGET_SECONDS = 300


@shared_task(
    name="scoring.rescore_leads",
    # Nothing reads the result; storing one per batch only costs a round trip to the backend.
    ignore_result=True,
    soft_time_limit=240,
    time_limit=300,
    autoretry_for=(DatabaseOperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def rescore_leads(lead_ids: list[int]) -> dict[str, Any]:
    """Rescore the leads in batches of services.RESCORE_BATCH_SIZE; running it twice is harmless."""
    result = services.leads_rescore(lead_ids=[int(lead_id) for lead_id in lead_ids])
    return {"scored": result.scored, "entered_mql": result.entered_mql, "missing": result.missing}


@shared_task(name="scoring.sweep_stale_leads", soft_time_limit=50, time_limit=60)
def sweep_stale_leads() -> int:
    """Enqueue a bounded batch of leads whose score is stale; runs every minute from beat."""
    return services.stale_scores_enqueue(limit=services.SWEEP_MAX_LEADS)


@shared_task(
    name="scoring.rescore_all",
    soft_time_limit=600,
    time_limit=660,
    autoretry_for=(DatabaseOperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def rescore_all(run_id: int) -> dict[str, Any]:
    """Continue a full rescore run; enqueue the next task when the time budget is used up."""
    run = services.rescore_all(
        run_id=run_id,
        chunk_size=settings.LEADFLOW_RESCORE_CHUNK_SIZE,
        time_budget_seconds=RESCORE_ALL_TIME_BUDGET_SECONDS,
    )
    if run.status == RescoreRun.Status.RUNNING:
        try:
            rescore_all.apply_async(args=[run_id])
        except (BrokerError, OSError):
            logger.warning(
                "Could not enqueue the continuation of rescore run %s; the sweep will resume it",
                run_id,
                exc_info=True,
            )
    return {"run_id": run.pk, "status": run.status, "done_leads": run.done_leads}


@shared_task(name="scoring.simulate", soft_time_limit=1800, time_limit=1860)
def simulate(simulation_id: int) -> dict[str, Any]:
    """Run a queued simulation; a second delivery finds it started and returns."""
    result = simulation.simulation_run(simulation_id=simulation_id)
    return {"simulation_id": result.pk, "status": result.status, "leads": result.done_leads}
