"""Input and output serializers of the API key and webhook endpoints."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from rest_framework import serializers

from integrations.models import (
    ApiKey,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from integrations.rates import validate_rate
from integrations.scopes import SCOPE_CHOICES


class ApiKeyOutputSerializer(serializers.ModelSerializer[ApiKey]):
    user: serializers.PrimaryKeyRelatedField[User] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    username = serializers.CharField(source="user.get_username", read_only=True)
    state = serializers.CharField(read_only=True)
    masked_key = serializers.CharField(read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "masked_key",
            "user",
            "username",
            "scopes",
            "rate_limit",
            "state",
            "created_by",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
        ]
        read_only_fields = fields


class ApiKeyCreatedSerializer(ApiKeyOutputSerializer):
    key = serializers.CharField(
        read_only=True, help_text="The full key. It is shown in this response only; store it now."
    )

    class Meta(ApiKeyOutputSerializer.Meta):
        fields = [*ApiKeyOutputSerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiKeyCreateInputSerializer(serializers.Serializer[None]):
    name = serializers.CharField(max_length=100)
    user = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True),
        help_text="Id of the user the key acts as; their roles and record scoping apply.",
    )
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SCOPE_CHOICES), allow_empty=False
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    rate_limit = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        validators=[validate_rate],
        help_text="Requests per period, such as 600/min; empty for the default.",
    )


class WebhookEndpointOutputSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointOutputSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="Signing secret; verify the Leadflow-Signature header with it. "
        "Shown in this response only.",
    )

    class Meta(WebhookEndpointOutputSerializer.Meta):
        fields = [*WebhookEndpointOutputSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointInputSerializer(serializers.Serializer[None]):
    url = serializers.URLField(max_length=2000)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices), allow_empty=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class WebhookAttemptSerializer(serializers.ModelSerializer[WebhookAttempt]):
    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "response_code",
            "response_body_excerpt",
            "error",
        ]
        read_only_fields = fields


class WebhookDeliveryOutputSerializer(serializers.ModelSerializer[WebhookDelivery]):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_type",
            "event_id",
            "occurred_at",
            "payload",
            "status",
            "attempt_count",
            "max_attempts",
            "response_code",
            "response_body_excerpt",
            "error",
            "next_attempt_at",
            "last_attempt_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WebhookDeliveryDetailSerializer(WebhookDeliveryOutputSerializer):
    attempts = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta(WebhookDeliveryOutputSerializer.Meta):
        fields = [*WebhookDeliveryOutputSerializer.Meta.fields, "attempts"]
        read_only_fields = fields
