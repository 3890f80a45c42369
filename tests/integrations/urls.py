"""Test-only URLconf: the demo views plus the project's own URLs."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tests.integrations import demo_api

router = SimpleRouter()
router.register("demo/accounts", demo_api.DemoAccountViewSet, basename="demo-account")
router.register("demo/leads", demo_api.DemoLeadViewSet, basename="demo-lead")

urlpatterns = [
    path("demo/leads-rw/", demo_api.ReadWriteLeadsView.as_view()),
    path("demo/probe/<str:scope>/", demo_api.ScopeProbeView.as_view()),
    path("demo/no-scopes/", demo_api.NoScopesView.as_view()),
    path("demo/limited/", demo_api.RateLimitedView.as_view()),
    path("demo/public-limited/", demo_api.PublicRateLimitedView.as_view()),
    *router.urls,
    path("", include("leadflow.urls")),
]

# Views the system check must reject; kept out of urlpatterns so the demo URLconf stays valid.
broken_urlpatterns = [
    path("demo/unchecked/", demo_api.UncheckedKeyView.as_view()),
    path("demo/unknown-scope/", demo_api.UnknownScopeView.as_view()),
]
