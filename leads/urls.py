from django.urls import path

from leads import views

app_name = "leads"
urlpatterns = [
    path("queue/", views.mql_queue, name="queue"),
]
