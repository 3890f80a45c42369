import json
import socket
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from integrations.errors import UnknownEventType
from integrations.models import WebhookAttempt, WebhookDelivery
from integrations.services import (
    webhook_deliveries_enqueue_due,
    webhook_delivery_attempt,
    webhook_delivery_replay,
    webhook_emit,
    webhook_endpoint_create,
)
from integrations.services.webhook_sending import delivery_body, retry_delay_seconds
from integrations.signing import verify_signature
from integrations.tasks import deliver_webhook
from leadflow.errors import ConflictError

pytestmark = pytest.mark.django_db

PAYLOAD = {"lead": {"id": 42, "status": "mql"}}


@pytest.fixture
def endpoint(receiver):
    created = webhook_endpoint_create(url=receiver.url, event_types=["lead.mql"])
    receiver.secret = created.secret
    return created


@pytest.fixture
def delivery(endpoint):
    [recorded] = webhook_emit(event_type="lead.mql", payload=PAYLOAD)
    return recorded


@pytest.fixture
def retry_settings(settings):
    settings.LEADFLOW_WEBHOOK_RETRY_BASE_SECONDS = 60
    settings.LEADFLOW_WEBHOOK_RETRY_MAX_DELAY_SECONDS = 7200
    settings.LEADFLOW_WEBHOOK_MAX_ATTEMPTS = 3
    return settings


def test_emit_sends_signed_request_after_commit(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = webhook_emit(event_type="lead.mql", payload=PAYLOAD)
        assert receiver.requests == []

    [request] = receiver.requests
    assert request.signature_error is None
    verify_signature(endpoint.secret, request.headers["Leadflow-Signature"], request.body, 300)
    assert request.headers["Leadflow-Event"] == "lead.mql"
    assert request.headers["Leadflow-Delivery"] == str(delivery.pk)
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "id": str(delivery.event_id),
        "type": "lead.mql",
        "occurred_at": delivery.occurred_at.isoformat(),
        "data": PAYLOAD,
    }
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempt_count == 1
    assert delivery.response_code == 200
    assert delivery.response_body_excerpt == "ok"
    assert delivery.next_attempt_at is None


def test_emit_records_only_subscribed_active_endpoints(endpoint):
    webhook_endpoint_create(url="http://127.0.0.1:9/won", event_types=["lead.won"])
    webhook_endpoint_create(url="http://127.0.0.1:9/off", event_types=["lead.mql"], is_active=False)

    deliveries = webhook_emit(event_type="lead.mql", payload=PAYLOAD)

    assert [delivery.endpoint_id for delivery in deliveries] == [endpoint.pk]
    assert WebhookDelivery.objects.count() == 1


def test_emit_same_event_id_records_once(endpoint):
    [first] = webhook_emit(event_type="lead.mql", payload=PAYLOAD)

    again = webhook_emit(event_type="lead.mql", payload=PAYLOAD, event_id=first.event_id)

    assert again == []
    assert WebhookDelivery.objects.count() == 1


def test_emit_unknown_event_type_rejected(endpoint):
    with pytest.raises(UnknownEventType, match=r"Unknown webhook event type 'lead\.hot'"):
        webhook_emit(event_type="lead.hot", payload=PAYLOAD)

    assert WebhookDelivery.objects.count() == 0


def test_retry_after_500_then_success(delivery, receiver, retry_settings):
    receiver.respond_with((500, b"database down"))
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.RETRYING
    assert delivery.attempt_count == 1
    assert delivery.response_code == 500
    assert delivery.response_body_excerpt == "database down"
    assert delivery.error == "The endpoint answered HTTP 500."
    assert delivery.next_attempt_at == start + timedelta(seconds=60)

    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.requests) == 1

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempt_count == 2
    assert delivery.response_code == 200
    assert delivery.error == ""
    assert [request.signature_error for request in receiver.requests] == [None, None]
    assert receiver.requests[0].body == receiver.requests[1].body
    assert {request.headers["Leadflow-Delivery"] for request in receiver.requests} == {
        str(delivery.pk)
    }
    assert list(
        WebhookAttempt.objects.filter(delivery=delivery).values_list("number", "response_code")
    ) == [(1, 500), (2, 200)]


def test_no_retry_after_400(delivery, receiver, retry_settings):
    receiver.respond_with((400, b"unknown field"))

    webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempt_count == 1
    assert delivery.response_code == 400
    assert delivery.next_attempt_at is None
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
        assert webhook_deliveries_enqueue_due() == []
    assert len(receiver.requests) == 1


def test_429_waits_for_retry_after(delivery, receiver, retry_settings):
    receiver.respond_with((429, b"slow down", {"Retry-After": "600"}))
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.RETRYING
    assert delivery.next_attempt_at == start + timedelta(seconds=600)


