"""One HTTP attempt of a webhook delivery, its outcome, and the retry schedule."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import WebhookAttempt, WebhookDelivery
from integrations.services.webhook_targets import private_targets_allowed, resolved_host_problem
from integrations.services.webhooks import enqueue_deliveries
from integrations.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    build_signature_header,
)

logger = logging.getLogger(__name__)

# Enough of a receiver's answer to show why it failed, without storing whole error pages.
RESPONSE_EXCERPT_BYTES = 1024
# Statuses that say "try again later"; every other 4xx is the request's fault and final.
RETRYABLE_STATUS_CODES = frozenset({408, 425, 429})
USER_AGENT = "Leadflow-Webhooks/1"


@dataclass(frozen=True)
class HttpOutcome:
    """What one POST to a receiver produced."""

    response_code: int | None
    response_body_excerpt: str
    error: str
    retryable: bool
    retry_after_seconds: int | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.response_code is not None and 200 <= self.response_code < 300


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """Serialise the delivery's envelope; the same delivery always gives the same bytes."""
    envelope = {
        "id": str(delivery.event_id),
        "type": delivery.event_type,
        "occurred_at": delivery.occurred_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode("utf-8")


def retry_delay_seconds(attempt_number: int, retry_after_seconds: int | None = None) -> int:
    """Return the wait before the attempt after `attempt_number`: base * 2^(n-1), capped.

    A receiver's Retry-After lengthens the wait but never beyond the cap.
    """
    base = settings.LEADFLOW_WEBHOOK_RETRY_BASE_SECONDS
    cap = settings.LEADFLOW_WEBHOOK_RETRY_MAX_DELAY_SECONDS
    delay = base * 2 ** max(attempt_number - 1, 0)
    if retry_after_seconds is not None:
        delay = max(delay, retry_after_seconds)
    return int(min(delay, cap))


def webhook_delivery_attempt(
    *, delivery_id: int, now: datetime | None = None
) -> WebhookDelivery | None:
    """Send the delivery if it is due and no other worker holds it, record the outcome, plan a retry.

    Network errors, timeouts, 408, 425, 429 and 5xx are retried with
    exponential backoff until the delivery's max_attempts; other answers are
    final. Redirects are never followed. Returns None when there was nothing to
    send, so running the task twice for one attempt sends once.
    """
    now = now or timezone.now()
    lease = timedelta(seconds=settings.LEADFLOW_WEBHOOK_TIMEOUT_SECONDS + 30)
    claimed = (
        WebhookDelivery.objects.filter(
            pk=delivery_id,
            status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING],
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + lease)
    )
    if not claimed:
        logger.debug("Webhook delivery %s is not due or is held by another worker", delivery_id)
        return None

    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    attempt_number = delivery.attempt_count + 1
    if not delivery.endpoint.is_active:
        return _record_outcome(
            delivery,
            attempt_number,
            now,
            HttpOutcome(
                None, "", "The endpoint was deactivated; nothing was sent.", False, None, 0
            ),
        )

    body = delivery_body(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(delivery.pk),
        SIGNATURE_HEADER: build_signature_header(delivery.endpoint.secret, body),
    }
    outcome = post_to_receiver(delivery.endpoint.url, body, headers)
    return _record_outcome(delivery, attempt_number, now, outcome)


