"""Webhook endpoints, recording events for them, and replaying deliveries."""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from integrations.errors import (
    InvalidWebhookEndpoint,
    UnknownEventType,
    WebhookDeliveryInFlight,
    WebhookDeliveryNotFound,
    WebhookEndpointInactive,
)
from integrations.models import WebhookDelivery, WebhookEndpoint, WebhookEventType
from integrations.services.users import Actor, stored_user
from integrations.services.webhook_targets import literal_host_problem, private_targets_allowed
from leadflow.celery import app as celery_app
from leadflow.errors import NotFoundError

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
# A sweep enqueues at most this many deliveries; each is one small task message.
SWEEP_BATCH_SIZE = 500
# The sweep skips deliveries for this long after they fall due, because their own task
# message normally arrives first. The sweep is the fallback for messages the broker lost.
SWEEP_GRACE = timedelta(seconds=60)

_url_validator = URLValidator(schemes=["http", "https"])


def generate_endpoint_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def clean_webhook_url(url: str) -> str:
    """Return the stripped URL, or raise InvalidWebhookEndpoint naming the problem."""
    url = url.strip()
    try:
        _url_validator(url)
    except ValidationError:
        raise InvalidWebhookEndpoint(
            f"Invalid webhook URL {url!r}; give an absolute http:// or https:// URL.",
            extra={"fields": {"url": ["Enter an absolute http:// or https:// URL."]}},
        ) from None
    if urlsplit(url).username is not None:
        raise InvalidWebhookEndpoint(
            "Webhook URLs must not contain a user name or password; requests are "
            "authenticated by their signature.",
            extra={"fields": {"url": ["Remove the user name and password."]}},
        )
    problem = (
        None if private_targets_allowed() else literal_host_problem(urlsplit(url).hostname or "")
    )
    if problem:
        raise InvalidWebhookEndpoint(
            f"Webhook URL {url!r} is refused because {problem}; register a public address, or set "
            "LEADFLOW_WEBHOOK_ALLOW_PRIVATE_TARGETS=true for receivers on your private network.",
            extra={"fields": {"url": ["Use a public host name or address."]}},
        )
    return url


def clean_event_types(event_types: Iterable[str]) -> list[str]:
    """Return the known event types in catalogue order, or raise InvalidWebhookEndpoint."""
    requested = {event_type.strip() for event_type in event_types if event_type.strip()}
    valid = ", ".join(WebhookEventType.values)
    if not requested:
        raise InvalidWebhookEndpoint(
            f"Subscribe the endpoint to at least one event type: {valid}.",
            extra={"fields": {"event_types": ["At least one event type is required."]}},
        )
    unknown = sorted(requested - set(WebhookEventType.values))
    if unknown:
        raise InvalidWebhookEndpoint(
            f"Unknown event type {', '.join(unknown)}; choose from {valid}.",
            extra={"fields": {"event_types": [f"Unknown event type {name}." for name in unknown]}},
        )
    return [event_type for event_type in WebhookEventType.values if event_type in requested]


def webhook_endpoint_create(
    *,
    url: str,
    event_types: Iterable[str],
    description: str = "",
    is_active: bool = True,
    created_by: Actor = None,
) -> WebhookEndpoint:
    """Register an endpoint with a newly generated signing secret."""
    endpoint = WebhookEndpoint.objects.create(
        url=clean_webhook_url(url),
        event_types=clean_event_types(event_types),
        description=description.strip(),
        is_active=is_active,
        secret=generate_endpoint_secret(),
        created_by=stored_user(created_by),
    )
    logger.info(
        "Webhook endpoint %s registered for %s",
        endpoint.pk,
        ",".join(endpoint.event_types),
        extra={"webhook_endpoint_id": endpoint.pk, "actor_id": getattr(created_by, "pk", None)},
    )
    return endpoint


