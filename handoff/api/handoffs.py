"""Handoffs under /api/v1/handoffs/: the list, one handoff, its audit trail, and the decisions."""

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
from handoff.api.common import (
    ACCEPT_ROLES,
    DECIDE_ROLES,
    HANDOFF_ERRORS,
    HANDOFF_READ_ROLES,
    HANDOFF_SCOPE_NOTE,
    REASSIGN_ROLES,
    SEND_ROLES,
    WITHDRAW_ROLES,
)
from handoff.errors import HandoffNotFound
from handoff.filters import HANDOFF_ORDERING_FIELDS, HandoffFilter
from handoff.models import Handoff
from handoff.serializers import (
    AcceptInputSerializer,
    CloseInputSerializer,
    HandoffEventSerializer,
    HandoffSerializer,
    NoteInputSerializer,
    ReassignInputSerializer,
    RejectInputSerializer,
    SendInputSerializer,
    SendResultSerializer,
)
from integrations.mixins import PublicApiMixin
from integrations.permissions import HasScope
from leadflow.api import KeysetCursorPagination, StrictQueryParamsFilter
from leads.api.common import (
    HasActionRole,
    JsonApiMixin,
    RolesByActionMixin,
    error_responses,
    request_user,
)


def handoff_errors(*status_codes: int) -> dict[int, Any]:
    return error_responses(*status_codes, descriptions=HANDOFF_ERRORS)


