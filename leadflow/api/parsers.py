"""JSON request bodies of the API: a parser whose errors name the fix, and views that take only JSON.

A body nested deeper than Python's recursion limit (about 1,000 levels) is a 400
parse error in the API's error shape rather than a RecursionError and a 500.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.response import Response


class JsonBodyParser(JSONParser):
    """JSON parser whose error names the fix as well as the problem."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except ParseError as error:
            raise ParseError(
                f"{error.detail}. Send a valid JSON document; check quotes, commas and brackets."
            ) from error
        except RecursionError:
            # Python's json module recurses once per level of nesting.
            raise ParseError(
                "JSON parse error - the document is nested too deeply to read. Send objects "
                "and lists nested at most a few levels."
            ) from None


class JsonApiMixin:
    """Accept only JSON bodies, and name the fix when a request sends another media type."""

    parser_classes: Sequence[type[BaseParser]] = [JsonBodyParser]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, UnsupportedMediaType):
            exc = UnsupportedMediaType(
                media_type=str(exc.detail),
                detail=f"{exc.detail} Send the body as JSON with Content-Type: application/json.",
            )
        return super().handle_exception(exc)  # type: ignore[misc]
