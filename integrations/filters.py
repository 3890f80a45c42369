"""django-filter FilterSets of the integrations API lists."""

from __future__ import annotations

from integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint
from leadflow.api import StrictBooleanFilter, StrictFilterSet


class ApiKeyFilter(StrictFilterSet):
    revoked = StrictBooleanFilter(field_name="revoked_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = ApiKey
        fields = ["user", "revoked"]


class WebhookEndpointFilter(StrictFilterSet):
    class Meta:
        model = WebhookEndpoint
        fields = ["is_active"]


class WebhookDeliveryFilter(StrictFilterSet):
    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "status", "event_type", "event_id"]
