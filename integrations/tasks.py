"""Celery tasks of the integrations app: thin wrappers around its services."""

from __future__ import annotations

import logging

from integrations.services import (
    idempotency_purge_expired,
    webhook_deliveries_enqueue_due,
    webhook_delivery_attempt,
)
from leadflow.celery import app

logger = logging.getLogger(__name__)


# The hard limit leaves room for the HTTP timeout plus recording the outcome.
@app.task(
    name="integrations.deliver_webhook", soft_time_limit=60, time_limit=90, ignore_result=True
)
def deliver_webhook(delivery_id: int) -> str | None:
    """Make one attempt of a webhook delivery; the service plans any retry."""
    delivery = webhook_delivery_attempt(delivery_id=delivery_id)
    return None if delivery is None else delivery.status


@app.task(
    name="integrations.retry_due_webhooks", soft_time_limit=60, time_limit=90, ignore_result=True
)
def retry_due_webhooks() -> int:
    """Enqueue deliveries whose attempt is overdue, such as those whose task message was lost."""
    return len(webhook_deliveries_enqueue_due())


@app.task(
    name="integrations.purge_idempotency_records",
    soft_time_limit=300,
    time_limit=360,
    ignore_result=True,
)
def purge_idempotency_records() -> int:
    """Delete idempotency records past their expiry."""
    return idempotency_purge_expired()
