"""REST API of leads and engagement events, under /api/v1/.

The views parse the request, check the user's role and the lead's visibility,
call one service or selector and render the result. Every error response has
the one shape {"code", "message", "fields"} from leadflow.errors.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated, ParseError, UnsupportedMediaType
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from integrations.mixins import PublicApiMixin
from integrations.permissions import HasScope
from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER, has_role
from leads.errors import (
    InvalidEvent,
    InvalidEventRequest,
    InvalidLeadData,
    LeadNotFound,
    RequestTooLarge,
)
from leads.filters import LeadFilter
from leads.inputs import InputError, parse_lead, parse_lead_changes
from leads.models import Lead
from leads.parsers import OrjsonParserMixin
from leads.selectors import lead_events, leads_visible_to
from leads.serializers import (
    EngagementEventSerializer,
    ErrorSerializer,
    EventBatchResultSerializer,
    EventInputSerializer,
    EventResultSerializer,
    LeadChangesSerializer,
    LeadDetailSerializer,
    LeadInputSerializer,
    LeadSerializer,
    StatusChangeSerializer,
    TransitionSerializer,
)
from leads.services import events_ingest, lead_transition, lead_update, lead_upsert

logger = logging.getLogger(__name__)

MAX_EVENTS_PER_REQUEST = 1000
# 1,000 events with long URLs and some properties fit well within this limit. The limit is
# checked before parsing, so an oversized body is never read into memory.
MAX_EVENT_BODY_BYTES = 8 * 1024 * 1024

EVENT_ROLES = (MARKETING, REVOPS)
LEAD_READ_ROLES = (MARKETING, REVOPS, SALES_MANAGER, SALES)
LEAD_WRITE_ROLES = (MARKETING, REVOPS)
LEAD_TRANSITION_ROLES = (MARKETING, REVOPS, SALES_MANAGER, SALES)

ERROR_DESCRIPTIONS = {
    400: "Invalid input or malformed JSON; `fields` names each invalid field.",
    401: "No valid token or session was sent.",
    403: "The user lacks the role this action needs.",
    404: "The lead does not exist, or is not visible to the user.",
    405: "The method is not allowed on this path.",
    409: "The lifecycle does not allow this status change from the lead's current status.",
    413: "The body is larger than the maximum of 8 MiB.",
    415: "The body is not JSON; send Content-Type: application/json.",
}


def error_responses(*status_codes: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in status_codes
    }


class HasActionRole(BasePermission):
    """Allow a request when the user has one of the roles the view requires for it.

    The view's `required_roles()` returns None for a method it does not route,
    which passes here so that the user gets 405 rather than 403.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        roles: tuple[str, ...] | None = view.required_roles()
        if roles is None or has_role(request.user, *roles):
            return True
        self.message = (
            f"This action needs one of the roles {', '.join(roles)}; "
            "ask an administrator to add your user to one of these groups."
        )
        return False


