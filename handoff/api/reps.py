"""Sales reps under /api/v1/reps/: list, read, and edit coverage, capacity and availability."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from handoff import selectors, services
from handoff.api.common import REP_ERRORS, REP_READ_ROLES, REP_WRITE_ROLES
from handoff.errors import RepNotFound
from handoff.filters import REP_ORDERING_FIELDS, RepFilter
from handoff.models import Rep
from handoff.serializers import RepSerializer
from integrations.mixins import PublicApiMixin
from integrations.permissions import HasScope
from leads.api.common import (
    HasActionRole,
    JsonApiMixin,
    RolesByActionMixin,
    error_responses,
    request_user,
)

EDIT_DESCRIPTION = (
    "Changes the fields sent; `territories` replaces the rep's list. Routing reads the new "
    "values from the next assignment on; pending handoffs stay with the rep. Needs the sales "
    "manager or revops role."
)


def rep_errors(*status_codes: int) -> dict[int, Any]:
    return error_responses(*status_codes, descriptions=REP_ERRORS)


@extend_schema_view(
    list=extend_schema(
        summary="List reps",
        description="Reps with coverage, capacity, availability and their count of pending "
        "handoffs (`open_handoffs`); by username by default, in numbered pages.",
        responses={200: RepSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="Get a rep", responses={200: RepSerializer, **rep_errors(404)}),
    update=extend_schema(
        summary="Edit a rep",
        description=EDIT_DESCRIPTION,
        responses={200: RepSerializer, **rep_errors(400, 404)},
    ),
    partial_update=extend_schema(
        summary="Edit some fields of a rep",
        description=EDIT_DESCRIPTION,
        responses={200: RepSerializer, **rep_errors(400, 404)},
    ),
)
class RepViewSet(PublicApiMixin, JsonApiMixin, RolesByActionMixin, GenericViewSet):
    serializer_class = RepSerializer
    filterset_class = RepFilter
    ordering_fields = REP_ORDERING_FIELDS
    ordering = "username"
    permission_classes = [IsAuthenticated, HasScope, HasActionRole]
    required_scopes = {"GET": "reps:read", "PUT": "reps:write", "PATCH": "reps:write"}
    lookup_value_regex = r"\d+"

    roles_by_action = {
        "list": REP_READ_ROLES,
        "retrieve": REP_READ_ROLES,
        "metadata": REP_READ_ROLES,
        "update": REP_WRITE_ROLES,
        "partial_update": REP_WRITE_ROLES,
    }

    def get_queryset(self) -> QuerySet[Rep]:
        # Named as the ordering parameter takes them: the output fields username and open_handoffs.
        return selectors.reps_with_load().annotate(
            username=F("user__username"), open_handoffs=F("open_count")
        )

    def get_object(self) -> Rep:
        rep_id = int(self.kwargs["pk"])
        rep = self.get_queryset().filter(pk=rep_id).first()
        if rep is None:
            raise RepNotFound(f"Rep {rep_id} does not exist.")
        return rep

    def list(self, request: Request) -> Response:
        reps = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(reps)
        return self.get_paginated_response(RepSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(RepSerializer(self.get_object()).data)

    def update(self, request: Request, pk: str) -> Response:
        return self._update(request, partial=False)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        rep = self.get_object()
        serializer = RepSerializer(rep, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)

        services.rep_update(
            rep_id=rep.pk, actor=request_user(request), fields=dict(serializer.validated_data)
        )

        # Read the rep again: the service saved its own copy of the row.
        return Response(RepSerializer(self.get_object()).data)
