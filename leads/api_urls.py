from django.urls import path
from rest_framework.routers import DefaultRouter

from leads.api import AccountViewSet, EventViewSet, FunnelReportView, LeadViewSet

router = DefaultRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("events", EventViewSet, basename="event")
router.register("accounts", AccountViewSet, basename="account")

urlpatterns = [
    path("reports/funnel/", FunnelReportView.as_view(), name="report-funnel"),
    *router.urls,
]
