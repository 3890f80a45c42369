"""REST API of the handoff app: handoffs with their actions, reps, routing rules with dry-run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from handoff import selectors, services
from handoff.models import Handoff, HandoffStatus, Rep, RoutingRule
from handoff.routing import route_lead
from handoff.serializers import (
    AcceptInputSerializer,
    CloseInputSerializer,
    DryRunInputSerializer,
    DryRunSerializer,
    ErrorSerializer,
    HandoffEventSerializer,
    HandoffSerializer,
    NoteInputSerializer,
    ReassignInputSerializer,
    RejectInputSerializer,
    RepSerializer,
    RoutingRuleSerializer,
    SendInputSerializer,
    SendResultSerializer,
)
from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER, has_role
from leads.errors import LeadNotFound
from leads.models import Lead


class HasRole(permissions.BasePermission):
    """Grant access to users holding one of `roles`; reads may allow more roles than writes."""

    def __init__(self, *, read: tuple[str, ...], write: tuple[str, ...]):
        self.read = read
        self.write = write

    def has_permission(self, request: Request, view: APIView) -> bool:
        roles = self.read if request.method in permissions.SAFE_METHODS else self.write
        return bool(
            request.user and request.user.is_authenticated and has_role(request.user, *roles)
        )


def role_permission(*, read: tuple[str, ...], write: tuple[str, ...]) -> Any:
    class RolePermission(HasRole):
        def __init__(self) -> None:
            super().__init__(read=read, write=write)

    return RolePermission


def with_default_permissions(*extra: Any) -> list[Any]:
    """Return the project's default permission classes followed by `extra`.

    The defaults carry the project-wide checks, such as authentication and API key
    scopes (`required_scopes` on each view), so views add their role check after them.
    """
    return [*api_settings.DEFAULT_PERMISSION_CLASSES, *extra]


ALL_HANDOFF_ROLES = (MARKETING, SALES, SALES_MANAGER, REVOPS)

ERROR_DESCRIPTIONS = {
    400: "Invalid input; `fields` names each invalid field.",
    401: "No valid token or session was sent.",
    403: "The user lacks the role this action needs, or is not the handoff's rep.",
    404: "The object does not exist, or is not visible to the user.",
    409: "The handoff or lead is no longer in the state this action needs; reload it.",
}


def error_responses(*status_codes: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in status_codes
    }


def ok_and_errors(ok: Any, *status_codes: int, ok_code: int = 200) -> dict[int, Any]:
    """Return the success response plus 401, 403 and the given error codes, for extend_schema."""
    return {ok_code: ok, **error_responses(401, 403, *status_codes)}


class HandoffFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=HandoffStatus.choices)
    rep = django_filters.NumberFilter(field_name="rep_id")
    lead = django_filters.NumberFilter(field_name="lead_id")
    in_queue = django_filters.BooleanFilter(field_name="rep", lookup_expr="isnull")
    overdue_before = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lte")

    class Meta:
        model = Handoff
        fields = ["status", "rep", "lead", "in_queue", "overdue_before"]


@extend_schema_view(
    list=extend_schema(
        summary="List handoffs; a rep sees only their own.",
        responses=ok_and_errors(HandoffSerializer(many=True), 400),
    ),
    retrieve=extend_schema(
        summary="One handoff with its context snapshot and routing trace.",
        responses=ok_and_errors(HandoffSerializer, 404),
    ),
)
class HandoffViewSet(viewsets.ReadOnlyModelViewSet[Handoff]):
    serializer_class = HandoffSerializer
    filterset_class = HandoffFilter
    permission_classes = with_default_permissions(
        role_permission(read=ALL_HANDOFF_ROLES, write=ALL_HANDOFF_ROLES)
    )
    required_scopes = {"GET": "handoffs:read", "POST": "handoffs:write"}

    def get_queryset(self) -> QuerySet[Handoff]:
        if self.action in {"accept"}:
            return selectors.handoffs_actionable_by(self.request.user)
        return selectors.handoffs_visible_to(self.request.user)

    def _require(self, *roles: str) -> None:
        if not has_role(self.request.user, *roles):
            self.permission_denied(self.request, message="Your role cannot do this.")

    def _respond(self, handoff: Handoff, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.handoff_queryset().get(pk=handoff.pk)
        return Response(HandoffSerializer(fresh).data, status=code)

    @extend_schema(
        summary="Send MQLs to sales (one or many); each lead is reported as created or with its error.",
        request=SendInputSerializer,
        responses=ok_and_errors(SendResultSerializer, 400),
    )
    @action(detail=False, methods=["post"])
    def send(self, request: Request) -> Response:
        self._require(MARKETING, REVOPS)
        data = SendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.handoff_send(
            lead_ids=data.validated_data["lead_ids"],
            actor=request.user,
            marketing_notes=data.validated_data["marketing_notes"],
        )
        return Response(result.as_dict())

    @extend_schema(
        summary="Accept the handoff: the lead becomes an SQL owned by you.",
        request=AcceptInputSerializer,
        responses=ok_and_errors(HandoffSerializer, 400, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        self._require(SALES)
        handoff = self.get_object()
        data = AcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        next_step = values.pop("next_step")
        next_step_date = values.pop("next_step_date")
        handoff = services.handoff_accept(
            handoff_id=handoff.pk,
            actor=request.user,
            qualification=values,
            next_step=next_step,
            next_step_date=next_step_date,
        )
        return self._respond(handoff)

    @extend_schema(
        summary="Reject the handoff with a reason code.",
        request=RejectInputSerializer,
        responses=ok_and_errors(HandoffSerializer, 400, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        self._require(SALES, SALES_MANAGER, REVOPS)
        handoff = self.get_object()
        data = RejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        handoff = services.handoff_reject(
            handoff_id=handoff.pk,
            actor=request.user,
            reason=data.validated_data["reason"],
            note=data.validated_data["note"],
        )
        return self._respond(handoff)

    @extend_schema(
        summary="Close the accepted SQL as won or lost.",
        request=CloseInputSerializer,
        responses=ok_and_errors(HandoffSerializer, 400, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        self._require(SALES, SALES_MANAGER, REVOPS)
        handoff = self.get_object()
        data = CloseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        handoff = services.handoff_close(
            handoff_id=handoff.pk,
            actor=request.user,
            outcome=data.validated_data["outcome"],
            reason=data.validated_data["reason"],
            note=data.validated_data["note"],
        )
        return self._respond(handoff)

    @extend_schema(
        summary="Take a pending handoff back to marketing.",
        request=NoteInputSerializer,
        responses=ok_and_errors(HandoffSerializer, 400, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        self._require(MARKETING, REVOPS)
        handoff = self.get_object()
        data = NoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        handoff = services.handoff_withdraw(
            handoff_id=handoff.pk, actor=request.user, note=data.validated_data["note"]
        )
        return self._respond(handoff)

    @extend_schema(
        summary="Reassign to a chosen rep, or route again without `to_rep`; returns the new handoff.",
        request=ReassignInputSerializer,
        responses=ok_and_errors(HandoffSerializer, 400, 404, 409, ok_code=201),
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str | None = None) -> Response:
        self._require(SALES_MANAGER, REVOPS)
        handoff = self.get_object()
        data = ReassignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        successor = services.handoff_reassign(
            handoff_id=handoff.pk,
            actor=request.user,
            to_rep_id=data.validated_data["to_rep"],
            note=data.validated_data["note"],
        )
        return self._respond(successor, status.HTTP_201_CREATED)

    @extend_schema(
        summary="The handoff's audit trail, oldest first.",
        responses=ok_and_errors(HandoffEventSerializer(many=True), 404),
    )
    @action(detail=True, methods=["get"])
    def events(self, request: Request, pk: str | None = None) -> Response:
        handoff = self.get_object()
        return Response(
            HandoffEventSerializer(handoff.events.order_by("created_at", "id"), many=True).data
        )


class RepFilter(django_filters.FilterSet):
    territory = django_filters.CharFilter(field_name="territories__code")
    is_active = django_filters.BooleanFilter()
    is_technical_expert = django_filters.BooleanFilter()

    class Meta:
        model = Rep
        fields = ["territory", "is_active", "is_technical_expert"]


@extend_schema_view(
    list=extend_schema(
        summary="Reps with capacity, availability and their count of open handoffs.",
        responses=ok_and_errors(RepSerializer(many=True), 400),
    ),
    retrieve=extend_schema(responses=ok_and_errors(RepSerializer, 404)),
    update=extend_schema(responses=ok_and_errors(RepSerializer, 400, 404)),
    partial_update=extend_schema(
        summary="Change a rep's coverage, capacity or availability.",
        responses=ok_and_errors(RepSerializer, 400, 404),
    ),
)
class RepViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Rep],
):
    serializer_class = RepSerializer
    filterset_class = RepFilter
    permission_classes = with_default_permissions(
        role_permission(read=(SALES, SALES_MANAGER, REVOPS), write=(SALES_MANAGER, REVOPS))
    )
    required_scopes = {"GET": "reps:read", "PUT": "reps:write", "PATCH": "reps:write"}

    def get_queryset(self) -> QuerySet[Rep]:
        return selectors.reps_with_load()

    def perform_update(self, serializer: RepSerializer) -> None:  # type: ignore[override]
        instance = serializer.instance
        assert instance is not None
        services.rep_update(
            rep_id=instance.pk, actor=self.request.user, fields=dict(serializer.validated_data)
        )


@extend_schema_view(
    list=extend_schema(
        summary="Routing rules in the order they are tried.",
        responses=ok_and_errors(RoutingRuleSerializer(many=True), 400),
    ),
    create=extend_schema(
        summary="Add a routing rule; without a position it goes last.",
        responses=ok_and_errors(RoutingRuleSerializer, 400, ok_code=201),
    ),
    retrieve=extend_schema(responses=ok_and_errors(RoutingRuleSerializer, 404)),
    update=extend_schema(responses=ok_and_errors(RoutingRuleSerializer, 400, 404)),
    partial_update=extend_schema(responses=ok_and_errors(RoutingRuleSerializer, 400, 404)),
    destroy=extend_schema(responses=ok_and_errors(None, 404, ok_code=204)),
)
class RoutingRuleViewSet(viewsets.ModelViewSet[RoutingRule]):
    serializer_class = RoutingRuleSerializer
    filterset_fields = ["is_active", "strategy"]
    permission_classes = with_default_permissions(
        role_permission(read=(SALES_MANAGER, REVOPS, MARKETING), write=(REVOPS,))
    )
    required_scopes = {
        "GET": "routing:read",
        "POST": "routing:write",
        "PUT": "routing:write",
        "PATCH": "routing:write",
        "DELETE": "routing:write",
        "dry_run": "routing:read",
    }

    def get_queryset(self) -> QuerySet[RoutingRule]:
        return selectors.routing_rules()

    def get_permissions(self) -> Sequence[Any]:
        if self.action == "dry_run":
            # A dry-run is a POST but writes nothing, so everyone who may read the rules may run it.
            readers = (SALES_MANAGER, REVOPS, MARKETING)
            classes = with_default_permissions(role_permission(read=readers, write=readers))
            return [permission() for permission in classes]
        return super().get_permissions()

    def perform_create(self, serializer: RoutingRuleSerializer) -> None:  # type: ignore[override]
        serializer.instance = services.routing_rule_create(
            actor=self.request.user, fields=dict(serializer.validated_data)
        )

    def perform_update(self, serializer: RoutingRuleSerializer) -> None:  # type: ignore[override]
        instance = serializer.instance
        assert instance is not None
        serializer.instance = services.routing_rule_update(
            rule_id=instance.pk, actor=self.request.user, fields=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance: RoutingRule) -> None:
        services.routing_rule_delete(rule_id=instance.pk, actor=self.request.user)

    @extend_schema(
        summary="Show where a lead would be routed now, with every rule tried and rep skipped; changes nothing.",
        request=DryRunInputSerializer,
        responses=ok_and_errors(DryRunSerializer, 400, 404),
    )
    @action(detail=False, methods=["post"], url_path="dry-run")
    def dry_run(self, request: Request) -> Response:
        data = DryRunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lead = (
            Lead.objects.select_related("account__owner")
            .filter(pk=data.validated_data["lead_id"])
            .first()
        )
        if lead is None:
            raise LeadNotFound(f"Lead {data.validated_data['lead_id']} does not exist.")
        settings_row = services.handoff_settings_get()
        decision = route_lead(lead, default_sla_hours=settings_row.default_sla_hours)
        return Response({"lead_id": lead.pk, "routing": decision.as_trace()})
