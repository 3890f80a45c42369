"""API keys, idempotency records and webhooks of the public REST API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from integrations.rates import validate_rate


class ApiKey(models.Model):
    """A credential another system uses to call the API as `user`, limited to `scopes`.

    The key is `lf_<prefix>_<secret>`. Only the SHA-256 digest of the secret is
    stored, so the full key is shown once, at creation, and never again.
    """

    name = models.CharField(
        max_length=100, help_text="What the key is for, such as 'Website forms'."
    )
    # Public, unique part of the key; finds the row before the secret is compared.
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64, help_text="Hex SHA-256 digest of the secret.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text="The user the key acts as; their roles and object scoping apply.",
    )
    scopes = models.JSONField(default=list, blank=True)
    rate_limit = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_rate],
        help_text="Requests allowed per period, such as 600/min. Empty: the default API key rate.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Refreshed at most once a minute per key; see services.api_keys.api_key_record_use.
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[ApiKey]] = models.Manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} (lf_{self.prefix}_…)"

    @property
    def masked_key(self) -> str:
        return f"lf_{self.prefix}_…"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.is_expired():
            return "expired"
        return "active"

    def has_scopes(self, required: set[str]) -> bool:
        return required <= set(self.scopes)


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an Idempotency-Key, kept for retries of it."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    # "api_key:<id>" or "user:<id>": keys of different callers never collide.
    principal = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    # Hex SHA-256 of method, path with query string, and body; a reuse with another hash is a 422.
    request_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The first answer's JSON as sent, replayed byte for byte; bytes skip a jsonb round trip.
    response_content = models.BinaryField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    # When the request holding the lock started; a lock older than the lock timeout is stale.
    locked_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    objects: ClassVar[models.Manager[IdempotencyRecord]] = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_principal_key"),
        ]
        indexes = [
            # Purge of expired records.
            models.Index(fields=["expires_at"], name="idempotency_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"


class WebhookEventType(models.TextChoices):
    LEAD_STATUS_CHANGED = "lead.status_changed", "Lead status changed"
    LEAD_MQL = "lead.mql", "Lead became MQL"
    LEAD_WON = "lead.won", "Lead won"
    LEAD_LOST = "lead.lost", "Lead lost"
    HANDOFF_ACCEPTED = "handoff.accepted", "Handoff accepted"
    HANDOFF_REJECTED = "handoff.rejected", "Handoff rejected"


class WebhookEndpoint(models.Model):
    """A URL that receives signed POSTs for the event types it subscribes to."""

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # Kept in clear because every delivery is signed with it; receivers hold a copy.
    secret = models.CharField(max_length=100)
    event_types = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[models.Manager[WebhookEndpoint]] = models.Manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event sent to one endpoint, with the outcome of its latest attempt."""

    # TODO: deliveries and their attempts are kept until their endpoint is deleted; there is
    # no retention sweep yet.

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40, choices=WebhookEventType.choices)
    # Shared by the deliveries of one event to several endpoints; receivers deduplicate on it.
    event_id = models.UUIDField(default=uuid.uuid4)
    occurred_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    # Attempts after which a retryable failure becomes final; a replay allows one more.
    max_attempts = models.PositiveSmallIntegerField()
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # Lease of the worker sending it now, so two workers never send the same attempt.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[models.Manager[WebhookDelivery]] = models.Manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once"),
        ]
        indexes = [
            # Sweep of deliveries whose next attempt is due.
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=Q(status__in=["pending", "retrying"]),
            ),
            # Delivery list of one endpoint, newest first.
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: the log behind the delivery's latest outcome."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)

    objects: ClassVar[models.Manager[WebhookAttempt]] = models.Manager()

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_number"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
