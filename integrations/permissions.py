"""DRF permissions of the public API: API key scopes, roles and own-records scoping."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from rest_framework.permissions import BasePermission

from integrations.models import ApiKey
from integrations.scopes import SCOPES, unknown_scopes
from leadflow.roles import MARKETING, REVOPS, SALES_MANAGER, has_role

if TYPE_CHECKING:
    # DRF imports this module while rest_framework.views is still loading.
    from rest_framework.request import Request
    from rest_framework.views import APIView

# Roles whose users get every record of a scoped resource. Other users get only their own.
DEFAULT_SEE_ALL_ROLES: tuple[str, ...] = (MARKETING, SALES_MANAGER, REVOPS)


def normalize_scopes(value: str | Iterable[str], *, where: str) -> set[str]:
    """Turn one scope or a collection of scopes into a set, rejecting names outside the catalogue."""
    scopes = {value} if isinstance(value, str) else set(value)
    scopes.discard("")
    unknown = unknown_scopes(sorted(scopes))
    if unknown:
        raise ImproperlyConfigured(
            f"{where} requires unknown scope {', '.join(unknown)}; the catalogue in "
            f"integrations/scopes.py has {', '.join(SCOPES)}."
        )
    return scopes


def required_scopes_for(view: APIView, request: Request) -> set[str] | None:
    """Return the scopes an API key needs for this request, or None when the view accepts no keys.

    A view declares `required_scopes`, a dict keyed by action name (viewsets)
    or HTTP method, whose values are one scope or a collection of scopes that
    are all required. An action's entry wins over its method's. HEAD and
    OPTIONS fall back to GET. A view may instead define
    `get_required_scopes(request)`.
    """
    getter = getattr(view, "get_required_scopes", None)
    if callable(getter):
        value = getter(request)
        return None if value is None else normalize_scopes(value, where=type(view).__name__)
    return declared_scopes(view, request.method or "")


def declared_scopes(view: APIView, method: str) -> set[str] | None:
    """Look up the view's `required_scopes` for its current action and `method`."""
    mapping: dict[str, Any] | None = getattr(view, "required_scopes", None)
    if mapping is None:
        return None

    action = getattr(view, "action", None)
    method = method.upper()
    if action and action in mapping:
        value = mapping[action]
    elif method in mapping:
        value = mapping[method]
    elif method in {"HEAD", "OPTIONS"}:
        value = mapping.get("GET")
    else:
        value = None
    return None if value is None else normalize_scopes(value, where=type(view).__name__)


class HasScope(BasePermission):
    """Limit API key requests to the scopes the view requires; other authentication passes.

    Session and token users are not limited by scopes, because their roles
    decide what they may do. A view that declares no scope for a request
    rejects API keys, so forgetting a declaration fails closed.
    """

    message = "The API key lacks a scope this endpoint requires."
    code = "missing_scope"

    def has_permission(self, request: Request, view: APIView) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True

        required = required_scopes_for(view, request)
        if required is None:
            self.code = "api_key_not_accepted"
            self.message = (
                f"{request.method} {request.path} does not accept API keys; sign in, or use "
                "an endpoint that lists the scopes it requires."
            )
            return False

        missing = [scope for scope in SCOPES if scope in required - set(api_key.scopes)]
        if missing:
            self.message = (
                f"API key {api_key.masked_key} lacks the scope {', '.join(missing)} required for "
                f"{request.method} {request.path}; ask an admin for a key with it."
            )
            return False
        return True


class HasRole(BasePermission):
    """Allow users who hold one of the view's `allowed_roles`; superusers hold every role."""

    code = "role_required"

    def has_permission(self, request: Request, view: APIView) -> bool:
        roles: Iterable[str] | None = getattr(view, "allowed_roles", None)
        if roles is None:
            raise ImproperlyConfigured(
                f"{type(view).__name__} uses HasRole but sets no allowed_roles."
            )
        if has_role(request.user, *roles):
            return True
        self.message = f"This endpoint is only for the role {' or '.join(sorted(roles))}."
        return False


def sees_all_records(user: Any, see_all_roles: Iterable[str]) -> bool:
    return has_role(user, *see_all_roles)


def owner_id_of(obj: Model, owner_field: str) -> Any:
    """Follow `owner_field` ("rep__user" style) from `obj` and return the owner's primary key."""
    *path, last = owner_field.split("__")
    target: Any = obj
    for name in path:
        target = getattr(target, name, None)
        if target is None:
            return None
    return getattr(target, f"{last}_id", None)


def restrict_to_own_records(
    queryset: QuerySet[Any], *, user: Any, owner_field: str, see_all_roles: Iterable[str]
) -> QuerySet[Any]:
    """Return `queryset` unchanged for users holding a see-all role, else only rows they own."""
    if sees_all_records(user, see_all_roles):
        return queryset
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    return queryset.filter(**{owner_field: user})


class IsOwnRecord(BasePermission):
    """Object check behind OwnRecordsMixin, for views that fetch objects without get_queryset."""

    message = "You may only act on records assigned to you."
    code = "not_own_record"

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        see_all_roles = getattr(view, "see_all_roles", DEFAULT_SEE_ALL_ROLES)
        if sees_all_records(request.user, see_all_roles):
            return True
        owner_field = getattr(view, "owner_field", None)
        if owner_field is None:
            raise ImproperlyConfigured(
                f"{type(view).__name__} uses IsOwnRecord but sets no owner_field."
            )
        return owner_id_of(obj, owner_field) == request.user.pk
