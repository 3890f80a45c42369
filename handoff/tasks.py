"""Celery tasks of the handoff app: thin wrappers around handoff.services."""

from __future__ import annotations

import logging

from celery import shared_task

from handoff import services

logger = logging.getLogger(__name__)


@shared_task(name="handoff.auto_handoff", soft_time_limit=120, time_limit=150)
def auto_handoff(lead_ids: list[int]) -> dict[str, int]:
    """Send the leads that meet the SQL-readiness rule to sales; scoring enqueues this by name."""
    result = services.handoff_auto_for_leads(lead_ids=lead_ids)
    return {"created": len(result.created), "errors": len(result.errors)}


@shared_task(name="handoff.escalate_overdue", soft_time_limit=240, time_limit=300)
def escalate_overdue() -> dict[str, int]:
    """Escalate and reassign overdue handoffs, one bounded batch per run (Celery beat)."""
    created = services.handoffs_escalate_overdue()
    return {"reassigned": len(created)}