def post_to_receiver(url: str, body: bytes, headers: dict[str, str]) -> HttpOutcome:
    """POST `body` to `url` once, with short timeouts and without following redirects."""
    if not private_targets_allowed():
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        # NOTE: httpx resolves the name again, so a DNS answer that changes between the two
        # lookups can still reach a private address.
        problem = resolved_host_problem(parts.hostname or "", port)
        if problem:
            return HttpOutcome(
                None,
                "",
                f"Not sent because {problem}; webhooks go to public addresses only.",
                False,
                None,
                0,
            )
    timeout = httpx.Timeout(
        settings.LEADFLOW_WEBHOOK_TIMEOUT_SECONDS,
        connect=min(3.0, settings.LEADFLOW_WEBHOOK_TIMEOUT_SECONDS),
    )
    started = time.monotonic()
    try:
        # Webhook traffic ignores proxy environment variables so that it goes where the URL says.
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            excerpt = _read_excerpt(response)
            code = response.status_code
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            location = response.headers.get("Location", "")
    except httpx.TimeoutException:
        return HttpOutcome(
            None,
            "",
            f"Timed out after {settings.LEADFLOW_WEBHOOK_TIMEOUT_SECONDS} seconds.",
            True,
            None,
            _elapsed_ms(started),
        )
    except httpx.TransportError as error:
        return HttpOutcome(
            None,
            "",
            f"Request failed: {type(error).__name__}: {error}",
            True,
            None,
            _elapsed_ms(started),
        )
    except httpx.HTTPError as error:
        return HttpOutcome(
            None,
            "",
            f"Request failed: {type(error).__name__}: {error}",
            False,
            None,
            _elapsed_ms(started),
        )

    duration_ms = _elapsed_ms(started)
    if 200 <= code < 300:
        return HttpOutcome(code, excerpt, "", False, None, duration_ms)
    if 300 <= code < 400:
        return HttpOutcome(
            code,
            excerpt,
            f"The endpoint redirected to {location or 'an unnamed location'}; redirects are not "
            "followed, so register the final URL instead.",
            False,
            None,
            duration_ms,
        )
    retryable = code >= 500 or code in RETRYABLE_STATUS_CODES
    return HttpOutcome(
        code, excerpt, f"The endpoint answered HTTP {code}.", retryable, retry_after, duration_ms
    )


def _read_excerpt(response: httpx.Response) -> str:
    collected = b""
    for chunk in response.iter_bytes():
        collected += chunk
        if len(collected) >= RESPONSE_EXCERPT_BYTES:
            break
    return collected[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace")


def _retry_after_seconds(value: str | None) -> int | None:
    # Only the delta-seconds form; an HTTP date is rare from webhook receivers and is ignored.
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _record_outcome(
    delivery: WebhookDelivery, attempt_number: int, started_at: datetime, outcome: HttpOutcome
) -> WebhookDelivery:
    retry_at: datetime | None = None
    if outcome.succeeded:
        status = WebhookDelivery.Status.SUCCEEDED
    elif outcome.retryable and attempt_number < delivery.max_attempts:
        status = WebhookDelivery.Status.RETRYING
        retry_at = timezone.now() + timedelta(
            seconds=retry_delay_seconds(attempt_number, outcome.retry_after_seconds)
        )
    else:
        status = WebhookDelivery.Status.FAILED

    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=attempt_number,
            started_at=started_at,
            duration_ms=outcome.duration_ms,
            response_code=outcome.response_code,
            response_body_excerpt=outcome.response_body_excerpt,
            error=outcome.error,
        )
        delivery.status = status
        delivery.attempt_count = attempt_number
        delivery.response_code = outcome.response_code
        delivery.response_body_excerpt = outcome.response_body_excerpt
        delivery.error = outcome.error
        delivery.last_attempt_at = started_at
        delivery.next_attempt_at = retry_at
        delivery.claimed_until = None
        delivery.save()
        if retry_at is not None:
            countdown = (retry_at - timezone.now()).total_seconds()
            transaction.on_commit(lambda: enqueue_deliveries([delivery.pk], countdown=countdown))

    _log_outcome(delivery, attempt_number, outcome)
    return delivery


def _log_outcome(delivery: WebhookDelivery, attempt_number: int, outcome: HttpOutcome) -> None:
    ids = {"delivery_id": delivery.pk, "webhook_endpoint_id": delivery.endpoint_id}
    if delivery.status == WebhookDelivery.Status.SUCCEEDED:
        logger.info(
            "Webhook delivery %s succeeded on attempt %s with HTTP %s in %s ms",
            delivery.pk,
            attempt_number,
            outcome.response_code,
            outcome.duration_ms,
            extra=ids,
        )
    elif delivery.status == WebhookDelivery.Status.RETRYING:
        logger.info(
            "Webhook delivery %s attempt %s failed (%s); retrying at %s",
            delivery.pk,
            attempt_number,
            outcome.error,
            delivery.next_attempt_at,
            extra=ids,
        )
    else:
        logger.warning(
            "Webhook delivery %s failed for good on attempt %s: %s",
            delivery.pk,
            attempt_number,
            outcome.error,
            extra=ids,
        )
