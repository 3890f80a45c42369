"""Pieces the lead, event, account and report endpoints share: roles, JSON parsing, errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from leadflow.api import ApiPageNumberPagination

# Re-exported under their old home: the JSON body parsing moved to leadflow.api.parsers,
# so that the integrations API shares it without depending on the leads app.
from leadflow.api.parsers import JsonApiMixin as JsonApiMixin
from leadflow.api.parsers import JsonBodyParser as JsonBodyParser
from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER, has_role
from leads.serializers import ErrorSerializer

EVENT_ROLES = (MARKETING, REVOPS)
LEAD_READ_ROLES = (MARKETING, REVOPS, SALES_MANAGER, SALES)
LEAD_WRITE_ROLES = (MARKETING, REVOPS)
LEAD_TRANSITION_ROLES = (MARKETING, REVOPS, SALES_MANAGER, SALES)
ACCOUNT_READ_ROLES = (MARKETING, REVOPS, SALES_MANAGER, SALES)
ACCOUNT_WRITE_ROLES = (MARKETING, REVOPS)
REPORT_ROLES = (MARKETING, REVOPS, SALES_MANAGER)

LEAD_SCOPE_NOTE = (
    "Marketing, revops and sales managers see every lead; a sales rep sees only the leads "
    "they own, and gets 404 for any other."
)

ERROR_DESCRIPTIONS = {
    400: "Invalid input or malformed JSON; `fields` names each invalid field.",
    401: "No valid token or session was sent.",
    403: "The user lacks the role this action needs.",
    404: "The lead does not exist, or is not visible to the user.",
    405: "The method is not allowed on this path.",
    409: "The lifecycle does not allow this status change from the lead's current status.",
    413: "The body is larger than the maximum of 8 MiB.",
    415: "The body is not JSON; send Content-Type: application/json.",
}


def error_responses(
    *status_codes: int, descriptions: Mapping[int, str] | None = None
) -> dict[int, OpenApiResponse]:
    """Document error responses in the one error shape; `descriptions` replaces default texts."""
    texts = {**ERROR_DESCRIPTIONS, **(descriptions or {})}
    return {
        code: OpenApiResponse(ErrorSerializer, description=texts[code]) for code in status_codes
    }


class HasActionRole(BasePermission):
    """Allow a request when the user has one of the roles the view requires for it.

    The view's `required_roles()` returns None for a method it does not route,
    which passes here so that the user gets 405 rather than 403.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        roles: tuple[str, ...] | None = view.required_roles()
        if roles is None or has_role(request.user, *roles):
            return True
        self.message = (
            f"This action needs one of the roles {', '.join(roles)}; "
            "ask an administrator to add your user to one of these groups."
        )
        return False


class RolesByActionMixin:
    """`required_roles()` for HasActionRole, read from the viewset's `roles_by_action` table."""

    roles_by_action: dict[str, tuple[str, ...]] = {}

    def required_roles(self) -> tuple[str, ...] | None:
        action: str | None = getattr(self, "action", None)
        if action is None:
            return None
        # An action missing from the table is denied to every user until it is listed.
        return self.roles_by_action.get(action, ())


# The name the lead endpoints used before the pagination moved to leadflow.api.
ApiPagination = ApiPageNumberPagination


def request_user(request: Request) -> AbstractBaseUser:
    user = request.user
    if not isinstance(user, AbstractBaseUser):
        raise NotAuthenticated()
    return user


def input_error_message(subject: str, errors: dict[str, list[str]]) -> str:
    problems = [
        " ".join(messages) if name == "non_field_errors" else f"{name}: {' '.join(messages)}"
        for name, messages in errors.items()
    ]
    return f"{subject} is invalid. {' '.join(problems)}"
