from django.urls import path
from django.views.generic import TemplateView

app_name = "handoff"
urlpatterns = [
    # TODO: replace with the rep inbox once handoffs exist.
    path(
        "inbox/", TemplateView.as_view(template_name="handoff/inbox_placeholder.html"), name="inbox"
    ),
]
