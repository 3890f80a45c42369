"""Engagement events under /api/v1/events/: the list across leads, one event, and ingest."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from integrations.mixins import PublicApiMixin
from integrations.permissions import HasScope
from leadflow.api import KeysetCursorPagination
from leadflow.api.parsers import OrjsonParserMixin
from leads.api.common import (
    EVENT_ROLES,
    LEAD_READ_ROLES,
    LEAD_SCOPE_NOTE,
    HasActionRole,
    JsonApiMixin,
    JsonBodyParser,
    RolesByActionMixin,
    error_responses,
    input_error_message,
)
from leads.errors import EventNotFound, InvalidEvent, InvalidEventRequest, RequestTooLarge
from leads.filters import EVENT_ORDERING_FIELDS, EventFilter
from leads.models import EngagementEvent
from leads.selectors import events_visible_to
from leads.serializers import (
    EngagementEventSerializer,
    EventBatchResultSerializer,
    EventInputSerializer,
    EventResultSerializer,
)
from leads.services import events_ingest

logger = logging.getLogger(__name__)

MAX_EVENTS_PER_REQUEST = 1000
# 1,000 events with long URLs and some properties fit well within this limit. The limit is
# checked before parsing, so an oversized body is never read into memory.
MAX_EVENT_BODY_BYTES = 8 * 1024 * 1024

EVENT_NOT_FOUND = {404: "The event does not exist, or its lead is not visible to the user."}


class FastJsonBodyParser(OrjsonParserMixin, JsonBodyParser):
    """JsonBodyParser on orjson for the ingest hot path; what orjson rejects gets the usual error."""


@extend_schema_view(
    list=extend_schema(
        summary="List engagement events across leads",
        description=(
            "Events newest first by default, with filters. Cursor pagination: follow `next` "
            "and `previous`; rows stored meanwhile never shift a page. A sales rep sees only "
            "the events of the leads they own."
        ),
        responses={200: EngagementEventSerializer(many=True), **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="Get one engagement event",
        description=LEAD_SCOPE_NOTE,
        responses={
            200: EngagementEventSerializer,
            **error_responses(401, 403, 404, descriptions=EVENT_NOT_FOUND),
        },
    ),
)
class EventViewSet(PublicApiMixin, JsonApiMixin, RolesByActionMixin, GenericViewSet):
    parser_classes = [FastJsonBodyParser]
    serializer_class = EngagementEventSerializer
    filterset_class = EventFilter
    pagination_class = KeysetCursorPagination
    ordering_fields = EVENT_ORDERING_FIELDS
    ordering = "-occurred_at"
    permission_classes = [IsAuthenticated, HasScope, HasActionRole]
    required_scopes = {"GET": "events:read", "POST": "events:write"}
    lookup_value_regex = r"\d+"

    roles_by_action = {
        "list": LEAD_READ_ROLES,
        "retrieve": LEAD_READ_ROLES,
        "metadata": LEAD_READ_ROLES,
        "create": EVENT_ROLES,
    }

    def get_queryset(self) -> QuerySet[EngagementEvent]:
        return events_visible_to(user=self.request.user)

    def list(self, request: Request) -> Response:
        events = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(events)
        return self.get_paginated_response(EngagementEventSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        event = self.get_queryset().filter(pk=int(pk)).first()
        if event is None:
            raise EventNotFound(f"Event {pk} does not exist.")
        return Response(EngagementEventSerializer(event).data)

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
    def create(self, request: Request) -> Response:
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
            raise InvalidEvent(input_error_message("The event", errors), extra={"fields": errors})
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
