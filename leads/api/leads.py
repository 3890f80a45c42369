"""Leads under /api/v1/leads/: list, read, upsert, edit, transitions, events and scores.

The views parse the request, check the user's role and the lead's visibility,
call one service or selector and render the result. Every error response has
the one shape {"code", "message", "fields"} from leadflow.errors.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.viewsets import GenericViewSet

from integrations.mixins import PublicApiMixin
from integrations.permissions import HasScope
from leadflow.api import KeysetCursorPagination
from leads.api.common import (
    LEAD_READ_ROLES,
    LEAD_SCOPE_NOTE,
    LEAD_TRANSITION_ROLES,
    LEAD_WRITE_ROLES,
    HasActionRole,
    JsonApiMixin,
    RolesByActionMixin,
    error_responses,
    input_error_message,
    request_user,
)
from leads.errors import InvalidLeadData, LeadIdentityMismatch, LeadNotFound
from leads.filters import EVENT_ORDERING_FIELDS, LEAD_ORDERING_FIELDS, LeadEventFilter, LeadFilter
from leads.inputs import InputError, LeadInput, parse_lead, parse_lead_changes
from leads.models import EngagementEvent, Lead
from leads.normalize import normalize_email
from leads.selectors import lead_events, leads_visible_to
from leads.serializers import (
    EngagementEventSerializer,
    LeadChangesSerializer,
    LeadDetailSerializer,
    LeadInputSerializer,
    LeadScoreSerializer,
    LeadSerializer,
    StatusChangeSerializer,
    TransitionSerializer,
)
from leads.services import LeadMatch, lead_transition, lead_update, lead_upsert

UPSERT_DESCRIPTION = (
    "Creates the lead or updates it: 201 with a Location header when created, 200 when "
    "updated. Identity fields in the body are optional, and must equal the path's when sent; "
    "a difference is 400 `lead_identity_mismatch`. The lead's other identity (external id for "
    "this path by e-mail, e-mail for the path by external id) is stored when the lead has none; "
    "one that differs from the lead's, or belongs to another lead, is 409 "
    "`lead_identity_conflict`. A new lead links to the account of its company e-mail domain. "
    "The score is marked stale and recomputed in the background. Unknown and read-only fields "
    "are rejected. Send an Idempotency-Key header to retry safely. Needs the marketing or revops "
    "role."
)
UPSERT_RESPONSES = {
    201: OpenApiResponse(LeadDetailSerializer, description="The lead was created."),
    200: OpenApiResponse(LeadDetailSerializer, description="The lead was updated."),
    **error_responses(
        400,
        401,
        403,
        409,
        415,
        descriptions={
            409: "The other identity in the body belongs to another lead, or differs from "
            "the lead's."
        },
    ),
}


@extend_schema_view(
    list=extend_schema(
        summary="List leads",
        description=(
            "Leads with filters and ordering, newest first by default. Cursor pagination: "
            "follow `next` and `previous`; leads stored meanwhile never shift a page. "
            f"{LEAD_SCOPE_NOTE}"
        ),
        responses={200: LeadSerializer(many=True), **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="Get a lead with its scores and score breakdown",
        description=LEAD_SCOPE_NOTE,
        responses={200: LeadDetailSerializer, **error_responses(401, 403, 404)},
    ),
    create=extend_schema(
        summary="Create or update a lead",
        description=(
            "Creates the lead, or updates the one with the same e-mail address (or the same "
            "`source_system` and `external_id`): 201 when created, 200 when updated. A new "
            "lead links to the account of its company e-mail domain; free-mail addresses link "
            "to no account. The score is marked stale and recomputed in the background. "
            "Unknown and read-only fields are rejected. Needs the marketing or revops role."
        ),
        request=LeadInputSerializer,
        responses={
            201: OpenApiResponse(LeadDetailSerializer, description="The lead was created."),
            200: OpenApiResponse(LeadDetailSerializer, description="The lead was updated."),
            **error_responses(400, 401, 403, 415),
        },
    ),
    partial_update=extend_schema(
        summary="Edit a lead",
        description=(
            "Changes the fields sent and marks the score stale. The e-mail address, external "
            "id, status, owner and scores cannot be edited here; the status changes through "
            "the transition endpoint. Needs the marketing or revops role."
        ),
        request=LeadChangesSerializer,
        responses={200: LeadDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
    ),
)
class LeadViewSet(PublicApiMixin, JsonApiMixin, RolesByActionMixin, GenericViewSet):
    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    pagination_class = KeysetCursorPagination
    ordering_fields = LEAD_ORDERING_FIELDS
    ordering = "-created_at"
    permission_classes = [IsAuthenticated, HasScope, HasActionRole]
    required_scopes = {
        "GET": "leads:read",
        "POST": "leads:write",
        "PUT": "leads:write",
        "PATCH": "leads:write",
        "events": "events:read",
        "transition": "leads:write",
    }
    # The PUT upserts create leads, so a retry must not run twice either.
    idempotent_methods = ("POST", "PUT")
    lookup_value_regex = r"\d+"

    roles_by_action = {
        "list": LEAD_READ_ROLES,
        "retrieve": LEAD_READ_ROLES,
        "events": LEAD_READ_ROLES,
        "score": LEAD_READ_ROLES,
        "metadata": LEAD_READ_ROLES,
        "create": LEAD_WRITE_ROLES,
        "by_email": LEAD_WRITE_ROLES,
        "by_external_id": LEAD_WRITE_ROLES,
        "partial_update": LEAD_WRITE_ROLES,
        "transition": LEAD_TRANSITION_ROLES,
    }

    def get_queryset(self) -> QuerySet[Any]:
        # The events action lists events; the schema reads the model of its list from here.
        if getattr(self, "swagger_fake_view", False) and self.action == "events":
            return EngagementEvent.objects.none()
        if self.action == "events":
            return lead_events(lead_id=self.get_object().pk)
        return leads_visible_to(user=self.request.user)

    def get_object(self) -> Lead:
        lead_id = int(self.kwargs["pk"])
        lead = leads_visible_to(user=self.request.user).filter(pk=lead_id).first()
        if lead is None:
            raise LeadNotFound(f"Lead {lead_id} does not exist.")
        self.check_object_permissions(self.request, lead)
        return lead

    def list(self, request: Request) -> Response:
        leads = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(leads)
        return self.get_paginated_response(LeadSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(LeadDetailSerializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        try:
            data = parse_lead(request.data, strict=True)
        except InputError as error:
            raise InvalidLeadData(
                input_error_message("The lead", error.errors), extra={"fields": error.errors}
            ) from error

        lead, created = lead_upsert(data=data, actor=request_user(request))

        return Response(
            LeadDetailSerializer(lead).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def partial_update(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        try:
            changes = parse_lead_changes(request.data)
        except InputError as error:
            raise InvalidLeadData(
                input_error_message("The change", error.errors), extra={"fields": error.errors}
            ) from error

        updated = lead_update(lead_id=lead.pk, fields=changes, actor=request_user(request))

        return Response(LeadDetailSerializer(updated).data)

    @extend_schema(
        summary="Move a lead to another lifecycle status",
        description=(
            "Moves the lead if the lifecycle allows it (new → mql → sql → won | lost, with "
            "nurture and disqualified beside them) and records the step in the audit trail. "
            "Returns the recorded status change. An illegal move is 409 and changes nothing, "
            "and so is a move of a lead with a pending handoff (`handoff_pending`) or of an SQL "
            "whose accepted handoff is still open (`handoff_accepted`): those leads move through "
            "the handoff actions. "
            f"Open to every role. {LEAD_SCOPE_NOTE}"
        ),
        request=TransitionSerializer,
        responses={200: StatusChangeSerializer, **error_responses(400, 401, 403, 404, 409, 415)},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        change = lead_transition(
            lead_id=lead.pk,
            to_status=serializer.validated_data["to_status"],
            actor=request_user(request),
            reason=serializer.validated_data["reason"],
        )

        return Response(StatusChangeSerializer(change).data)

    @extend_schema(
        summary="List a lead's engagement events, newest first",
        description=f"Cursor pagination, as the event list. {LEAD_SCOPE_NOTE}",
        responses={
            200: EngagementEventSerializer(many=True),
            **error_responses(400, 401, 403, 404),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        filterset_class=LeadEventFilter,
        pagination_class=KeysetCursorPagination,
        ordering_fields=EVENT_ORDERING_FIELDS,
        ordering="-occurred_at",
    )
    def events(self, request: Request, pk: str) -> Response:
        events = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(events)
        return self.get_paginated_response(EngagementEventSerializer(page, many=True).data)

    @extend_schema(
        summary="Get a lead's scores and score breakdown",
        description=(
            "The fit and engagement scores, the rule-set version that computed them, and the "
            "points each rule gave. `score_stale` is true while a recomputation is pending; "
            f"`breakdown` is null until the lead is first scored. {LEAD_SCOPE_NOTE}"
        ),
        responses={200: LeadScoreSerializer, **error_responses(401, 403, 404)},
    )
    @action(detail=True, methods=["get"])
    def score(self, request: Request, pk: str) -> Response:
        return Response(LeadScoreSerializer(self.get_object()).data)

    @extend_schema(
        summary="Create or update the lead with an e-mail address",
        description=UPSERT_DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "email",
                str,
                OpenApiParameter.PATH,
                description="The lead's e-mail address, matched case-insensitively.",
            )
        ],
        request=LeadInputSerializer,
        responses=UPSERT_RESPONSES,
    )
    @action(detail=False, methods=["put"], url_path=r"by-email/(?P<email>[^/]+)")
    def by_email(self, request: Request, email: str) -> Response:
        return self._upsert(request, {"email": email}, match_on="email")

    @extend_schema(
        summary="Create or update the lead with an external id",
        description=UPSERT_DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "source_system",
                str,
                OpenApiParameter.PATH,
                description="The system the external id comes from, such as crm.",
            ),
            OpenApiParameter(
                "external_id",
                str,
                OpenApiParameter.PATH,
                description="The lead's id in that system.",
            ),
        ],
        request=LeadInputSerializer,
        responses=UPSERT_RESPONSES,
    )
    @action(
        detail=False,
        methods=["put"],
        url_path=r"by-external-id/(?P<source_system>[^/]+)/(?P<external_id>[^/]+)",
    )
    def by_external_id(self, request: Request, source_system: str, external_id: str) -> Response:
        return self._upsert(
            request,
            {"source_system": source_system, "external_id": external_id},
            match_on="external_id",
        )

    def _upsert(self, request: Request, identity: dict[str, str], match_on: LeadMatch) -> Response:
        data = _parse_upsert(request.data, identity)

        lead, created = lead_upsert(data=data, actor=request_user(request), match_on=match_on)

        if not created:
            return Response(LeadDetailSerializer(lead).data)
        location = reverse("lead-detail", kwargs={"pk": lead.pk}, request=request)
        return Response(
            LeadDetailSerializer(lead).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )


def _parse_upsert(body: Any, identity: dict[str, str]) -> LeadInput:
    """Validate an upsert body whose identity comes from the path; the body may repeat it."""
    if not isinstance(body, dict):
        return _parse(body)

    mismatched = {}
    for name, path_value in identity.items():
        sent = body.get(name)
        if sent is None:
            continue
        if name == "email":
            same = isinstance(sent, str) and normalize_email(sent) == normalize_email(path_value)
        else:
            # parse_lead takes numbers as text and strips blanks, so compare the same way.
            same = (
                isinstance(sent, (str, int))
                and not isinstance(sent, bool)
                and str(sent).strip() == path_value.strip()
            )
        if not same:
            mismatched[name] = [f"{sent!r} differs from the path's {path_value!r}."]
    if mismatched:
        names = sorted(mismatched)
        raise LeadIdentityMismatch(
            f"The body's {' and '.join(names)} {'differs' if len(names) == 1 else 'differ'} from "
            "the path, so it names another lead; send the path's values or leave these fields "
            "out of the body.",
            extra={"fields": mismatched},
        )

    return _parse({**body, **identity})


def _parse(body: Any) -> LeadInput:
    try:
        return parse_lead(body, strict=True)
    except InputError as error:
        raise InvalidLeadData(
            input_error_message("The lead", error.errors), extra={"fields": error.errors}
        ) from error
