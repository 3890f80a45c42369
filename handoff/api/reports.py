"""Handoff reports under /api/v1/reports/: why sales rejected handoffs and lost SQLs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from handoff.selectors import handoff_feedback_report
from handoff.serializers import FeedbackQuerySerializer, FeedbackReportSerializer
from leads.api.common import error_responses
from leads.api.reports import ReportView, day_range


class HandoffFeedbackReportView(ReportView):
    query_serializer_class = FeedbackQuerySerializer

    @extend_schema(
        operation_id="reports_handoff_feedback",
        summary="Handoff feedback: rejections and losses per reason",
        description=(
            "Counts the handoffs sales rejected from `start` to `end` (whole days in UTC, by "
            "the day of the decision) per rejection reason, and the SQLs closed as lost in "
            "that range per loss reason, so marketing can see which leads sales turns down "
            "and why. Every reason is listed, with 0 when it did not occur. `group_by` splits "
            "the counts by the handoff's rep, the account's segment, the lead's first-touch "
            "campaign, or the rule-set version that scored the lead when it was sent; "
            "`segment` and `campaign` narrow the handoffs first. Needs the marketing, revops "
            "or sales manager role."
        ),
        parameters=[FeedbackQuerySerializer],
        responses={200: FeedbackReportSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        return super().get(request)

    def get_report(self, params: dict[str, Any]) -> Any:
        since, until = day_range(params["start"], params["end"])
        report = handoff_feedback_report(
            since=since,
            until=until,
            group_by=params.get("group_by"),
            segment=params.get("segment", ""),
            campaign=params.get("campaign", ""),
        )
        return FeedbackReportSerializer(
            {
                "start": params["start"],
                "end": params["end"],
                "group_by": report.group_by,
                "total": report.total,
                "groups": report.groups,
            }
        ).data