class JsonBodyParser(JSONParser):
    """JSON parser whose error names the fix as well as the problem."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except ParseError as error:
            raise ParseError(
                f"{error.detail}. Send a valid JSON document; check quotes, commas and brackets."
            ) from error


class JsonApiMixin:
    """Accept only JSON bodies, and name the fix when a request sends another media type."""

    parser_classes: Sequence[type[BaseParser]] = [JsonBodyParser]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, UnsupportedMediaType):
            exc = UnsupportedMediaType(
                media_type=str(exc.detail),
                detail=f"{exc.detail} Send the body as JSON with Content-Type: application/json.",
            )
        return super().handle_exception(exc)  # type: ignore[misc]


class ApiPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def _request_user(request: Request) -> AbstractBaseUser:
    user = request.user
    if not isinstance(user, AbstractBaseUser):
        raise NotAuthenticated()
    return user


def _input_error_message(subject: str, errors: dict[str, list[str]]) -> str:
    problems = [
        " ".join(messages) if name == "non_field_errors" else f"{name}: {' '.join(messages)}"
        for name, messages in errors.items()
    ]
    return f"{subject} is invalid. {' '.join(problems)}"


class FastJsonBodyParser(OrjsonParserMixin, JsonBodyParser):
    """JsonBodyParser on orjson for the ingest hot path; what orjson rejects gets the usual error."""


class EventIngestView(PublicApiMixin, JsonApiMixin, APIView):
    parser_classes = [FastJsonBodyParser]
    permission_classes = [IsAuthenticated, HasScope, HasActionRole]
    required_scopes = {"POST": "events:write"}

    def required_roles(self) -> tuple[str, ...] | None:
        return EVENT_ROLES if self.request.method in ("POST", "OPTIONS") else None

    @extend_schema(
        operation_id="events_ingest",
        summary="Ingest engagement events",
        description=(
            "Send one event object, or a list of 1 to 1,000 event objects. Each event names its "
            "lead by `email` (an unknown address creates the lead, linked to the account of its "
            "company domain; free-mail addresses link to no account), by `lead_id`, or by "
            "`lead_external_id` with `source_system`. An event whose `external_id` is already "
            "stored, or appears earlier in the same request, is a duplicate and changes nothing.\n\n"
            "**A single object** is answered with its result: 201 when stored, 200 when it is a "
            "duplicate, 400 in the error shape when it is invalid.\n\n"
            "**A list** is answered with 200 and one result per item in request order, plus counts. "
            "Valid items are stored even when others are invalid; check `counts.error`. An item "
            "that is not an object is an error result.\n\n"
            "The whole request is rejected with 400, storing nothing, when the body is empty, is "
            "malformed JSON, is neither an object nor a list, or is a list that is empty or longer "
            "than 1,000 items.\n\n"
            "Needs the marketing or revops role."
        ),
        request=PolymorphicProxySerializer(
            component_name="EventIngestRequest",
            serializers=[EventInputSerializer(), EventInputSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: OpenApiResponse(EventResultSerializer, description="The single event was stored."),
            200: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="EventIngestResponse",
                    serializers=[EventResultSerializer, EventBatchResultSerializer],
                    resource_type_field_name=None,
                    many=False,
                ),
                description="A list: one result per item, in request order, with counts. "
                "A single object: it is a duplicate of a stored event.",
            ),
            **error_responses(400, 401, 403, 413, 415),
        },
    )
    def post(self, request: Request) -> Response:
        _check_body_size(request)
        body = request.data

        if isinstance(body, dict):
            return self._ingest_one(request, body)
        if not isinstance(body, list):
            raise InvalidEventRequest(
                f"Expected an event object or a list of event objects, got "
                f"{_json_type_name(body)}; send JSON such as "
                '[{"kind": "page_view", "email": "name@example.com", '
                '"occurred_at": "2026-03-01T14:30:00Z"}].',
                code="invalid_body",
            )
        if not body:
            raise InvalidEventRequest(
                f"The list of events is empty; send 1 to {MAX_EVENTS_PER_REQUEST:,} events.",
                code="empty_batch",
            )
        if len(body) > MAX_EVENTS_PER_REQUEST:
            raise InvalidEventRequest(
                f"{len(body):,} events is more than the maximum of {MAX_EVENTS_PER_REQUEST:,} "
                "per request; split them into several requests.",
                code="batch_too_large",
            )

        results = [result.as_dict() for result in events_ingest(items=body, source="api")]
        counts = Counter(result["status"] for result in results)
        body_counts = {
            "total": len(results),
            "created": counts["created"],
            "duplicate": counts["duplicate"],
            "error": counts["error"],
        }
        logger.info(
            "User %s sent %s events: %s created, %s duplicate, %s invalid",
            request.user.pk,
            len(results),
            body_counts["created"],
            body_counts["duplicate"],
            body_counts["error"],
        )
        return Response({"results": results, "counts": body_counts})

    def _ingest_one(self, request: Request, item: dict[str, Any]) -> Response:
        result = events_ingest(items=[item], source="api")[0]
        logger.info("User %s sent 1 event: %s", request.user.pk, result.status)
        if result.status == "error":
            errors = result.errors or {}
            raise InvalidEvent(_input_error_message("The event", errors), extra={"fields": errors})
        created = result.status == "created"
        return Response(
            result.as_dict(), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


def _check_body_size(request: Request) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length == 0:
        raise InvalidEventRequest(
            "The body is empty; send an event object or a list of 1 to "
            f"{MAX_EVENTS_PER_REQUEST:,} event objects as JSON.",
            code="empty_body",
        )
    if length > MAX_EVENT_BODY_BYTES:
        raise RequestTooLarge(
            f"The body of {length:,} bytes is larger than the maximum of "
            f"{MAX_EVENT_BODY_BYTES:,} bytes; split the events into several requests."
        )


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


LEAD_SCOPE_NOTE = (
    "Marketing, revops and sales managers see every lead; a sales rep sees only the leads "
    "they own, and gets 404 for any other."
)


@extend_schema_view(
    list=extend_schema(
        summary="List leads",
        description=f"Leads with filters and ordering, newest first by default. {LEAD_SCOPE_NOTE}",
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
class LeadViewSet(PublicApiMixin, JsonApiMixin, GenericViewSet):
    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    pagination_class = ApiPagination
    permission_classes = [IsAuthenticated, HasScope, HasActionRole]
    required_scopes = {
        "GET": "leads:read",
        "POST": "leads:write",
        "PATCH": "leads:write",
        "events": "events:read",
        "transition": "leads:write",
    }
    lookup_value_regex = r"\d+"

    roles_by_action: dict[str, tuple[str, ...]] = {
        "list": LEAD_READ_ROLES,
        "retrieve": LEAD_READ_ROLES,
        "events": LEAD_READ_ROLES,
        "metadata": LEAD_READ_ROLES,
        "create": LEAD_WRITE_ROLES,
        "partial_update": LEAD_WRITE_ROLES,
        "transition": LEAD_TRANSITION_ROLES,
    }

    def required_roles(self) -> tuple[str, ...] | None:
        if self.action is None:
            return None
        # An action missing from the table is denied to every user until it is listed.
        return self.roles_by_action.get(self.action, ())

    def get_queryset(self) -> QuerySet[Lead]:
        return leads_visible_to(user=self.request.user).order_by("-created_at", "-id")

    def get_object(self) -> Lead:
        lead_id = int(self.kwargs["pk"])
        lead = self.get_queryset().filter(pk=lead_id).first()
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
                _input_error_message("The lead", error.errors), extra={"fields": error.errors}
            ) from error

        lead, created = lead_upsert(data=data, actor=_request_user(request))

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
                _input_error_message("The change", error.errors), extra={"fields": error.errors}
            ) from error

        updated = lead_update(lead_id=lead.pk, fields=changes, actor=_request_user(request))

        return Response(LeadDetailSerializer(updated).data)

    @extend_schema(
        summary="Move a lead to another lifecycle status",
        description=(
            "Moves the lead if the lifecycle allows it (new → mql → sql → won | lost, with "
            "nurture and disqualified beside them) and records the step in the audit trail. "
            "Returns the recorded status change. An illegal move is 409 and changes nothing. "
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
            actor=_request_user(request),
            reason=serializer.validated_data["reason"],
        )

        return Response(StatusChangeSerializer(change).data)

    @extend_schema(
        summary="List a lead's engagement events, newest first",
        description=LEAD_SCOPE_NOTE,
        responses={200: EngagementEventSerializer(many=True), **error_responses(401, 403, 404)},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request: Request, pk: str) -> Response:
        lead = self.get_object()
        page = self.paginate_queryset(lead_events(lead_id=lead.pk))
        return self.get_paginated_response(EngagementEventSerializer(page, many=True).data)
