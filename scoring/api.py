"""REST API of scoring rule sets under /api/v1/rulesets/.

The same operations as the revops pages: list and read versions, start and
edit drafts, simulate, publish, restore and export. Versions are addressed by
their version number. Reads need the revops or marketing role, changes the
revops role; API keys need rulesets:read or rulesets:write.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.urls import reverse
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
from rest_framework.viewsets import GenericViewSet

from integrations.mixins import PublicApiMixin
from integrations.permissions import HasScope
from leadflow.roles import MARKETING, REVOPS
from leads.api import ApiPagination, HasActionRole, JsonApiMixin, error_responses
from leads.serializers import ErrorSerializer
from scoring import rulesets, selectors, services, simulation
from scoring.errors import (
    InvalidRuleSet,
    RescoreRunNotFound,
    RuleSetChanged,
    RuleSetNotFound,
    SimulationNotFound,
)
from scoring.models import RescoreRun, RuleSet
from scoring.rules import document_from_ruleset
from scoring.serializers import (
    RescoreRunSerializer,
    RuleSetCreateSerializer,
    RuleSetDetailSerializer,
    RuleSetDocumentSerializer,
    RuleSetSerializer,
    SimulationSerializer,
)

logger = logging.getLogger(__name__)

READ_ROLES = (REVOPS, MARKETING)
WRITE_ROLES = (REVOPS,)
# An If-Match value of this API: the ETag of a version, "v<version>r<revision>".
ETAG_PATTERN = re.compile(r'^(?:W/)?"v(\d+)r(\d+)"$')

VERSION_PARAMETER = OpenApiParameter(
    "version", int, OpenApiParameter.PATH, description="The rule set's version number."
)
IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description='The ETag of the version as last read, such as "v5r3". A draft changed since '
    "then is not overwritten: the answer is 412 ruleset_changed.",
)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


EDIT_ERRORS = {
    400: _error("The document is invalid; `fields` lists every error by path."),
    409: _error("The version is not a draft; restore it as a new draft to change it."),
    412: _error("If-Match names an older revision: someone changed the draft; read it again."),
}


class RuleSetFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RuleSet.Status.choices)

    class Meta:
        model = RuleSet
        fields = ["status"]


def _etag(ruleset: RuleSet) -> str:
    return f'"v{ruleset.version}r{ruleset.revision}"'


def _expected_revision(request: Request, version: int) -> int | None:
    """Read the revision an If-Match header names; None without the header."""
    header = request.headers.get("If-Match")
    if not header:
        return None
    match = ETAG_PATTERN.match(header.strip())
    if match is None or int(match.group(1)) != version:
        raise RuleSetChanged(
            f"If-Match {header} does not name a revision of version {version}; send the ETag "
            f'of your last read of this version, such as "v{version}r1".'
        )
    return int(match.group(2))


@extend_schema_view(
    list=extend_schema(
        summary="List rule-set versions",
        description="Every version, newest first; filter by `status`. Needs revops or marketing.",
        responses={200: RuleSetSerializer(many=True), **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="Get a version with its rules and history",
        description="The response's ETag header names the revision, for If-Match on an edit.",
        parameters=[VERSION_PARAMETER],
        responses={200: RuleSetDetailSerializer},
    ),
    create=extend_schema(
        summary="Start a draft",
        description=(
            "Copies `from_version`, or stores `document` as a new draft (an import), or copies "
            "the published version when the body is `{}`. Invalid documents are 400 with every "
            "error keyed by path in `fields`. Needs revops."
        ),
        request=RuleSetCreateSerializer,
        responses={201: RuleSetDetailSerializer, **error_responses(400, 401, 403, 415)},
    ),
    update=extend_schema(
        summary="Replace a draft's document",
        description=(
            "Sends a whole document. Only drafts change: other versions are 409. The change "
            "is recorded in the history. Needs revops."
        ),
        parameters=[VERSION_PARAMETER, IF_MATCH_PARAMETER],
        request=RuleSetDocumentSerializer,
        responses={200: RuleSetDetailSerializer, **EDIT_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change fields of a draft",
        description=(
            "Each top-level field sent replaces the draft's (a list of rules is one field). "
            "Only drafts change: other versions are 409. Needs revops."
        ),
        parameters=[VERSION_PARAMETER, IF_MATCH_PARAMETER],
        request=RuleSetDocumentSerializer,
        responses={200: RuleSetDetailSerializer, **EDIT_ERRORS},
    ),
)
class RuleSetViewSet(PublicApiMixin, JsonApiMixin, GenericViewSet):
    serializer_class = RuleSetSerializer
    filterset_class = RuleSetFilter
    pagination_class = ApiPagination
    permission_classes = [IsAuthenticated, HasScope, HasActionRole]
    lookup_field = "version"
    lookup_value_regex = r"\d+"
    required_scopes = {
        "GET": "rulesets:read",
        "POST": "rulesets:write",
        "PUT": "rulesets:write",
        "PATCH": "rulesets:write",
    }
    roles_by_action: dict[str, tuple[str, ...]] = {
        "list": READ_ROLES,
        "retrieve": READ_ROLES,
        "export": READ_ROLES,
        "simulation": READ_ROLES,
        "rescore_run": READ_ROLES,
        "metadata": READ_ROLES,
        "create": WRITE_ROLES,
        "update": WRITE_ROLES,
        "partial_update": WRITE_ROLES,
        "simulate": WRITE_ROLES,
        "publish": WRITE_ROLES,
        "restore": WRITE_ROLES,
    }

    def required_roles(self) -> tuple[str, ...] | None:
        if self.action is None:
            return None
        # An action missing from the table is denied to every user until it is listed.
        return self.roles_by_action.get(self.action, ())

    def get_queryset(self) -> QuerySet[RuleSet]:
        return selectors.ruleset_versions()

    def get_object(self) -> RuleSet:
        version = int(self.kwargs["version"])
        ruleset = self.get_queryset().filter(version=version).first()
        if ruleset is None:
            raise RuleSetNotFound(f"Rule set version {version} does not exist.")
        return ruleset

    def _detail(self, ruleset: RuleSet, *, status_code: int = 200, **headers: str) -> Response:
        ruleset = self.get_queryset().get(pk=ruleset.pk)
        response = Response(
            RuleSetDetailSerializer(ruleset).data, status=status_code, headers=headers
        )
        response["ETag"] = _etag(ruleset)
        return response

    def _user(self) -> Any:
        return self.request.user if self.request.user.is_authenticated else None

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RuleSetSerializer(page, many=True).data)

    def retrieve(self, request: Request, version: str) -> Response:
        return self._detail(self.get_object())

    def create(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        unknown = sorted(set(body) - {"from_version", "document"})
        if unknown or not isinstance(request.data, dict):
            raise InvalidRuleSet(
                {
                    name: ["Unknown field; send from_version, document, or an empty object."]
                    for name in unknown or ["non_field_errors"]
                }
            )
        if "document" in body:
            draft = rulesets.ruleset_import(document=body["document"], actor=self._user())
        else:
            serializer = RuleSetCreateSerializer(data=body)
            serializer.is_valid(raise_exception=True)
            try:
                draft = rulesets.ruleset_draft_create(
                    actor=self._user(), from_version=serializer.validated_data.get("from_version")
                )
            except RuleSetNotFound as error:
                # The body names the version, so an unknown one is invalid input (400). A 404
                # stays for URLs that name no version.
                raise InvalidRuleSet({"from_version": [error.message]}) from error
        location = reverse("ruleset-detail", args=[draft.version])
        return self._detail(draft, status_code=status.HTTP_201_CREATED, Location=location)

    def update(self, request: Request, version: str) -> Response:
        return self._update(request, int(version), replace=True)

    def partial_update(self, request: Request, version: str) -> Response:
        return self._update(request, int(version), replace=False)

    def _update(self, request: Request, version: int, *, replace: bool) -> Response:
        if not isinstance(request.data, dict):
            raise InvalidRuleSet(
                {"non_field_errors": ["Expected a rule-set object; send JSON such as {...}."]}
            )
        self.get_object()
        draft = rulesets.ruleset_draft_update(
            version=version,
            changes=dict(request.data),
            actor=self._user(),
            expected_revision=_expected_revision(request, version),
            replace=replace,
        )
        return self._detail(draft)

    @extend_schema(
        summary="Export a version as its JSON document",
        description="The document that create (as `document`) and manage.py load_ruleset read "
        "back; exporting and importing it gives the same rules.",
        parameters=[VERSION_PARAMETER],
        responses={200: RuleSetDocumentSerializer},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def export(self, request: Request, version: str) -> Response:
        ruleset = self.get_object()
        response = Response(document_from_ruleset(ruleset))
        response["Content-Disposition"] = f'attachment; filename="ruleset-v{ruleset.version}.json"'
        return response

    @extend_schema(
        summary="Simulate a version against every lead",
        description=(
            "Scores every current lead with the version without changing any lead, and "
            "reports who would enter or leave MQL, the score histograms, a sample of moving "
            "leads with the rules that moved them and a what-if against past sales decisions. "
            "Small lead counts finish in the request; otherwise the simulation is queued: poll "
            "the Location until `status` is done. Needs revops."
        ),
        request=None,
        parameters=[VERSION_PARAMETER],
        responses={201: SimulationSerializer, **error_responses(401, 403, 404)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def simulate(self, request: Request, version: str) -> Response:
        ruleset = self.get_object()
        started = simulation.simulation_start(version=ruleset.version, actor=self._user())
        location = reverse("ruleset-simulation", args=[ruleset.version, started.pk])
        return Response(
            SimulationSerializer(started).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )

    @extend_schema(
        summary="Get a simulation of a version",
        parameters=[
            VERSION_PARAMETER,
            OpenApiParameter("simulation_id", int, OpenApiParameter.PATH),
        ],
        responses={200: SimulationSerializer},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"simulations/(?P<simulation_id>\d+)",
        filter_backends=[],
    )
    def simulation(self, request: Request, version: str, simulation_id: str) -> Response:
        found = selectors.simulation_by_id(simulation_id=int(simulation_id), version=int(version))
        if found is None:
            raise SimulationNotFound(
                f"Simulation {simulation_id} of rule set version {version} does not exist."
            )
        return Response(SimulationSerializer(found).data)

    @extend_schema(
        summary="Publish a version and rescore every lead",
        description=(
            "Makes the version the active one in one transaction, archives the previous one and "
            "queues a full rescore: poll the Location for its progress. The rescore sends no "
            "handoff and no webhook for leads whose status does not change. Needs revops."
        ),
        request=None,
        parameters=[VERSION_PARAMETER],
        responses={
            202: RescoreRunSerializer,
            409: _error("The version is already published."),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def publish(self, request: Request, version: str) -> Response:
        ruleset = self.get_object()
        run = services.ruleset_publish(ruleset_id=ruleset.pk, actor=self._user())
        run = RescoreRun.objects.select_related("ruleset").get(pk=run.pk)
        location = reverse("ruleset-rescore-run", args=[ruleset.version, run.pk])
        return Response(
            RescoreRunSerializer(run).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )

    @extend_schema(
        summary="Get the progress of a full rescore run",
        parameters=[VERSION_PARAMETER, OpenApiParameter("run_id", int, OpenApiParameter.PATH)],
        responses={200: RescoreRunSerializer},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"rescore-runs/(?P<run_id>\d+)",
        filter_backends=[],
    )
    def rescore_run(self, request: Request, version: str, run_id: str) -> Response:
        run = (
            RescoreRun.objects.select_related("ruleset")
            .filter(pk=int(run_id), ruleset__version=int(version))
            .first()
        )
        if run is None:
            raise RescoreRunNotFound(
                f"Rescore run {run_id} of rule set version {version} does not exist."
            )
        return Response(RescoreRunSerializer(run).data)

    @extend_schema(
        summary="Restore a version as a new draft",
        description="Copies the version into a new draft; publishing the draft rolls back to it. "
        "Needs revops.",
        request=None,
        parameters=[VERSION_PARAMETER],
        responses={201: RuleSetDetailSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def restore(self, request: Request, version: str) -> Response:
        ruleset = self.get_object()
        draft = rulesets.ruleset_restore(version=ruleset.version, actor=self._user())
        location = reverse("ruleset-detail", args=[draft.version])
        return self._detail(draft, status_code=status.HTTP_201_CREATED, Location=location)
