from django.urls import path

from integrations import views

app_name = "integrations"
urlpatterns = [
    path("webhook-deliveries/", views.delivery_list, name="deliveries"),
    path(
        "webhook-deliveries/<int:delivery_id>/replay/",
        views.delivery_replay,
        name="delivery-replay",
    ),
]
