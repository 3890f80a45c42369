"""Creating, checking and revoking API keys.

A key is `lf_<prefix>_<secret>`: 6 random bytes of public prefix in hex, used to
find the row, and 32 random bytes of secret in URL-safe base64. Only the
SHA-256 digest of the secret is stored. A slow password hash (PBKDF2, Argon2)
exists to make guessing low-entropy passwords expensive. A 256-bit random
secret cannot be guessed at any hash speed, so one fast digest per request is
as safe, and it costs microseconds where a slow hash deliberately costs 100 ms or more.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.errors import ApiKeyAlreadyRevoked, ApiKeyNotFound, InvalidScopes
from integrations.models import ApiKey
from integrations.rates import parse_rate
from integrations.scopes import SCOPES, unknown_scopes
from integrations.services.users import Actor, stored_user
from leadflow.errors import ApplicationError

logger = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"^lf_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")
PREFIX_BYTES = 6
SECRET_BYTES = 32
# last_used_at is a hint for admins, not an audit log, so one write a minute per key is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyRejected(ApplicationError):
    """The presented key cannot authenticate; `code` names the reason."""

    status_code = 401


@dataclass(frozen=True)
class CreatedApiKey:
    """A new key and its full text, which exists only here and is never stored."""

    api_key: ApiKey
    key: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _validate_scopes(scopes: Iterable[str]) -> list[str]:
    requested = [scope.strip() for scope in scopes if scope.strip()]
    if not requested:
        raise InvalidScopes(
            f"An API key needs at least one scope; choose from {', '.join(SCOPES)}.",
            extra={"fields": {"scopes": ["At least one scope is required."]}},
        )
    unknown = unknown_scopes(requested)
    if unknown:
        raise InvalidScopes(
            f"Unknown scope {', '.join(unknown)}; choose from {', '.join(SCOPES)}.",
            extra={"fields": {"scopes": [f"Unknown scope {scope}." for scope in unknown]}},
        )
    # Keep the catalogue's order so that lists of scopes read the same everywhere.
    return [scope for scope in SCOPES if scope in set(requested)]


def api_key_create(
    *,
    name: str,
    user: User,
    scopes: Iterable[str],
    created_by: Actor = None,
    expires_at: datetime | None = None,
    rate_limit: str = "",
) -> CreatedApiKey:
    """Create a key acting as `user` with `scopes` and return it with its full text.

    The full key is in the result only; the caller shows it once.
    """
    name = name.strip()
    if not name:
        raise ApplicationError(
            "The API key name is missing; give a name that describes its use, such as 'Website forms'.",
            extra={"fields": {"name": ["This field is required."]}},
            code="invalid",
        )
    valid_scopes = _validate_scopes(scopes)
    if rate_limit:
        try:
            parse_rate(rate_limit)
        except ValueError as error:
            raise ApplicationError(
                str(error), extra={"fields": {"rate_limit": [str(error)]}}, code="invalid"
            ) from error
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError(
            f"Expiry {expires_at.isoformat()} is in the past; choose a future time or none.",
            extra={"fields": {"expires_at": ["Must be in the future."]}},
            code="invalid",
        )

    secret = secrets.token_urlsafe(SECRET_BYTES)
    api_key = _insert_with_unique_prefix(
        ApiKey(
            name=name,
            secret_hash=hash_secret(secret),
            user=user,
            scopes=valid_scopes,
            created_by=stored_user(created_by),
            expires_at=expires_at,
            rate_limit=rate_limit,
        )
    )

    logger.info(
        "API key %s created for user %s with scopes %s",
        api_key.pk,
        user.pk,
        ",".join(valid_scopes),
        extra={"api_key_id": api_key.pk, "actor_id": getattr(created_by, "pk", None)},
    )
    return CreatedApiKey(api_key=api_key, key=f"lf_{api_key.prefix}_{secret}")


def _insert_with_unique_prefix(api_key: ApiKey) -> ApiKey:
    # 48 random bits make a clash rare; retrying a few times makes a failure practically impossible.
    for _ in range(5):
        api_key.prefix = secrets.token_hex(PREFIX_BYTES)
        try:
            with transaction.atomic():
                api_key.save(force_insert=True)
            return api_key
        except IntegrityError:
            if not ApiKey.objects.filter(prefix=api_key.prefix).exists():
                raise
    raise RuntimeError("Could not draw an unused API key prefix in 5 tries.")


def api_key_revoke(*, api_key_id: int, actor: Actor = None) -> ApiKey:
    """Revoke a key at once: every later request with it is rejected with 401."""
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().filter(pk=api_key_id).first()
        if api_key is None:
            raise ApiKeyNotFound(f"API key {api_key_id} does not exist.")
        if api_key.revoked_at is not None:
            raise ApiKeyAlreadyRevoked(
                f"API key {api_key_id} was already revoked at {api_key.revoked_at.isoformat()}."
            )

        api_key.revoked_at = timezone.now()
        api_key.revoked_by = stored_user(actor)
        api_key.save(update_fields=["revoked_at", "revoked_by"])

    logger.info(
        "API key %s revoked",
        api_key.pk,
        extra={"api_key_id": api_key.pk, "actor_id": getattr(actor, "pk", None)},
    )
    return api_key


def api_key_verify(*, raw_key: str, now: datetime | None = None) -> ApiKey:
    """Return the active key matching `raw_key`, or raise ApiKeyRejected naming the reason.

    Revocation and expiry are reported only once the secret matched, so a
    caller without the secret learns nothing about a key but its prefix.
    """
    now = now or timezone.now()
    match = KEY_PATTERN.match(raw_key.strip())
    if match is None:
        raise ApiKeyRejected(
            "The API key is malformed; send it as 'Authorization: Bearer lf_<prefix>_<secret>' "
            "exactly as it was shown at creation.",
            code="api_key_malformed",
        )

    api_key = ApiKey.objects.select_related("user").filter(prefix=match["prefix"]).first()
    if api_key is None or not hmac.compare_digest(
        api_key.secret_hash, hash_secret(match["secret"])
    ):
        raise ApiKeyRejected(
            f"No API key matches lf_{match['prefix']}_…; check the key or ask an admin for a new one.",
            code="api_key_invalid",
        )
    if api_key.revoked_at is not None:
        raise ApiKeyRejected(
            f"API key lf_{api_key.prefix}_… was revoked at {api_key.revoked_at.isoformat()}; "
            "ask an admin for a new one.",
            code="api_key_revoked",
        )
    if api_key.is_expired(now):
        assert api_key.expires_at is not None
        raise ApiKeyRejected(
            f"API key lf_{api_key.prefix}_… expired at {api_key.expires_at.isoformat()}; "
            "ask an admin for a new one.",
            code="api_key_expired",
        )
    if not api_key.user.is_active:
        raise ApiKeyRejected(
            f"API key lf_{api_key.prefix}_… acts as a deactivated user; ask an admin for a new one.",
            code="api_key_user_inactive",
        )
    return api_key


def api_key_record_use(*, api_key: ApiKey, now: datetime | None = None) -> bool:
    """Set the key's last use to `now` unless it was set less than a minute ago; return whether it wrote.

    The conditional UPDATE keeps concurrent requests of one key to one write a minute.
    """
    now = now or timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return False
    updated = (
        ApiKey.objects.filter(pk=api_key.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION))
        .update(last_used_at=now)
    )
    if updated:
        api_key.last_used_at = now
    return bool(updated)