@extend_schema_view(
    list=extend_schema(
        summary="List handoffs",
        description="Newest first by default, in cursor pages. `in_queue=true` lists the "
        f"fallback queue. {HANDOFF_SCOPE_NOTE}",
        responses={200: HandoffSerializer(many=True), **handoff_errors(403)},
    ),
    retrieve=extend_schema(
        summary="Get a handoff with its context snapshot and routing trace",
        description=HANDOFF_SCOPE_NOTE,
        responses={200: HandoffSerializer, **handoff_errors(403, 404)},
    ),
)
class HandoffViewSet(PublicApiMixin, JsonApiMixin, RolesByActionMixin, GenericViewSet):
    serializer_class = HandoffSerializer
    filterset_class = HandoffFilter
    pagination_class = KeysetCursorPagination
    ordering_fields = HANDOFF_ORDERING_FIELDS
    ordering = "-created_at"
    permission_classes = [IsAuthenticated, HasScope, HasActionRole]
    required_scopes = {
        "GET": "handoffs:read",
        "send": "handoffs:write",
        "accept": "handoffs:write",
        "reject": "handoffs:write",
        "close": "handoffs:write",
        "withdraw": "handoffs:write",
        "reassign": "handoffs:write",
    }
    lookup_value_regex = r"\d+"

    roles_by_action = {
        "list": HANDOFF_READ_ROLES,
        "retrieve": HANDOFF_READ_ROLES,
        "events": HANDOFF_READ_ROLES,
        "metadata": HANDOFF_READ_ROLES,
        "send": SEND_ROLES,
        "accept": ACCEPT_ROLES,
        "reject": DECIDE_ROLES,
        "close": DECIDE_ROLES,
        "withdraw": WITHDRAW_ROLES,
        "reassign": REASSIGN_ROLES,
    }

    def get_queryset(self) -> QuerySet[Handoff]:
        # The schema generator calls this without a user; it only needs the model.
        if getattr(self, "swagger_fake_view", False):
            return Handoff.objects.none()
        user = request_user(self.request)
        if self.action == "accept":
            # A rep may also claim a handoff waiting in the fallback queue.
            return selectors.handoffs_actionable_by(user)
        return selectors.handoffs_visible_to(user)

    def get_object(self) -> Handoff:
        handoff_id = int(self.kwargs["pk"])
        handoff = self.get_queryset().filter(pk=handoff_id).first()
        if handoff is None:
            raise HandoffNotFound(f"Handoff {handoff_id} does not exist.")
        return handoff

    def list(self, request: Request) -> Response:
        handoffs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(handoffs)
        return self.get_paginated_response(HandoffSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(HandoffSerializer(self.get_object()).data)

    @extend_schema(
        summary="List a handoff's audit trail, oldest first",
        description="Every step of this handoff: sent, assigned or queued, technical expert "
        "assigned, the decision, SLA breach and escalation, reassignment, outcome. A handoff "
        "has a handful of steps, because a reassignment continues on a new handoff, so the "
        f"trail is one array rather than pages. {HANDOFF_SCOPE_NOTE}",
        responses={200: HandoffEventSerializer(many=True), **handoff_errors(403, 404)},
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[StrictQueryParamsFilter],
        pagination_class=None,
    )
    def events(self, request: Request, pk: str) -> Response:
        handoff = self.get_object()
        events = self.filter_queryset(handoff.events.order_by("created_at", "id"))
        return Response(HandoffEventSerializer(events, many=True).data)

    @extend_schema(
        summary="Send MQLs to sales",
        description="Snapshots each lead's context, routes it and opens a pending handoff. "
        "Each lead is sent on its own: the response lists the handoffs created and, per lead "
        "that was not sent, the reason (not found, not an MQL, already handed off, or missing "
        "the context the handoff settings require). Needs the marketing or revops role.",
        request=SendInputSerializer,
        responses={200: SendResultSerializer, **handoff_errors(400, 403)},
    )
    @action(detail=False, methods=["post"])
    def send(self, request: Request) -> Response:
        serializer = SendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        result = services.handoff_send(
            lead_ids=serializer.validated_data["lead_ids"],
            actor=request_user(request),
            marketing_notes=serializer.validated_data["marketing_notes"],
        )

        return Response(result.as_dict())

    @extend_schema(
        summary="Accept a handoff",
        description="The lead becomes an SQL owned by you, with the qualification and next "
        "step recorded. The handoff settings name the required fields; a missing one is 400 "
        "qualification_missing naming it. A next-step date in the past or more than two years "
        "ahead is 400 qualification_invalid, and a text over its maxLength is 400 invalid. A rep "
        "may accept a handoff assigned to them, or one waiting in the fallback queue while "
        "available and below capacity. Needs the sales role and a rep profile.",
        request=AcceptInputSerializer,
        responses={200: HandoffSerializer, **handoff_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        handoff = self.get_object()
        serializer = AcceptInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        next_step = values.pop("next_step")
        next_step_date = values.pop("next_step_date")

        handoff = services.handoff_accept(
            handoff_id=handoff.pk,
            actor=request_user(request),
            qualification=values,
            next_step=next_step,
            next_step_date=next_step_date,
        )

        return self._respond(handoff)

    @extend_schema(
        summary="Reject a handoff with a reason",
        description="not_a_fit, wrong_contact and duplicate disqualify the lead; "
        "no_active_need and bad_timing send it to nurture. The assigned rep, a sales manager "
        "or revops may reject.",
        request=RejectInputSerializer,
        responses={200: HandoffSerializer, **handoff_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        handoff = self.get_object()
        serializer = RejectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        handoff = services.handoff_reject(
            handoff_id=handoff.pk,
            actor=request_user(request),
            reason=serializer.validated_data["reason"],
            note=serializer.validated_data["note"],
        )

        return self._respond(handoff)

    @extend_schema(
        summary="Close an accepted SQL as won or lost",
        description="The lead becomes won or lost. The reason must belong to the outcome, "
        "else the answer is 400 invalid_handoff_input listing the reasons that do. The owning "
        "rep, a sales manager or revops may close.",
        request=CloseInputSerializer,
        responses={200: HandoffSerializer, **handoff_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        handoff = self.get_object()
        serializer = CloseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        handoff = services.handoff_close(
            handoff_id=handoff.pk,
            actor=request_user(request),
            outcome=serializer.validated_data["outcome"],
            reason=serializer.validated_data["reason"],
            note=serializer.validated_data["note"],
        )

        return self._respond(handoff)

    @extend_schema(
        summary="Take a pending handoff back to marketing",
        description="The handoff closes as withdrawn and the lead stays an MQL, so it can be "
        "sent again. Needs the marketing or revops role.",
        request=NoteInputSerializer,
        responses={200: HandoffSerializer, **handoff_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        handoff = self.get_object()
        serializer = NoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        handoff = services.handoff_withdraw(
            handoff_id=handoff.pk,
            actor=request_user(request),
            note=serializer.validated_data["note"],
        )

        return self._respond(handoff)

    @extend_schema(
        summary="Reassign a pending handoff",
        description="Closes the handoff as reassigned and returns the new handoff: for "
        "`to_rep`, who must be available and below capacity, or without it for the rep "
        "routing picks next, skipping every rep who held the lead. The `Location` header "
        "names the new handoff. An unknown or unavailable `to_rep` is 400. Needs the sales manager or revops role.",
        request=ReassignInputSerializer,
        responses={201: HandoffSerializer, **handoff_errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str) -> Response:
        handoff = self.get_object()
        serializer = ReassignInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        to_rep = serializer.validated_data["to_rep"]

        successor = services.handoff_reassign(
            handoff_id=handoff.pk,
            actor=request_user(request),
            to_rep_id=to_rep.pk if to_rep is not None else None,
            note=serializer.validated_data["note"],
        )

        location = reverse("handoff-detail", kwargs={"pk": successor.pk}, request=request)
        return self._respond(successor, status.HTTP_201_CREATED, headers={"Location": location})

    def _respond(
        self,
        handoff: Handoff,
        code: int = status.HTTP_200_OK,
        headers: dict[str, str] | None = None,
    ) -> Response:
        fresh = selectors.handoff_queryset().get(pk=handoff.pk)
        return Response(HandoffSerializer(fresh).data, status=code, headers=headers)
