from rest_framework.routers import DefaultRouter

from leads.api import EventViewSet, LeadViewSet

router = DefaultRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("events", EventViewSet, basename="event")

urlpatterns = router.urls
