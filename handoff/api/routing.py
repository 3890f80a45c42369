"""Routing rules under /api/v1/routing-rules/: the ordered rules, their edits, and the dry-run."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.viewsets import GenericViewSet

from handoff import selectors, services
from handoff.api.common import ROUTING_READ_ROLES, ROUTING_RULE_ERRORS, ROUTING_WRITE_ROLES
from handoff.errors import RoutingRuleNotFound
from handoff.filters import ROUTING_RULE_ORDERING_FIELDS, RoutingRuleFilter
from handoff.models import RoutingRule
from handoff.routing import route_lead
from handoff.serializers import DryRunInputSerializer, DryRunSerializer, RoutingRuleSerializer
from integrations.mixins import PublicApiMixin
from integrations.permissions import HasScope
from leads.api.common import (
    HasActionRole,
    JsonApiMixin,
    RolesByActionMixin,
    error_responses,
    request_user,
)
from leads.errors import LeadNotFound
from leads.models import Lead

EDIT_DESCRIPTION = (
    "Changes the fields sent; `reps` and `territories` replace the pool. The next routing "
    "decision uses the new rule. Needs the revops role."
)


def rule_errors(*status_codes: int) -> dict[int, Any]:
    return error_responses(*status_codes, descriptions=ROUTING_RULE_ERRORS)


@extend_schema_view(
    list=extend_schema(
        summary="List routing rules",
        description="In the order routing tries them (by position) by default, in numbered "
        "pages. Routing tries the account owner before every rule.",
        responses={200: RoutingRuleSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="Get a routing rule",
        responses={200: RoutingRuleSerializer, **rule_errors(404)},
    ),
    create=extend_schema(
        summary="Add a routing rule",
        description="Without a position the rule goes last, 10 after the last rule. Needs the "
        "revops role.",
        responses={201: RoutingRuleSerializer, **rule_errors(400)},
    ),
    update=extend_schema(
        summary="Edit a routing rule",
        description=EDIT_DESCRIPTION,
        responses={200: RoutingRuleSerializer, **rule_errors(400, 404)},
    ),
    partial_update=extend_schema(
        summary="Edit some fields of a routing rule",
        description=EDIT_DESCRIPTION,
        responses={200: RoutingRuleSerializer, **rule_errors(400, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a routing rule",
        description="Handoffs the rule routed keep their routing trace and lose only the link "
        "to the rule. Needs the revops role.",
        responses={204: None, **rule_errors(404)},
    ),
)
class RoutingRuleViewSet(PublicApiMixin, JsonApiMixin, RolesByActionMixin, GenericViewSet):
    serializer_class = RoutingRuleSerializer
    filterset_class = RoutingRuleFilter
    ordering_fields = ROUTING_RULE_ORDERING_FIELDS
    ordering = "position"
    permission_classes = [IsAuthenticated, HasScope, HasActionRole]
    required_scopes = {
        "GET": "routing:read",
        "POST": "routing:write",
        "PUT": "routing:write",
        "PATCH": "routing:write",
        "DELETE": "routing:write",
        "dry_run": "routing:read",
    }
    lookup_value_regex = r"\d+"

    roles_by_action = {
        "list": ROUTING_READ_ROLES,
        "retrieve": ROUTING_READ_ROLES,
        "metadata": ROUTING_READ_ROLES,
        # A dry-run is a POST but writes nothing, so everyone who may read the rules may run it.
        "dry_run": ROUTING_READ_ROLES,
        "create": ROUTING_WRITE_ROLES,
        "update": ROUTING_WRITE_ROLES,
        "partial_update": ROUTING_WRITE_ROLES,
        "destroy": ROUTING_WRITE_ROLES,
    }

    def get_queryset(self) -> QuerySet[RoutingRule]:
        return selectors.routing_rules()

    def get_object(self) -> RoutingRule:
        rule_id = int(self.kwargs["pk"])
        rule = self.get_queryset().filter(pk=rule_id).first()
        if rule is None:
            raise RoutingRuleNotFound(f"Routing rule {rule_id} does not exist.")
        return rule

    def list(self, request: Request) -> Response:
        rules = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(rules)
        return self.get_paginated_response(RoutingRuleSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(RoutingRuleSerializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        serializer = RoutingRuleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        rule = services.routing_rule_create(
            actor=request_user(request), fields=dict(serializer.validated_data)
        )

        location = reverse("routing-rule-detail", kwargs={"pk": rule.pk}, request=request)
        return Response(
            self._detail(rule.pk), status=status.HTTP_201_CREATED, headers={"Location": location}
        )

    def update(self, request: Request, pk: str) -> Response:
        return self._update(request, partial=False)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self._update(request, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        rule = self.get_object()
        services.routing_rule_delete(rule_id=rule.pk, actor=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Show where a lead would be routed now",
        description="Runs routing for the lead as a send would, and returns the decision with "
        "every rule tried and rep skipped. It changes nothing: no handoff is opened and no "
        "round-robin turn is used. Needs the marketing, sales manager or revops role.",
        request=DryRunInputSerializer,
        responses={
            200: DryRunSerializer,
            **error_responses(400, 404, descriptions={404: "The lead does not exist."}),
        },
    )
    @action(detail=False, methods=["post"], url_path="dry-run")
    def dry_run(self, request: Request) -> Response:
        serializer = DryRunInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lead_id = serializer.validated_data["lead_id"]

        lead = Lead.objects.select_related("account__owner").filter(pk=lead_id).first()
        if lead is None:
            raise LeadNotFound(f"Lead {lead_id} does not exist.")
        settings_row = services.handoff_settings_get()
        decision = route_lead(lead, default_sla_hours=settings_row.default_sla_hours)

        return Response({"lead_id": lead.pk, "routing": decision.as_trace()})

    def _update(self, request: Request, *, partial: bool) -> Response:
        rule = self.get_object()
        serializer = RoutingRuleSerializer(rule, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)

        services.routing_rule_update(
            rule_id=rule.pk, actor=request_user(request), fields=dict(serializer.validated_data)
        )

        return Response(self._detail(rule.pk))

    def _detail(self, rule_id: int) -> Any:
        return RoutingRuleSerializer(self.get_queryset().get(pk=rule_id)).data
