"""Every change of state of the integrations app: API keys, idempotency records, webhooks."""

from integrations.services.api_keys import (
    ApiKeyRejected,
    CreatedApiKey,
    api_key_create,
    api_key_record_use,
    api_key_revoke,
    api_key_verify,
)
from integrations.services.idempotency import (
    IdempotencyClaim,
    idempotency_begin,
    idempotency_complete,
    idempotency_purge_expired,
    idempotency_release,
    request_fingerprint,
)
from integrations.services.webhook_sending import webhook_delivery_attempt
from integrations.services.webhooks import (
    webhook_deliveries_enqueue_due,
    webhook_delivery_replay,
    webhook_emit,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
)

__all__ = [
    "ApiKeyRejected",
    "CreatedApiKey",
    "IdempotencyClaim",
    "api_key_create",
    "api_key_record_use",
    "api_key_revoke",
    "api_key_verify",
    "idempotency_begin",
    "idempotency_complete",
    "idempotency_purge_expired",
    "idempotency_release",
    "request_fingerprint",
    "webhook_deliveries_enqueue_due",
    "webhook_delivery_attempt",
    "webhook_delivery_replay",
    "webhook_emit",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_update",
]
