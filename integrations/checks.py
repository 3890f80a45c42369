"""System checks of the API views: API key scopes and strict list parameters.

A view that lists ApiKeyAuthentication but drops HasScope from its
permission classes would let any valid key call it whatever its scopes. The
checks walk the URLconf and report such views, scopes outside the catalogue,
and lists that would ignore unknown query parameters, when `manage.py check`
(and runserver, migrate, the test suite) runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from integrations.authentication import ApiKeyAuthentication
from integrations.permissions import HasScope, normalize_scopes
from leadflow.api import StrictQueryParamsFilter


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def _is_class(candidate: Any, base: type) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, base)


@register(Tags.security)
def check_api_key_views(
    app_configs: Any = None, urlconf: str | None = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    seen: set[str] = set()
    for route, callback in _walk(get_resolver(urlconf).url_patterns):
        view_class = getattr(callback, "cls", None)
        if not isinstance(view_class, type) or not issubclass(view_class, APIView):
            continue
        overrides: dict[str, Any] = getattr(callback, "initkwargs", None) or {}
        authentication = overrides.get("authentication_classes", view_class.authentication_classes)
        permissions = overrides.get("permission_classes", view_class.permission_classes)

        if not any(_is_class(item, ApiKeyAuthentication) for item in authentication):
            continue
        if any(_is_class(item, AllowAny) for item in permissions):
            continue
        if not any(_is_class(item, HasScope) for item in permissions):
            errors.append(
                Error(
                    f"{view_class.__name__} at /{route} accepts API keys but does not check "
                    "their scopes.",
                    hint="Add integrations.permissions.HasScope to its permission_classes, or "
                    "drop ApiKeyAuthentication from its authentication_classes.",
                    obj=view_class,
                    id="integrations.E001",
                )
            )

        declared = overrides.get("required_scopes", getattr(view_class, "required_scopes", None))
        for value in (declared or {}).values():
            try:
                normalize_scopes(value, where=view_class.__name__)
            except ImproperlyConfigured as unknown:
                errors.append(Error(str(unknown), obj=view_class, id="integrations.E002"))
    # A viewset appears once per route (list, detail, actions); report each problem once.
    unique: list[CheckMessage] = []
    for message in errors:
        if message.msg not in seen:
            seen.add(message.msg)
            unique.append(message)
    return unique


def _routes_a_list(view_class: type, callback: Any) -> bool:
    """Return whether the route lists rows: a viewset's list, a list action, or a list view."""
    actions: dict[str, str] = getattr(callback, "actions", None) or {}
    if actions:
        overrides: dict[str, Any] = getattr(callback, "initkwargs", None) or {}
        return "list" in actions.values() or bool(
            {"filterset_class", "pagination_class"} & overrides.keys()
        )
    return issubclass(view_class, ListModelMixin)


@register(Tags.compatibility)
def check_api_lists_strict(
    app_configs: Any = None, urlconf: str | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Report lists whose first filter backend is not StrictQueryParamsFilter.

    Without it a misspelt filter is ignored and the caller gets the whole list.
    """
    errors: list[CheckMessage] = []
    seen: set[str] = set()
    for route, callback in _walk(get_resolver(urlconf).url_patterns):
        view_class: Any = getattr(callback, "cls", None)
        if not _is_class(view_class, GenericAPIView) or not _routes_a_list(view_class, callback):
            continue
        overrides: dict[str, Any] = getattr(callback, "initkwargs", None) or {}
        backends = overrides.get("filter_backends", view_class.filter_backends)
        if backends and _is_class(backends[0], StrictQueryParamsFilter):
            continue
        message = (
            f"{view_class.__name__} at /{route} lists rows but does not reject unknown query "
            "parameters."
        )
        if message in seen:
            continue
        seen.add(message)
        errors.append(
            Error(
                message,
                hint="Keep the default filter_backends, or put "
                "leadflow.api.StrictQueryParamsFilter first in the view's filter_backends.",
                obj=view_class,
                id="integrations.E003",
            )
        )
    return errors
