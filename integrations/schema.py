"""OpenAPI additions for API keys, scopes and the Idempotency-Key header (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework.pagination import PageNumberPagination

from integrations.permissions import declared_scopes
from integrations.scopes import SCOPES
from leadflow.api import StrictQueryParamsFilter
from leads.serializers import ErrorSerializer

# Error responses every operation can return; an operation's own documentation wins.
STANDARD_ERRORS = {
    "400": "The request is invalid; `fields` names each bad input.",
    "401": "No credentials, or an unknown, revoked or expired key or token.",
    "403": "The user's roles or the API key's scopes do not allow this operation.",
    "404": "No such object, or it belongs to another user.",
    "409": "A request with the same Idempotency-Key is still running; retry a little later.",
    "413": "The body is larger than the server accepts; send it in smaller parts.",
    "415": "The body's Content-Type is not one this operation accepts.",
    "422": "The Idempotency-Key was used before for another method, path or body.",
    "429": "Rate limit exceeded; retry after the Retry-After header's seconds.",
}
LIST_ERRORS = {
    "400": "An unknown query parameter, or an invalid filter, ordering, cursor or page size; "
    "`fields` names each.",
    "404": "The page number is past the last page.",
}


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "integrations.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "lf_<prefix>_<secret>",
            "description": "API key created by an admin; also accepted in the X-API-Key header. "
            f"Scopes: {', '.join(SCOPES)}.",
        }


class PublicApiAutoSchema(AutoSchema):
    """AutoSchema that lists the API key scopes of each operation and its Idempotency-Key header."""

    def get_description(self) -> str:  # type: ignore[override]
        description = super().get_description() or ""
        if callable(getattr(self.view, "get_required_scopes", None)):
            return description
        scopes = declared_scopes(self.view, self.method)
        if scopes is None:
            note = "API keys are not accepted."
        elif scopes:
            ordered = [scope for scope in SCOPES if scope in scopes]
            note = f"API key scopes required: {', '.join(ordered)}."
        else:
            note = "Any API key may call this operation."
        return f"{description}\n\n{note}".strip()

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)  # type: ignore[misc,arg-type]
        wanted = {"401": STANDARD_ERRORS["401"], "403": STANDARD_ERRORS["403"]}
        if self.method in ("POST", "PUT", "PATCH"):
            wanted["400"] = STANDARD_ERRORS["400"]
            wanted["415"] = STANDARD_ERRORS["415"]
        if self._is_strict_list():
            wanted["400"] = LIST_ERRORS["400"]
            if isinstance(self._get_paginator(), PageNumberPagination):  # type: ignore[no-untyped-call]
                wanted["404"] = LIST_ERRORS["404"]
        if "{" in self.path:
            wanted["404"] = STANDARD_ERRORS["404"]
        if self.method in getattr(self.view, "idempotent_methods", ()):
            for code in ("409", "413", "422"):
                wanted[code] = STANDARD_ERRORS[code]
        if getattr(self.view, "throttle_classes", None):
            wanted["429"] = STANDARD_ERRORS["429"]
        for code, description in wanted.items():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code)  # type: ignore[misc]
                response["description"] = description
                responses[code] = response
        return dict(sorted(responses.items()))

    def _is_strict_list(self) -> bool:
        """Return whether the operation is a list that rejects unknown query parameters with 400."""
        if self.method != "GET" or not self._is_list_view():  # type: ignore[no-untyped-call]
            return False
        return any(
            isinstance(backend, type) and issubclass(backend, StrictQueryParamsFilter)
            for backend in getattr(self.view, "filter_backends", ())
        )

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method in getattr(self.view, "idempotent_methods", ()):
            parameters.append(
                OpenApiParameter(
                    name="Idempotency-Key",
                    type=str,
                    location=OpenApiParameter.HEADER,
                    required=False,
                    description="Up to 255 visible ASCII characters. A retry with the same key "
                    "and body returns the first response; a different body is a 422.",
                )
            )
        return parameters
