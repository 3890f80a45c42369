"""REST API of the handoff app under /api/v1/: handoffs, reps, routing rules and reports.

One module per resource, as in leads.api. Every view follows the public API
contract of docs/api.md: PublicApiMixin (rate limits, Idempotency-Key on
POST), declared API key scopes, roles per action, strict filters and input,
and documented errors.
"""

from handoff.api.handoffs import HandoffViewSet
from handoff.api.reports import HandoffFeedbackReportView
from handoff.api.reps import RepViewSet
from handoff.api.routing import RoutingRuleViewSet

__all__ = ["HandoffFeedbackReportView", "HandoffViewSet", "RepViewSet", "RoutingRuleViewSet"]