def test_attempts_exhausted_marks_failed(retry_settings, delivery, receiver):
    receiver.respond_with((503, b""), (502, b""), (500, b""))
    start = timezone.now()

    for offset in (0, 61, 61 + 121):
        with time_machine.travel(start + timedelta(seconds=offset), tick=False):
            webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempt_count == 3
    assert delivery.response_code == 500
    assert delivery.next_attempt_at is None
    assert len(receiver.requests) == 3


def test_connection_refused_is_retried(retry_settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    endpoint = webhook_endpoint_create(
        url=f"http://127.0.0.1:{closed_port}/hooks", event_types=["lead.mql"]
    )
    [delivery] = webhook_emit(event_type="lead.mql", payload=PAYLOAD)

    webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.endpoint == endpoint
    assert delivery.status == WebhookDelivery.Status.RETRYING
    assert delivery.response_code is None
    assert delivery.error.startswith("Request failed: ConnectError")


def test_redirect_not_followed(delivery, receiver, retry_settings):
    receiver.respond_with((302, b"", {"Location": "http://127.0.0.2:9/elsewhere"}))

    webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.response_code == 302
    assert delivery.error == (
        "The endpoint redirected to http://127.0.0.2:9/elsewhere; redirects are not followed, "
        "so register the final URL instead."
    )
    assert len(receiver.requests) == 1


def test_replay_sends_same_body_with_new_signature(
    delivery, receiver, django_capture_on_commit_callbacks
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        webhook_delivery_attempt(delivery_id=delivery.pk)

    with (
        time_machine.travel(start + timedelta(minutes=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        webhook_delivery_replay(delivery_id=delivery.pk)

    first, replayed = receiver.requests
    assert replayed.signature_error is None
    assert replayed.body == first.body
    assert replayed.headers["Leadflow-Delivery"] == first.headers["Leadflow-Delivery"]
    assert json.loads(replayed.body)["id"] == str(delivery.event_id)
    assert replayed.headers["Leadflow-Signature"] != first.headers["Leadflow-Signature"]
    assert replayed.headers["Leadflow-Signature"].startswith(f"t={int(start.timestamp()) + 300},")
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempt_count == 2


def test_replay_allows_exactly_one_attempt(
    delivery, receiver, retry_settings, django_capture_on_commit_callbacks
):
    receiver.respond_with((400, b"bad"), (500, b"still broken"))
    webhook_delivery_attempt(delivery_id=delivery.pk)

    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_replay(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempt_count == 2
    assert delivery.max_attempts == 2
    assert delivery.response_code == 500
    assert len(receiver.requests) == 2


def test_replay_of_inactive_endpoint_rejected(delivery, endpoint):
    endpoint.is_active = False
    endpoint.save()

    with pytest.raises(ConflictError, match="is inactive; activate it before replaying"):
        webhook_delivery_replay(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING


def test_replay_while_sending_rejected(delivery):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=30)
    )

    with pytest.raises(ConflictError, match="is being sent right now"):
        webhook_delivery_replay(delivery_id=delivery.pk)


def test_claimed_delivery_not_sent_twice(delivery, receiver):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=30)
    )

    assert deliver_webhook(delivery.pk) is None
    assert receiver.requests == []


def test_task_run_twice_sends_once(delivery, receiver):
    assert deliver_webhook(delivery.pk) == "succeeded"
    assert deliver_webhook(delivery.pk) is None
    assert len(receiver.requests) == 1


def test_deactivated_endpoint_fails_without_sending(delivery, endpoint, receiver):
    endpoint.is_active = False
    endpoint.save()

    webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.error == "The endpoint was deactivated; nothing was sent."
    assert receiver.requests == []


def test_sweep_enqueues_only_overdue(delivery, receiver):
    created = timezone.now()

    with time_machine.travel(created + timedelta(seconds=30), tick=False):
        assert webhook_deliveries_enqueue_due() == []
    with time_machine.travel(created + timedelta(seconds=61), tick=False):
        assert webhook_deliveries_enqueue_due() == [delivery.pk]

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert len(receiver.requests) == 1


def test_body_is_stable_across_attempts(delivery):
    assert delivery_body(delivery) == delivery_body(WebhookDelivery.objects.get(pk=delivery.pk))


@pytest.mark.parametrize(
    ("attempt", "retry_after", "delay"),
    [
        (1, None, 60),
        (2, None, 120),
        (3, None, 240),
        (7, None, 3840),
        (8, None, 7200),
        (1, 600, 600),
        (1, 30, 60),
        (1, 100_000, 7200),
    ],
)
def test_retry_delay_doubles_up_to_cap(retry_settings, attempt, retry_after, delay):
    assert retry_delay_seconds(attempt, retry_after) == delay
