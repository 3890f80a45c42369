from rest_framework.routers import DefaultRouter

from integrations.api import ApiKeyViewSet, WebhookDeliveryViewSet, WebhookEndpointViewSet

router = DefaultRouter()
router.register("api-keys", ApiKeyViewSet, basename="api-key")
router.register("webhooks", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
urlpatterns = router.urls
