"""The API's description of itself: OPTIONS responses and an OpenAPI schema hook."""

from __future__ import annotations

from typing import Any

from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request


class ApiMetadata(SimpleMetadata):
    """OPTIONS metadata: the view's name, description and media types, without field lists.

    DRF's SimpleMetadata describes the fields of the view's serializer for each
    write method. Here the input shapes differ from the output serializers, and
    describing them loads the object, so the OpenAPI schema is the reference.
    """

    def determine_metadata(self, request: Request, view: Any) -> dict[str, Any]:
        metadata: dict[str, Any] = super().determine_metadata(request, view)
        metadata.pop("actions", None)
        return metadata

    def determine_actions(self, request: Request, view: Any) -> dict[str, Any]:
        return {}


def require_query_values(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular hook: mark text query parameters non-empty, as the API rejects empty ones."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and schema.get("type") == "string":
                    schema.setdefault("minLength", 1)
    return result
