"""OpenAPI additions for API keys, scopes and the Idempotency-Key header (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from integrations.permissions import declared_scopes
from integrations.scopes import SCOPES


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
