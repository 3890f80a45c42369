"""DRF authentication with API keys: `Authorization: Bearer lf_<prefix>_<secret>` or `X-API-Key`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from integrations.models import ApiKey

if TYPE_CHECKING:
    from rest_framework.request import Request


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticate as the key's user; `request.auth` is then the ApiKey.

    A request without either header is left to the next authentication class.
    A request that presents a key which is unknown, revoked, expired or
    malformed is rejected with 401, whatever other credentials it carries.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        # Imported here because DRF imports this class while rest_framework.views is still
        # loading, and the services import the error handler, which imports that module.
        from integrations.services import ApiKeyRejected, api_key_record_use, api_key_verify

        raw_key = self._presented_key(request)
        if raw_key is None:
            return None

        try:
            api_key = api_key_verify(raw_key=raw_key)
        except ApiKeyRejected as rejection:
            raise exceptions.AuthenticationFailed(
                detail=rejection.message, code=rejection.code
            ) from None

        api_key_record_use(api_key=api_key)
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'

    def _presented_key(self, request: Request) -> str | None:
        parts = get_authorization_header(request).split()
        if parts and parts[0].lower() == self.keyword.lower().encode():
            if len(parts) != 2:
                raise exceptions.AuthenticationFailed(
                    detail="The Authorization header must be 'Bearer lf_<prefix>_<secret>', "
                    "with exactly one space and no other words.",
                    code="api_key_malformed",
                )
            try:
                return parts[1].decode("ascii")
            except UnicodeDecodeError:
                raise exceptions.AuthenticationFailed(
                    detail="The API key contains characters that no key has; copy it again.",
                    code="api_key_malformed",
                ) from None

        header_key = request.META.get("HTTP_X_API_KEY")
        if header_key is not None:
            return str(header_key).strip()
        return None
