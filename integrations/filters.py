"""django-filter FilterSets of the integrations API lists."""

from __future__ import annotations

import django_filters

from integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint


class ApiKeyFilter(django_filters.FilterSet):
    revoked = django_filters.BooleanFilter(
        field_name="revoked_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = ApiKey
        fields = ["user", "revoked"]


class WebhookEndpointFilter(django_filters.FilterSet):
    class Meta:
        model = WebhookEndpoint
        fields = ["is_active"]


class WebhookDeliveryFilter(django_filters.FilterSet):
    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "status", "event_type", "event_id"]
