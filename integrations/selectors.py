"""Reads of API keys and webhooks shared by the API, the admin and the revops page."""

from __future__ import annotations

from django.db.models import QuerySet

from integrations.models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint

# The revops page shows the latest deliveries only; older ones are in the admin and the API.
RECENT_DELIVERIES_LIMIT = 100


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("user", "created_by", "revoked_by").order_by(
        "-created_at", "-id"
    )


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("id")


def webhook_delivery_list() -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.select_related("endpoint").order_by("-created_at", "-id")


def webhook_deliveries_recent(*, status: str = "") -> list[WebhookDelivery]:
    queryset = webhook_delivery_list()
    if status:
        queryset = queryset.filter(status=status)
    return list(queryset[:RECENT_DELIVERIES_LIMIT])


def webhook_delivery_get(*, delivery_id: int) -> WebhookDelivery | None:
    return webhook_delivery_list().filter(pk=delivery_id).first()


def webhook_attempt_list(*, delivery_id: int) -> QuerySet[WebhookAttempt]:
    return WebhookAttempt.objects.filter(delivery_id=delivery_id).order_by("number")
