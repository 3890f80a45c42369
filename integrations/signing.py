"""Signatures of webhook deliveries, for Leadflow and for the systems that receive them.

Every delivery carries the header ``Leadflow-Signature: t=<unix seconds>,v1=<hex>``
where ``<hex>`` is HMAC-SHA256 keyed with the endpoint's secret over
``f"{t}.{body}"`` and ``body`` is the exact request body. Signing the timestamp
with the body lets a receiver reject a captured request replayed later.

This module needs only the Python standard library, so a receiver may copy it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Leadflow-Signature"
EVENT_HEADER = "Leadflow-Event"
DELIVERY_HEADER = "Leadflow-Delivery"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureVerificationError(ValueError):
    """The signature header is missing, malformed, too old, or does not match the body."""


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of `timestamp`, a dot and `body`, keyed with `secret`."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def build_signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Return the value of the Leadflow-Signature header for `body`, signed now unless told when."""
    signed_at = int(time.time()) if timestamp is None else timestamp
    return f"t={signed_at},{SIGNATURE_VERSION}={compute_signature(secret, signed_at, body)}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes | str,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise SignatureVerificationError unless `header` signs `body` with `secret` recently enough.

    `body` must be the raw request body as received, before any JSON parsing.
    The timestamp may differ from the receiver's clock by at most
    `tolerance_seconds` either way. Any one of several `v1` values may match,
    which lets a sender sign with an old and a new secret while they rotate.
    """
    if not header:
        raise SignatureVerificationError(f"Missing {SIGNATURE_HEADER} header.")
    raw_body = body.encode("utf-8") if isinstance(body, str) else body

    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, separator, value = part.strip().partition("=")
        if not separator:
            continue
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureVerificationError(
                    f"Invalid timestamp {value!r} in {SIGNATURE_HEADER}."
                ) from None
        elif name == SIGNATURE_VERSION:
            signatures.append(value)

    if timestamp is None:
        raise SignatureVerificationError(f"No t=<timestamp> in {SIGNATURE_HEADER}.")
    if not signatures:
        raise SignatureVerificationError(
            f"No {SIGNATURE_VERSION}=<signature> in {SIGNATURE_HEADER}."
        )

    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise SignatureVerificationError(
            f"Signature timestamp {timestamp} is more than {tolerance_seconds} seconds "
            "from the current time; reject the request or check the receiver's clock."
        )

    expected = compute_signature(secret, timestamp, raw_body)
    # Compare every candidate in constant time, so timing reveals nothing about the secret.
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureVerificationError("Signature does not match the body and secret.")
