from django.urls import path
from rest_framework.routers import DefaultRouter

from handoff.api import HandoffFeedbackReportView, HandoffViewSet, RepViewSet, RoutingRuleViewSet

router = DefaultRouter()
router.register("handoffs", HandoffViewSet, basename="handoff")
router.register("reps", RepViewSet, basename="rep")
router.register("routing-rules", RoutingRuleViewSet, basename="routing-rule")

urlpatterns = [
    path(
        "reports/handoff-feedback/",
        HandoffFeedbackReportView.as_view(),
        name="report-handoff-feedback",
    ),
    *router.urls,
]
