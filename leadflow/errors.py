"""One error family for the whole application and the one JSON shape the API returns.

Every 4xx and 5xx answer of the API has the body
``{"code": "<machine code>", "message": "<sentence>", "fields": {"<field>": ["<message>"]}}``;
`fields` is empty unless the request failed validation.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A business rule refused the action; the message is safe to show to the user."""

    code = "application_error"
    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(
        self, message: str, *, extra: dict[str, Any] | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        if code:
            self.code = code


class ConflictError(ApplicationError):
    """The action clashes with the current state of the data (HTTP 409)."""

    code = "conflict"
    status_code = status.HTTP_409_CONFLICT


class NotFoundError(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND


def error_body(
    code: str, message: str, fields: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "fields": fields or {}}
    body.update(extra)
    return body


def _flatten_field_errors(detail: Any) -> dict[str, list[str]]:
    """Turn DRF's nested ErrorDetail structure into messages keyed by field path.

    Errors of nested input get dotted paths, such as "processes.0" for the first
    item of a list, so that `fields` always maps a name to a list of messages.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            _collect_messages(str(key), value, flat)
    else:
        _collect_messages("non_field_errors", detail, flat)
    return flat


def _collect_messages(path: str, value: Any, flat: dict[str, list[str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _collect_messages(f"{path}.{key}", item, flat)
    elif isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        # A list of nested errors has one entry per input item, empty for the valid ones.
        for index, item in enumerate(value):
            if item:
                _collect_messages(f"{path}.{index}", item, flat)
    elif isinstance(value, list):
        flat.setdefault(path, []).extend(str(item) for item in value)
    else:
        flat.setdefault(path, []).append(str(value))


def _first_message(fields: dict[str, list[str]]) -> str:
    for name, messages in fields.items():
        if messages:
            return messages[0] if name == "non_field_errors" else f"{name}: {messages[0]}"
    return "The request is invalid."


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Shape every error raised inside a DRF view into the one JSON error body."""
    # Imported here: rest_framework.views loads the API defaults of the settings, and those
    # (leadflow.api) import this module.
    from rest_framework.views import exception_handler

    if isinstance(exc, ApplicationError):
        return Response(
            error_body(exc.code, exc.message, exc.extra.pop("fields", None), **exc.extra),
            status=exc.status_code,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=getattr(exc, "message_dict", None) or exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        logger.error(
            "Unhandled error in API view %s",
            type(view).__name__ if view else "unknown",
            exc_info=exc,
        )
        return Response(
            error_body(
                "server_error", "The server failed to process the request; it has been logged."
            ),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_field_errors(exc.detail)
        response.data = error_body("invalid", _first_message(fields), fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        if not isinstance(code, str):
            code = "error"
        response.data = error_body(code, str(detail))
    return response


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


# A 404 changes nothing, so it needs no CSRF check. Without the exemption, a POST to an unknown
# API path would get Django's CSRF failure page instead of the JSON 404.
@csrf_exempt
def json_not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    """404 handler: JSON under /api/, the normal page elsewhere."""
    if _wants_json(request):
        return JsonResponse(
            error_body("not_found", f"No API resource at {request.path}."), status=404
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def json_server_error(request: HttpRequest) -> Any:
    """500 handler: JSON under /api/, the normal page elsewhere."""
    if _wants_json(request):
        return JsonResponse(
            error_body(
                "server_error", "The server failed to process the request; it has been logged."
            ),
            status=500,
        )
    from django.views.defaults import server_error

    return server_error(request)
