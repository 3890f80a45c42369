"""Webhook delivery through a real Redis broker and a Celery worker thread."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from integrations.models import WebhookDelivery
from integrations.services import webhook_emit, webhook_endpoint_create
from leadflow.celery import app as celery_app


def _wait_for_status(delivery_id, status, timeout_seconds):
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        if delivery.status == status:
            return delivery
        time.sleep(0.2)
    return WebhookDelivery.objects.get(pk=delivery_id)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_worker_retries_after_500_then_succeeds(settings, receiver):
    settings.LEADFLOW_WEBHOOK_RETRY_BASE_SECONDS = 1
    receiver.respond_with((500, b"warming up"))
    endpoint = webhook_endpoint_create(url=receiver.url, event_types=["handoff.accepted"])
    receiver.secret = endpoint.secret

    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        with transaction.atomic():
            [delivery] = webhook_emit(event_type="handoff.accepted", payload={"handoff": {"id": 5}})
        delivered = _wait_for_status(delivery.pk, WebhookDelivery.Status.SUCCEEDED, 30)

    assert delivered.status == WebhookDelivery.Status.SUCCEEDED
    assert delivered.attempt_count == 2
    assert [request.signature_error for request in receiver.requests] == [None, None]
    assert [request.headers["Leadflow-Event"] for request in receiver.requests] == [
        "handoff.accepted",
        "handoff.accepted",
    ]
