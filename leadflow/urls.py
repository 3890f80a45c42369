from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from leadflow import views
from leadflow.errors import json_not_found

handler404 = "leadflow.errors.json_not_found"
handler500 = "leadflow.errors.json_server_error"

api_v1 = [
    path("", include("leads.api_urls")),
    path("", include("scoring.api_urls")),
    path("", include("handoff.api_urls")),
    path("", include("integrations.api_urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Unknown API paths get the JSON error body even with DEBUG on, where handler404 is skipped.
    re_path(r"^api/", json_not_found),
    path("leads/", include("leads.urls")),
    path("scoring/", include("scoring.urls")),
    path("handoff/", include("handoff.urls")),
    path("integrations/", include("integrations.urls")),
    path("health/", views.health, name="health"),
]
