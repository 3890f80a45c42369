from django.urls import path

from leads import views

app_name = "leads"
urlpatterns = [
    path("queue/", views.mql_queue, name="queue"),
    path("<int:lead_id>/", views.lead_detail, name="detail"),
    path("<int:lead_id>/timeline/", views.lead_timeline, name="timeline"),
    path("<int:lead_id>/transition/", views.lead_transition_view, name="transition"),
    path("<int:lead_id>/edit/", views.lead_edit, name="edit"),
]
