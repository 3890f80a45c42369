"""URLconf with views the integrations system check must report."""

from tests.integrations.urls import broken_urlpatterns

urlpatterns = broken_urlpatterns
