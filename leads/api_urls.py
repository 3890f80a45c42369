from rest_framework.routers import DefaultRouter

from leads.api import AccountViewSet, EventViewSet, LeadViewSet

router = DefaultRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("events", EventViewSet, basename="event")
router.register("accounts", AccountViewSet, basename="account")

urlpatterns = router.urls
