"""Accounts under /api/v1/accounts/: list, read, create, edit, their leads and lead linking."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.viewsets import GenericViewSet

from integrations.mixins import PublicApiMixin
from integrations.permissions import HasScope
from leadflow.api import KeysetCursorPagination
from leads.api.common import (
    ACCOUNT_READ_ROLES,
    ACCOUNT_WRITE_ROLES,
    LEAD_READ_ROLES,
    LEAD_SCOPE_NOTE,
    HasActionRole,
    JsonApiMixin,
    RolesByActionMixin,
    error_responses,
    request_user,
)
from leads.errors import AccountNotFound, InvalidAccountData
from leads.filters import ACCOUNT_ORDERING_FIELDS, LEAD_ORDERING_FIELDS, AccountFilter, LeadFilter
from leads.models import Account, Lead
from leads.selectors import account_lead_counts, account_list, leads_visible_to
from leads.serializers import (
    AccountDetailSerializer,
    AccountInputSerializer,
    AccountLinkResultSerializer,
    AccountSerializer,
    LeadSerializer,
)
from leads.services import account_create, account_link_leads, account_update

ACCOUNT_ERRORS = {
    404: "The account does not exist.",
    409: "Another account has this domain.",
}
LINKING_NOTE = (
    "Leads of the account's domain that have no account are linked to it and their scores "
    "marked stale; free-mail domains are rejected, because they do not identify an employer."
)


@extend_schema_view(
    list=extend_schema(
        summary="List accounts",
        description="Accounts with filters, name and domain search, and ordering; by name by "
        "default. Numbered pages with a count.",
        responses={200: AccountSerializer(many=True), **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="Get an account with its lead counts and engagement roll-up",
        responses={
            200: AccountDetailSerializer,
            **error_responses(401, 403, 404, descriptions=ACCOUNT_ERRORS),
        },
    ),
    create=extend_schema(
        summary="Create an account",
        description=f"The domain is normalised to a bare host and must be unique. {LINKING_NOTE}",
        request=AccountInputSerializer,
        responses={
            201: AccountDetailSerializer,
            **error_responses(400, 401, 403, 409, 415, descriptions=ACCOUNT_ERRORS),
        },
    ),
    partial_update=extend_schema(
        summary="Edit an account",
        description=(
            "Changes the fields sent. A new domain is checked as on create, and links the "
            "leads of that domain that have no account; leads already linked stay. Changing "
            "a field that fit rules read (segment, facility type, country, region, employees, "
            "revenue, processes, technologies) marks the scores of the account's leads stale."
        ),
        request=AccountInputSerializer(partial=True),
        responses={
            200: AccountDetailSerializer,
            **error_responses(400, 401, 403, 404, 409, 415, descriptions=ACCOUNT_ERRORS),
        },
    ),
)
class AccountViewSet(PublicApiMixin, JsonApiMixin, RolesByActionMixin, GenericViewSet):
    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    search_fields = ("name", "domain")
    ordering_fields = ACCOUNT_ORDERING_FIELDS
    ordering = "name"
    permission_classes = [IsAuthenticated, HasScope, HasActionRole]
    required_scopes = {
        "GET": "accounts:read",
        "POST": "accounts:write",
        "PATCH": "accounts:write",
        "leads": "leads:read",
    }
    lookup_value_regex = r"\d+"

    roles_by_action = {
        "list": ACCOUNT_READ_ROLES,
        "retrieve": ACCOUNT_READ_ROLES,
        "metadata": ACCOUNT_READ_ROLES,
        "leads": LEAD_READ_ROLES,
        "create": ACCOUNT_WRITE_ROLES,
        "partial_update": ACCOUNT_WRITE_ROLES,
        "link_leads": ACCOUNT_WRITE_ROLES,
    }

    def get_queryset(self) -> QuerySet[Any]:
        # The leads action lists leads; the schema reads the model of its list from here.
        if getattr(self, "swagger_fake_view", False) and self.action == "leads":
            return Lead.objects.none()
        if self.action == "leads":
            account = self.get_object()
            return leads_visible_to(user=self.request.user).filter(account_id=account.pk)
        return account_list()

    def get_object(self) -> Account:
        account_id = int(self.kwargs["pk"])
        account = account_list().filter(pk=account_id).first()
        if account is None:
            raise AccountNotFound(f"Account {account_id} does not exist.")
        return account

    def list(self, request: Request) -> Response:
        accounts = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(accounts)
        return self.get_paginated_response(AccountSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self._detail(self.get_object().pk))

    def create(self, request: Request) -> Response:
        serializer = AccountInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        account, _ = account_create(fields=serializer.validated_data, actor=request_user(request))

        location = reverse("account-detail", kwargs={"pk": account.pk}, request=request)
        return Response(
            self._detail(account.pk), status=status.HTTP_201_CREATED, headers={"Location": location}
        )

    def partial_update(self, request: Request, pk: str) -> Response:
        account = self.get_object()
        serializer = AccountInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if not serializer.validated_data:
            raise InvalidAccountData(
                "No fields to change; send at least one of "
                f"{', '.join(sorted(AccountInputSerializer().fields))}.",
                extra={"fields": {"non_field_errors": ["No fields to change."]}},
            )

        account_update(
            account_id=account.pk, fields=serializer.validated_data, actor=request_user(request)
        )

        return Response(self._detail(account.pk))

    @extend_schema(
        summary="Link the leads of the account's domain",
        description=(
            "Links every lead whose e-mail domain is the account's domain and that has no "
            "account yet, and marks their scores stale. Leads of other accounts keep theirs. "
            "An account without a domain links nothing. Creating an account, or giving it a new "
            "domain, links the same way; call this after leads arrived by a path that does not "
            "link them."
        ),
        request=None,
        responses={
            200: AccountLinkResultSerializer,
            **error_responses(401, 403, 404, descriptions=ACCOUNT_ERRORS),
        },
    )
    @action(detail=True, methods=["post"], url_path="link-leads")
    def link_leads(self, request: Request, pk: str) -> Response:
        account = self.get_object()

        lead_ids = account_link_leads(account_id=account.pk)

        return Response({"linked": len(lead_ids), "lead_ids": lead_ids})

    @extend_schema(
        summary="List the leads of an account",
        description=f"Filters, ordering and cursor pagination as the lead list. {LEAD_SCOPE_NOTE}",
        responses={
            200: LeadSerializer(many=True),
            **error_responses(400, 401, 403, 404, descriptions=ACCOUNT_ERRORS),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        filterset_class=LeadFilter,
        search_fields=None,
        pagination_class=KeysetCursorPagination,
        ordering_fields=LEAD_ORDERING_FIELDS,
        ordering="-created_at",
    )
    def leads(self, request: Request, pk: str) -> Response:
        leads = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(leads)
        return self.get_paginated_response(LeadSerializer(page, many=True).data)

    def _detail(self, account_id: int) -> Any:
        account = account_list().get(pk=account_id)
        account.lead_counts = account_lead_counts(account_id=account_id)  # type: ignore[attr-defined]
        return AccountDetailSerializer(account).data
