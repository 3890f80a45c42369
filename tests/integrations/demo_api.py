"""Demo views that use the integration classes the way the real viewsets will."""

from __future__ import annotations

import threading

from rest_framework import serializers, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.authentication import ApiKeyAuthentication
from integrations.mixins import OwnRecordsMixin, PublicApiMixin, RateLimitMixin
from integrations.permissions import HasScope, IsOwnRecord
from leads.models import Account, Lead


class ReadWriteLeadsView(APIView):
    """GET needs leads:read and POST needs leads:write."""

    required_scopes = {"GET": "leads:read", "POST": "leads:write"}

    def get(self, request):
        return Response({"user": request.user.get_username()})

    def post(self, request):
        return Response({"user": request.user.get_username()}, status=status.HTTP_201_CREATED)


class ScopeProbeView(APIView):
    """GET needs exactly the scope named in the URL."""

    def get_required_scopes(self, request):
        return self.kwargs["scope"]

    def get(self, request, scope):
        return Response({"scope": scope})


class NoScopesView(APIView):
    """Declares no scopes, so API keys are rejected and signed-in users pass."""

    def get(self, request):
        return Response({"ok": True})


class RateLimitedView(RateLimitMixin, APIView):
    required_scopes = {"GET": "leads:read"}

    def get(self, request):
        return Response({"ok": True})


class PublicRateLimitedView(RateLimitMixin, APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


class AccountInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    domain = serializers.CharField(max_length=253)


class AccountCreateControl:
    """Counts handler runs and lets a test hold a create inside the handler."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.runs = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()


account_create_control = AccountCreateControl()


class DemoAccountViewSet(PublicApiMixin, viewsets.GenericViewSet):
    """POST creates an account: the shape of every create endpoint of the public API."""

    required_scopes = {"GET": "accounts:read", "POST": "accounts:write"}
    queryset = Account.objects.order_by("id")

    def list(self, request):
        return Response(
            [{"id": account.pk, "name": account.name} for account in self.get_queryset()]
        )

    def create(self, request):
        serializer = AccountInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account_create_control.runs += 1
        account_create_control.entered.set()
        account_create_control.release.wait(timeout=10)
        if serializer.validated_data["name"] == "unavailable":
            return Response({"detail": "try later"}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        account = Account.objects.create(**serializer.validated_data)
        if serializer.validated_data["name"] == "broken":
            raise RuntimeError("The handler failed after writing.")
        return Response(
            {"id": account.pk, "name": account.name},
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/demo/accounts/{account.pk}/", "X-Not-Stored": "1"},
        )


class LeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = ["id", "email", "owner"]


class DemoLeadViewSet(OwnRecordsMixin, viewsets.ReadOnlyModelViewSet):
    """Leads scoped to their owner, the way handoffs are scoped to their rep."""

    permission_classes = [IsAuthenticated, HasScope, IsOwnRecord]
    required_scopes = {"GET": "leads:read"}
    owner_field = "owner"
    queryset = Lead.objects.order_by("id")
    serializer_class = LeadSerializer
    pagination_class = None


class UncheckedKeyView(APIView):
    """Accepts API keys but omits HasScope, so the system check must report it."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"ok": True})


class UnknownScopeView(APIView):
    required_scopes = {"GET": "leads:readall"}

    def get(self, request):
        return Response({"ok": True})
