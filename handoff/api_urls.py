from rest_framework.routers import DefaultRouter

from handoff.api import HandoffViewSet, RepViewSet, RoutingRuleViewSet

router = DefaultRouter()
router.register("handoffs", HandoffViewSet, basename="handoff")
router.register("reps", RepViewSet, basename="rep")
router.register("routing-rules", RoutingRuleViewSet, basename="routing-rule")
urlpatterns = router.urls
