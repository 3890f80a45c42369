"""REST API of accounts, leads, engagement events and reports, under /api/v1/.

One module per resource; this package re-exports the views and the shared
helpers under the names they had when the API was one module.
"""

from leads.api.accounts import AccountViewSet
from leads.api.common import (
    ApiPagination,
    HasActionRole,
    JsonApiMixin,
    JsonBodyParser,
    RolesByActionMixin,
    error_responses,
)
from leads.api.events import EventViewSet
from leads.api.leads import LeadViewSet
from leads.api.reports import FunnelReportView, ReportView

__all__ = [
    "AccountViewSet",
    "ApiPagination",
    "EventViewSet",
    "FunnelReportView",
    "HasActionRole",
    "JsonApiMixin",
    "JsonBodyParser",
    "LeadViewSet",
    "ReportView",
    "RolesByActionMixin",
    "error_responses",
]
