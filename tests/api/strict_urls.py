"""Test-only URLconf: list views that show how strict query parameters are configured."""

from django.urls import path
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics, serializers

from leads.models import Lead


class LeadIdSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = ["id"]


class ExtraParamLeadList(generics.ListAPIView):
    """Reads `include_archived` itself, so it declares the name as an extra parameter."""

    required_scopes = {"GET": "leads:read"}
    serializer_class = LeadIdSerializer
    extra_query_params = ("include_archived",)

    def get_queryset(self):
        return Lead.objects.order_by("id")


class LooseLeadList(generics.ListAPIView):
    """Replaces the default filter backends, dropping the strict one: the check reports it."""

    required_scopes = {"GET": "leads:read"}
    serializer_class = LeadIdSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["region"]

    def get_queryset(self):
        return Lead.objects.order_by("id")


urlpatterns = [
    path("extra/", ExtraParamLeadList.as_view()),
    path("loose/", LooseLeadList.as_view()),
]