def webhook_endpoint_update(
    *,
    endpoint_id: int,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change the given fields of an endpoint. Deliveries not yet sent go to the new URL."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None:
            raise NotFoundError(f"Webhook endpoint {endpoint_id} does not exist.")

        if url is not None:
            endpoint.url = clean_webhook_url(url)
        if event_types is not None:
            endpoint.event_types = clean_event_types(event_types)
        if description is not None:
            endpoint.description = description.strip()
        if is_active is not None:
            endpoint.is_active = is_active
        endpoint.save()

    logger.info(
        "Webhook endpoint %s updated", endpoint.pk, extra={"webhook_endpoint_id": endpoint.pk}
    )
    return endpoint


def webhook_endpoint_delete(*, endpoint_id: int) -> None:
    """Delete an endpoint together with its recorded deliveries."""
    deleted, _ = WebhookEndpoint.objects.filter(pk=endpoint_id).delete()
    if not deleted:
        raise NotFoundError(f"Webhook endpoint {endpoint_id} does not exist.")
    logger.info(
        "Webhook endpoint %s deleted", endpoint_id, extra={"webhook_endpoint_id": endpoint_id}
    )


def webhook_emit(
    *,
    event_type: str,
    payload: dict[str, Any],
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> list[WebhookDelivery]:
    """Record one delivery of the event per active endpoint subscribed to it, and send them after commit.

    Call it inside the transaction of the change the event reports: the
    deliveries then commit with that change, or vanish with its rollback.
    Emitting the same `event_id` again records nothing new for an endpoint
    that already has it.
    """
    if event_type not in WebhookEventType.values:
        raise UnknownEventType(
            f"Unknown webhook event type {event_type!r}; use one of "
            f"{', '.join(WebhookEventType.values)}.",
            extra={"event_type": event_type},
        )
    # Round-trip through JSON now, so a value that cannot be sent fails in the caller.
    data = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    event_id = event_id or uuid.uuid4()
    occurred_at = occurred_at or timezone.now()

    # JSON `contains` lookups are not available on SQLite; the endpoints are few, so filter here.
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(is_active=True)
        if event_type in endpoint.event_types
    ]
    if not endpoints:
        return []

    deliveries: list[WebhookDelivery] = []
    with transaction.atomic():
        for endpoint in endpoints:
            delivery, created = WebhookDelivery.objects.get_or_create(
                endpoint=endpoint,
                event_id=event_id,
                defaults={
                    "event_type": event_type,
                    "occurred_at": occurred_at,
                    "payload": data,
                    "max_attempts": settings.LEADFLOW_WEBHOOK_MAX_ATTEMPTS,
                    "next_attempt_at": occurred_at,
                },
            )
            if created:
                deliveries.append(delivery)

        delivery_ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: enqueue_deliveries(delivery_ids))

    logger.info(
        "Webhook event %s (%s) recorded for %s endpoints",
        event_id,
        event_type,
        len(deliveries),
        extra={"event_id": str(event_id), "delivery_ids": delivery_ids},
    )
    return deliveries


def enqueue_deliveries(delivery_ids: list[int], countdown: float | None = None) -> None:
    """Send each delivery to the delivery task by name; a broker failure is left to the sweep."""
    for delivery_id in delivery_ids:
        try:
            celery_app.signature("integrations.deliver_webhook", args=[delivery_id]).apply_async(
                countdown=countdown
            )
        except (OperationalError, OSError):
            # The delivery row stays due, so the periodic sweep enqueues it again.
            logger.warning(
                "Could not enqueue webhook delivery %s; the sweep will retry",
                delivery_id,
                exc_info=True,
            )


def webhook_delivery_replay(*, delivery_id: int, actor: Actor = None) -> WebhookDelivery:
    """Send a recorded delivery once more, with the same payload and ids and a fresh signature.

    The replay allows exactly one further attempt. It is sent after commit.
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            raise WebhookDeliveryNotFound(f"Webhook delivery {delivery_id} does not exist.")
        if delivery.claimed_until is not None and delivery.claimed_until > now:
            raise WebhookDeliveryInFlight(
                f"Webhook delivery {delivery_id} is being sent right now; wait for its result "
                "and replay it afterwards if needed."
            )
        if not delivery.endpoint.is_active:
            raise WebhookEndpointInactive(
                f"Webhook endpoint {delivery.endpoint_id} is inactive; activate it before "
                f"replaying delivery {delivery_id}."
            )

        delivery.status = WebhookDelivery.Status.PENDING
        delivery.max_attempts = delivery.attempt_count + 1
        delivery.next_attempt_at = now
        delivery.save(update_fields=["status", "max_attempts", "next_attempt_at", "updated_at"])
        transaction.on_commit(lambda: enqueue_deliveries([delivery.pk]))

    logger.info(
        "Webhook delivery %s queued for replay",
        delivery.pk,
        extra={"delivery_id": delivery.pk, "actor_id": getattr(actor, "pk", None)},
    )
    return delivery


def webhook_deliveries_enqueue_due(
    *, now: datetime | None = None, limit: int = SWEEP_BATCH_SIZE
) -> list[int]:
    """Enqueue deliveries that fell due more than SWEEP_GRACE ago and that no worker holds."""
    now = now or timezone.now()
    delivery_ids = list(
        WebhookDelivery.objects.filter(
            status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING],
            next_attempt_at__lte=now - SWEEP_GRACE,
            endpoint__is_active=True,
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    enqueue_deliveries(delivery_ids)
    if delivery_ids:
        logger.info("Sweep enqueued %s due webhook deliveries", len(delivery_ids))
    return delivery_ids
