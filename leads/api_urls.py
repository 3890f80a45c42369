from django.urls import path
from rest_framework.routers import DefaultRouter

from leads.api import EventIngestView, LeadViewSet

router = DefaultRouter()
router.register("leads", LeadViewSet, basename="lead")

urlpatterns = [
    path("events/", EventIngestView.as_view(), name="event-ingest"),
    *router.urls,
]
