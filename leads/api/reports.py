"""Reports under /api/v1/reports/, and ReportView, the base other apps build theirs on.

A report is a GET whose query parameters a serializer validates, and whose
response contains aggregates a selector computes. To add one, subclass
ReportView, set `query_serializer_class` (start from ReportRangeSerializer for
the date range) and implement `get_report`, then route it under "reports/" in
the app's api_urls.py. ReportView brings the scope reports:read, the reporting
roles, rate limiting and the rejection of unknown query parameters.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from integrations.mixins import PublicApiMixin
from integrations.permissions import HasScope
from leadflow.api import reject_unknown_query_params
from leads.api.common import REPORT_ROLES, HasActionRole, error_responses
from leads.selectors import funnel_report
from leads.serializers import FunnelQuerySerializer, FunnelReportSerializer, ReportRangeSerializer


def day_range(start: date, end: date) -> tuple[datetime, datetime]:
    """Return the half-open time range [start 00:00, the day after end 00:00) in the default zone."""
    zone = timezone.get_default_timezone()
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    return since, until


class ReportView(PublicApiMixin, APIView):
    """Base of a report: validates the query with `query_serializer_class`, renders `get_report`."""

    permission_classes = [IsAuthenticated, HasScope, HasActionRole]
    required_scopes = {"GET": "reports:read"}
    query_serializer_class: type[Serializer] = ReportRangeSerializer
    allowed_roles: tuple[str, ...] = REPORT_ROLES

    def required_roles(self) -> tuple[str, ...] | None:
        return self.allowed_roles if self.request.method in ("GET", "HEAD", "OPTIONS") else None

    def get(self, request: Request) -> Response:
        serializer = self.query_serializer_class(data=request.query_params)
        accepted = set(serializer.fields)
        if api_settings.URL_FORMAT_OVERRIDE:
            accepted.add(api_settings.URL_FORMAT_OVERRIDE)
        reject_unknown_query_params(request, accepted)
        serializer.is_valid(raise_exception=True)

        return Response(self.get_report(serializer.validated_data))

    def get_report(self, params: dict[str, Any]) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement get_report().")


class FunnelReportView(ReportView):
    query_serializer_class = FunnelQuerySerializer

    @extend_schema(
        operation_id="reports_funnel",
        summary="Funnel: leads per status, and MQL→SQL and SQL→won rates",
        description=(
            "Counts the leads created from `start` to `end` (whole days in UTC): how many are "
            "in each status now, and how many ever reached MQL, SQL and won according to the "
            "audit trail, so a lead since lost still counts as having reached SQL. The MQL→SQL "
            "rate is the share of leads that reached MQL and then SQL; SQL→won likewise. "
            "`group_by` splits the numbers by the account's segment or the first-touch source "
            "or campaign; `segment`, `source` and `campaign` narrow the leads first. Needs the "
            "marketing, revops or sales manager role."
        ),
        parameters=[FunnelQuerySerializer],
        responses={200: FunnelReportSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        return super().get(request)

    def get_report(self, params: dict[str, Any]) -> Any:
        since, until = day_range(params["start"], params["end"])
        report = funnel_report(
            since=since,
            until=until,
            group_by=params.get("group_by"),
            segment=params.get("segment", ""),
            source=params.get("source", ""),
            campaign=params.get("campaign", ""),
        )
        return FunnelReportSerializer(
            {
                "start": params["start"],
                "end": params["end"],
                "group_by": report.group_by,
                "total": report.total,
                "groups": report.groups,
            }
        ).data
