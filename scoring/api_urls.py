from rest_framework.routers import DefaultRouter

from scoring.api import RuleSetViewSet

router = DefaultRouter()
router.register("rulesets", RuleSetViewSet, basename="ruleset")
urlpatterns = router.urls
