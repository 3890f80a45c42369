import hashlib
import hmac

import pytest

from integrations.signing import (
    SignatureVerificationError,
    build_signature_header,
    compute_signature,
    verify_signature,
)

SECRET = "whsec_receiver_test"
BODY = b'{"id":"e1","type":"lead.mql"}'
NOW = 1_780_000_000


def test_signature_is_hmac_sha256_of_timestamp_and_body():
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert compute_signature(SECRET, NOW, BODY) == expected
    assert build_signature_header(SECRET, BODY, timestamp=NOW) == f"t={NOW},v1={expected}"


def test_valid_signature_verifies():
    header = build_signature_header(SECRET, BODY, timestamp=NOW)

    assert verify_signature(SECRET, header, BODY, 300, now=NOW + 299) is None


def test_text_body_verifies_like_bytes():
    header = build_signature_header(SECRET, BODY, timestamp=NOW)

    assert verify_signature(SECRET, header, BODY.decode(), 300, now=NOW) is None


def test_any_matching_v1_value_verifies():
    good = build_signature_header(SECRET, BODY, timestamp=NOW).split(",")[1]

    verify_signature(SECRET, f"t={NOW},v1={'0' * 64},{good}", BODY, 300, now=NOW)


@pytest.mark.parametrize(
    ("header", "body", "secret", "now", "message"),
    [
        (None, BODY, SECRET, NOW, "Missing Leadflow-Signature header."),
        ("v1=abc", BODY, SECRET, NOW, "No t=<timestamp> in Leadflow-Signature."),
        (f"t={NOW}", BODY, SECRET, NOW, "No v1=<signature> in Leadflow-Signature."),
        ("t=soon,v1=abc", BODY, SECRET, NOW, "Invalid timestamp 'soon' in Leadflow-Signature."),
        ("signed", BODY, SECRET, NOW, "No t=<timestamp> in Leadflow-Signature."),
        (
            "valid",
            BODY + b" ",
            SECRET,
            NOW,
            "Signature does not match the body and secret.",
        ),
        ("valid", BODY, "whsec_other", NOW, "Signature does not match the body and secret."),
        (
            "valid",
            BODY,
            SECRET,
            NOW + 301,
            f"Signature timestamp {NOW} is more than 300 seconds from the current time",
        ),
        (
            "valid",
            BODY,
            SECRET,
            NOW - 301,
            f"Signature timestamp {NOW} is more than 300 seconds from the current time",
        ),
    ],
)
def test_bad_signature_rejected(header, body, secret, now, message):
    if header == "valid":
        header = build_signature_header(SECRET, BODY, timestamp=NOW)

    with pytest.raises(SignatureVerificationError) as raised:
        verify_signature(secret, header, body, 300, now=now)

    assert str(raised.value).startswith(message)
