"""REST endpoints for API keys, webhook endpoints and webhook deliveries (revops only)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import selectors, services
from integrations.filters import ApiKeyFilter, WebhookDeliveryFilter, WebhookEndpointFilter
from integrations.mixins import PublicApiMixin
from integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint
from integrations.permissions import HasRole, HasScope
from integrations.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateInputSerializer,
    ApiKeyOutputSerializer,
    WebhookDeliveryDetailSerializer,
    WebhookDeliveryOutputSerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointOutputSerializer,
)
from leadflow.api.parsers import JsonApiMixin
from leadflow.roles import REVOPS


@extend_schema_view(
    list=extend_schema(summary="List API keys"),
    retrieve=extend_schema(summary="Read one API key"),
)
class ApiKeyViewSet(
    PublicApiMixin,
    JsonApiMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[ApiKey],
):
    """API keys for other systems. The full key appears once, in the create response."""

    permission_classes = [IsAuthenticated, HasScope, HasRole]
    allowed_roles = (REVOPS,)
    # No scopes: API keys cannot list, create or revoke API keys, only signed-in revops users can.
    required_scopes = None
    serializer_class = ApiKeyOutputSerializer
    filterset_class = ApiKeyFilter

    def get_queryset(self) -> Any:
        return selectors.api_key_list()

    @extend_schema(
        summary="Create an API key",
        request=ApiKeyCreateInputSerializer,
        responses={201: ApiKeyCreatedSerializer},
    )
    def create(self, request: Request) -> Response:
        serializer = ApiKeyCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        created = services.api_key_create(
            name=serializer.validated_data["name"],
            user=serializer.validated_data["user"],
            scopes=serializer.validated_data["scopes"],
            expires_at=serializer.validated_data.get("expires_at"),
            rate_limit=serializer.validated_data["rate_limit"],
            created_by=request.user,
        )

        body = ApiKeyCreatedSerializer(created.api_key).data
        body["key"] = created.key
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke an API key", request=None, responses={200: ApiKeyOutputSerializer}
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        api_key = self.get_object()
        api_key = services.api_key_revoke(api_key_id=api_key.pk, actor=request.user)
        return Response(ApiKeyOutputSerializer(api_key).data)


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints"),
    retrieve=extend_schema(summary="Read one webhook endpoint"),
)
class WebhookEndpointViewSet(
    PublicApiMixin,
    JsonApiMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[WebhookEndpoint],
):
    """Endpoints that receive signed webhook POSTs. The signing secret appears once, at creation."""

    permission_classes = [IsAuthenticated, HasScope, HasRole]
    allowed_roles = (REVOPS,)
    required_scopes = {
        "GET": "webhooks:read",
        "POST": "webhooks:write",
        "PUT": "webhooks:write",
        "PATCH": "webhooks:write",
        "DELETE": "webhooks:write",
    }
    serializer_class = WebhookEndpointOutputSerializer
    filterset_class = WebhookEndpointFilter

    def get_queryset(self) -> Any:
        return selectors.webhook_endpoint_list()

    @extend_schema(
        summary="Register a webhook endpoint",
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
    )
    def create(self, request: Request) -> Response:
        serializer = WebhookEndpointInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        endpoint = services.webhook_endpoint_create(
            created_by=request.user, **serializer.validated_data
        )

        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Replace a webhook endpoint",
        request=WebhookEndpointInputSerializer,
        responses={200: WebhookEndpointOutputSerializer},
    )
    def update(self, request: Request, pk: str | None = None) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        summary="Change some fields of a webhook endpoint",
        request=WebhookEndpointInputSerializer(partial=True),
        responses={200: WebhookEndpointOutputSerializer},
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        endpoint = self.get_object()
        serializer = WebhookEndpointInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)

        endpoint = services.webhook_endpoint_update(
            endpoint_id=endpoint.pk, **serializer.validated_data
        )

        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(summary="Delete a webhook endpoint and its deliveries")
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        services.webhook_endpoint_delete(endpoint_id=endpoint.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List webhook deliveries"),
    retrieve=extend_schema(summary="Read one webhook delivery with its attempts"),
)
class WebhookDeliveryViewSet(
    PublicApiMixin,
    JsonApiMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[WebhookDelivery],
):
    """Recorded webhook deliveries, their outcome and attempts; replay sends one again."""

    permission_classes = [IsAuthenticated, HasScope, HasRole]
    allowed_roles = (REVOPS,)
    required_scopes = {"GET": "webhooks:read", "replay": "webhooks:write"}
    serializer_class = WebhookDeliveryOutputSerializer
    filterset_class = WebhookDeliveryFilter

    def get_queryset(self) -> Any:
        queryset = selectors.webhook_delivery_list()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("attempts")
        return queryset

    def get_serializer_class(self) -> Any:
        if self.action == "retrieve":
            return WebhookDeliveryDetailSerializer
        return WebhookDeliveryOutputSerializer

    @extend_schema(
        summary="Send a delivery again",
        request=None,
        responses={202: WebhookDeliveryOutputSerializer},
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        """Send the same payload with the same event id and delivery id, signed anew.

        It allows exactly one more attempt, made after the response.
        """
        delivery = self.get_object()
        delivery = services.webhook_delivery_replay(delivery_id=delivery.pk, actor=request.user)
        delivery.refresh_from_db()
        return Response(
            WebhookDeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED
        )
