"""Domain errors of the integrations app."""

from rest_framework import status

from leadflow.errors import ApplicationError, ConflictError, NotFoundError


class InvalidIdempotencyKey(ApplicationError):
    code = "invalid_idempotency_key"


class RequestBodyTooLarge(ApplicationError):
    code = "request_too_large"
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


class IdempotencyKeyReused(ApplicationError):
    """The key was first used for a request with another method, path or body."""

    code = "idempotency_key_reused"
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


class IdempotentRequestInProgress(ConflictError):
    code = "idempotency_in_progress"


class InvalidScopes(ApplicationError):
    code = "invalid_scopes"


class ApiKeyNotFound(NotFoundError):
    code = "api_key_not_found"


class ApiKeyAlreadyRevoked(ConflictError):
    code = "api_key_already_revoked"


class InvalidWebhookEndpoint(ApplicationError):
    code = "invalid_webhook_endpoint"


class UnknownEventType(ApplicationError):
    code = "unknown_event_type"


class WebhookDeliveryNotFound(NotFoundError):
    code = "webhook_delivery_not_found"


class WebhookDeliveryInFlight(ConflictError):
    code = "webhook_delivery_in_flight"


class WebhookEndpointInactive(ConflictError):
    code = "webhook_endpoint_inactive"
