"""View mixins that give a DRF view the public API contract.

- RateLimitMixin: ApiKeyRateThrottle plus X-RateLimit-Limit, X-RateLimit-Remaining
  on every response and Retry-After on 429.
- IdempotencyMixin: an Idempotency-Key header on POST makes retries return the
  first response without running the handler again.
- OwnRecordsMixin: users without a see-all role get only the rows they own.
- PublicApiMixin: RateLimitMixin and IdempotencyMixin together.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from integrations.errors import InvalidIdempotencyKey, RequestBodyTooLarge
from integrations.models import ApiKey, IdempotencyRecord
from integrations.permissions import DEFAULT_SEE_ALL_ROLES, restrict_to_own_records
from integrations.services import (
    idempotency_begin,
    idempotency_complete,
    idempotency_release,
    request_fingerprint,
)
from integrations.throttling import STATE_ATTRIBUTE, ApiKeyRateThrottle, RateLimitState
from leadflow.api.renderers import render_json

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Visible ASCII only, as in an HTTP token: UUIDs, ULIDs and most client-generated ids fit.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
# Headers of the first response that a replay repeats; the rest are regenerated.
STORED_RESPONSE_HEADERS = ("Location", "Content-Location", "ETag", "Last-Modified")

if TYPE_CHECKING:
    # The mixins extend APIView's hooks, so type-check them as APIView subclasses.
    _ViewBase = APIView
else:
    _ViewBase = object


class RateLimitMixin(_ViewBase):
    """Throttle with ApiKeyRateThrottle and report the allowance in response headers."""

    throttle_classes: list[type[BaseThrottle]] = [ApiKeyRateThrottle]

    def check_permissions(self, request: Request) -> None:
        # Count the request before the permission check, unlike plain DRF, so that requests
        # rejected with 403 use up the allowance too and their responses carry the headers.
        super().check_throttles(request)
        super().check_permissions(request)

    def check_throttles(self, request: Request) -> None:
        """Do nothing: check_permissions has already counted this request."""

    def throttled(self, request: Request, wait: float) -> NoReturn:
        state: RateLimitState | None = getattr(request, STATE_ATTRIBUTE, None)
        if state is None:
            raise exceptions.Throttled(wait)
        # DRF appends "Expected available in N seconds." to the detail.
        raise exceptions.Throttled(
            wait,
            detail=f"Rate limit of {state.describe_limit()} for this {state.subject} exceeded.",
        )

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        state: RateLimitState | None = getattr(request, STATE_ATTRIBUTE, None)
        if state is not None:
            response["X-RateLimit-Limit"] = str(state.limit)
            response["X-RateLimit-Remaining"] = str(state.remaining)
        return response


def validate_idempotency_key(value: str) -> str:
    """Return the key, or raise InvalidIdempotencyKey naming what is wrong with it."""
    if not value:
        raise InvalidIdempotencyKey(
            f"The {IDEMPOTENCY_HEADER} header is empty; send a unique value such as a UUID, "
            "or leave the header out.",
        )
    if len(value) > 255:
        raise InvalidIdempotencyKey(
            f"The {IDEMPOTENCY_HEADER} header is {len(value)} characters long; the maximum is "
            "255, so send a shorter unique value such as a UUID.",
        )
    if not IDEMPOTENCY_KEY_PATTERN.match(value):
        raise InvalidIdempotencyKey(
            f"The {IDEMPOTENCY_HEADER} header contains spaces or non-ASCII characters; use "
            "visible ASCII only, such as a UUID.",
        )
    return value


def idempotency_principal(request: Request) -> str:
    """Return whose keys these are: the API key when one authenticated, else the user."""
    if isinstance(request.auth, ApiKey):
        return f"api_key:{request.auth.pk}"
    if request.user is not None and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    raise InvalidIdempotencyKey(
        f"The {IDEMPOTENCY_HEADER} header needs an authenticated request; authenticate, or "
        "leave the header out.",
    )


class IdempotencyMixin(_ViewBase):
    """Make POST handlers honour the Idempotency-Key header.

    The first request with a key runs the handler inside one transaction and
    stores its response there. A retry with the same key and the same method,
    path and body gets that response again, with `Idempotent-Replayed: true`,
    and the handler does not run. The same key with a different request is a
    422. Responses with status 500 or above, and errors the handler raises,
    are not stored: the transaction rolls back and a retry runs afresh.
    Requests without the header are handled as usual.
    """

    idempotent_methods: tuple[str, ...] = ("POST",)

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        if request.method in self.idempotent_methods and "HTTP_IDEMPOTENCY_KEY" in request.META:
            # Read the raw body now, before a parser consumes the stream, so it can be hashed.
            # A body over the upload limit is reported by _run_idempotent, inside DRF's handling.
            with contextlib.suppress(RequestDataTooBig):
                request.body  # noqa: B018
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        method = request.method or ""
        raw_key = request.META.get("HTTP_IDEMPOTENCY_KEY")
        if method not in self.idempotent_methods or raw_key is None:
            return

        key = validate_idempotency_key(raw_key.strip())
        principal = idempotency_principal(request)
        handler = getattr(self, method.lower(), None)
        if handler is None:
            return
        # dispatch() looks the handler up after initial(), so it finds this wrapper.
        setattr(
            self, method.lower(), functools.partial(self._run_idempotent, handler, key, principal)
        )

    def _run_idempotent(
        self,
        handler: Callable[..., HttpResponseBase],
        key: str,
        principal: str,
        request: Request,
        *args: Any,
        **kwargs: Any,
    ) -> HttpResponseBase:
        path = request.get_full_path()
        try:
            body = request._request.body
        except RequestDataTooBig:
            raise RequestBodyTooLarge(
                f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; "
                "send it in smaller parts.",
            ) from None
        claim = idempotency_begin(
            principal=principal,
            key=key,
            method=request.method or "",
            path=path,
            request_hash=request_fingerprint(
                method=request.method or "",
                path=path,
                body=body,
                content_type=request.content_type or "",
            ),
        )
        if not claim.acquired:
            return self._replay(claim.record)

        try:
            with transaction.atomic():
                response = handler(request, *args, **kwargs)
                stored = self._store_response(claim.record, response)
        except BaseException:
            idempotency_release(record=claim.record)
            raise
        if not stored:
            idempotency_release(record=claim.record)
        return response

    def _store_response(self, record: IdempotencyRecord, response: HttpResponseBase) -> bool:
        if not isinstance(response, Response) or response.status_code >= 500:
            return False
        headers = {
            name: response[name] for name in STORED_RESPONSE_HEADERS if response.has_header(name)
        }
        idempotency_complete(
            record=record,
            response_status=response.status_code,
            # The API's renderer writes these same bytes for the first response.
            response_content=render_json(response.data) if response.data is not None else b"",
            response_headers=headers,
        )
        return True

    def _replay(self, record: IdempotencyRecord) -> HttpResponse:
        assert record.response_status is not None
        replay = HttpResponse(
            bytes(record.response_content or b""),
            status=record.response_status,
            content_type="application/json",
        )
        for name, value in record.response_headers.items():
            replay[name] = value
        replay[REPLAYED_HEADER] = "true"
        return replay


class PublicApiMixin(IdempotencyMixin, RateLimitMixin):
    """Rate limiting with headers and Idempotency-Key on POST: the contract of every public endpoint."""


class OwnRecordsMixin(_ViewBase):
    """Limit get_queryset to the rows the user owns, unless they hold a see-all role.

    Set `owner_field` to the lookup from the model to the owning user, such as
    "owner" or "rep__user". Requests for other users' rows get 404, as if the rows did not exist.
    """

    owner_field: str = ""
    see_all_roles: tuple[str, ...] = DEFAULT_SEE_ALL_ROLES

    def get_queryset(self) -> QuerySet[Any]:
        queryset: QuerySet[Any] = super().get_queryset()  # type: ignore[misc]
        if not self.owner_field:
            raise AttributeError(
                f"{type(self).__name__} uses OwnRecordsMixin but sets no owner_field."
            )
        return restrict_to_own_records(
            queryset,
            user=self.request.user,  # type: ignore[attr-defined]
            owner_field=self.owner_field,
            see_all_roles=self.see_all_roles,
        )
