import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import IdempotencyRecord
from integrations.services import idempotency_purge_expired, request_fingerprint
from leadflow.roles import MARKETING
from leads.models import Account
from tests.factories import UserFactory
from tests.integrations.demo_api import account_create_control

pytestmark = [pytest.mark.urls("tests.integrations.urls")]

URL = "/demo/accounts/"
BODY = {"name": "Precision Parts", "domain": "precision-parts.example"}


@pytest.fixture(autouse=True)
def reset_control():
    account_create_control.reset()
    yield
    account_create_control.release.set()


@pytest.fixture
def user(db):
    return UserFactory(username="crm-sync", roles=[MARKETING])


@pytest.fixture
def client(user, make_api_key, key_client):
    _, key = make_api_key(user, ["accounts:write", "accounts:read"])
    return key_client(key)


def _post(client, key, body=BODY, url=URL):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_retry_returns_first_response(client):
    first = _post(client, "order-7f3a")
    retry = _post(client, "order-7f3a")

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert first.has_header("Idempotent-Replayed") is False


@pytest.mark.django_db
def test_retry_returns_first_body_byte_for_byte(client):
    first = _post(client, "order-7f3a")
    retry = _post(client, "order-7f3a")

    assert retry.content == first.content
    assert retry["Content-Type"] == first["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_retry_writes_nothing_new(client):
    _post(client, "order-7f3a")
    _post(client, "order-7f3a")

    assert Account.objects.count() == 1
    assert account_create_control.runs == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_replay_repeats_only_stored_headers(client):
    first = _post(client, "order-7f3a")
    retry = _post(client, "order-7f3a")

    assert first["X-Not-Stored"] == "1"
    assert retry.has_header("X-Not-Stored") is False


@pytest.mark.django_db
def test_same_key_other_body_is_422(client):
    _post(client, "order-7f3a")

    response = _post(client, "order-7f3a", {"name": "Other Works", "domain": "other.example"})

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert response.json()["message"] == (
        "Idempotency-Key 'order-7f3a' was already used for a different request "
        "(POST /demo/accounts/ with another body); send a new key for a new request."
    )
    assert response.json()["fields"] == {}
    assert Account.objects.count() == 1
    assert account_create_control.runs == 1


@pytest.mark.django_db
def test_same_json_reformatted_is_replayed(client):
    first = client.post(
        URL,
        '{"name": "Precision Parts", "domain": "precision-parts.example"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="order-7f3a",
    )
    retry = client.post(
        URL,
        '{\n  "domain":"precision-parts.example",\n  "name":"Precision Parts"\n}\n',
        content_type="application/json; charset=utf-8",
        HTTP_IDEMPOTENCY_KEY="order-7f3a",
    )

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Account.objects.count() == 1
    assert account_create_control.runs == 1


@pytest.mark.django_db
def test_same_json_other_value_is_422(client):
    _post(client, "order-7f3a")

    response = client.post(
        URL,
        '{"domain": "precision-parts.example", "name": "Precision  Parts"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="order-7f3a",
    )

    assert response.status_code == 422
    assert Account.objects.count() == 1


@pytest.mark.parametrize(
    ("content_type", "first", "second", "same"),
    [
        ("application/json", b'{"b": 1, "a": [1, 2]}', b'{"a":[1,2],"b":1}', True),
        ("application/problem+json", b'{"b": 1, "a": 2}', b'{"a":2,"b":1}', True),
        ("application/json", b'{"a": [1, 2]}', b'{"a": [2, 1]}', False),
        ("application/json", b"{not json", b"{not  json", False),
        ("text/plain", b'{"b": 1, "a": 2}', b'{"a":2,"b":1}', False),
        # Both read exactly by the slower parser: they differ in the last digit.
        (
            "application/json",
            b'{"n": 12345678901234567890123}',
            b'{"n": 12345678901234567890124}',
            False,
        ),
        (
            "application/json",
            b'{"n": 12345678901234567890123, "a": 1}',
            b'{"a":1,"n":12345678901234567890123}',
            True,
        ),
        ("application/json", '{"city": "Łódź"}'.encode(), '{ "city":"Łódź" }'.encode(), True),
        # Deeper than orjson writes (254 levels): the json module canonicalises it.
        ("application/json", b"[" * 300 + b"]" * 300, b"[ " * 300 + b"]" * 300, True),
        # Deeper than Python's recursion limit: compared byte for byte.
        ("application/json", b"[" * 10_000 + b"]" * 10_000, b"[" * 10_000 + b"]" * 10_000, True),
        ("application/json", b"[" * 10_000 + b"]" * 10_000, b"[ " * 10_000 + b"]" * 10_000, False),
    ],
    ids=[
        "key-order",
        "json-suffix",
        "list-order",
        "malformed",
        "not-json",
        "long-integers-differ",
        "long-integers-same",
        "non-ascii",
        "deeper-than-orjson",
        "deeper-than-recursion-limit-same",
        "deeper-than-recursion-limit-spaced",
    ],
)
def test_fingerprint_canonical_json_only(content_type, first, second, same):
    def fingerprint(body):
        return request_fingerprint(
            method="POST", path="/api/v1/leads/", body=body, content_type=content_type
        )

    assert (fingerprint(first) == fingerprint(second)) is same


@pytest.mark.django_db
def test_same_key_other_path_is_422(client):
    _post(client, "order-7f3a")

    response = _post(client, "order-7f3a", url=URL + "?dry_run=1")

    assert response.status_code == 422
    assert Account.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_per_principal(user, make_api_key, key_client, client):
    _, other_key = make_api_key(user, ["accounts:write"])

    first = _post(client, "shared-key")
    second = _post(key_client(other_key), "shared-key", {"name": "B", "domain": "b.example"})

    assert first.status_code == 201
    assert second.status_code == 201
    assert Account.objects.count() == 2


@pytest.mark.django_db
def test_session_user_keys_work(user):
    session_client = APIClient()
    session_client.force_login(user)

    first = _post(session_client, "browser-1")
    retry = _post(session_client, "browser-1")

    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Account.objects.count() == 1


@pytest.mark.django_db
def test_without_header_every_post_runs(client):
    client.post(URL, BODY, format="json")
    client.post(URL, {"name": "B", "domain": "b.example"}, format="json")

    assert Account.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "The Idempotency-Key header is empty"),
        ("k" * 256, "The Idempotency-Key header is 256 characters long; the maximum is 255"),
        ("two words", "The Idempotency-Key header contains spaces or non-ASCII characters"),
    ],
)
def test_malformed_key_is_400(client, key, message):
    response = _post(client, key)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert response.json()["message"].startswith(message)
    assert Account.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_key_of_255_characters_accepted(client):
    response = _post(client, "k" * 255)

    assert response.status_code == 201


@pytest.mark.django_db
def test_raised_error_not_stored(client):
    invalid = _post(client, "order-1", {"name": "No domain"})

    assert invalid.status_code == 400
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_handler_crash_rolls_back_and_releases(client):
    response = _post(client, "order-2", {"name": "broken", "domain": "broken.example"})

    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert account_create_control.runs == 1
    assert Account.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_server_error_response_not_stored(client):
    first = _post(client, "order-3", {"name": "unavailable", "domain": "u.example"})
    retry = _post(client, "order-3", {"name": "unavailable", "domain": "u.example"})

    assert first.status_code == 503
    assert retry.status_code == 503
    assert retry.has_header("Idempotent-Replayed") is False
    assert account_create_control.runs == 2
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_in_progress_duplicate_is_409(settings, user, client):
    settings.LEADFLOW_IDEMPOTENCY_WAIT_SECONDS = 0.1
    api_key = user.api_keys.get()
    IdempotencyRecord.objects.create(
        principal=f"api_key:{api_key.pk}",
        key="order-4",
        method="POST",
        path=URL,
        request_hash=request_fingerprint(
            method="POST",
            path=URL,
            body=b'{"name":"Precision Parts","domain":"precision-parts.example"}',
            content_type="application/json",
        ),
        expires_at=timezone.now() + timedelta(hours=24),
    )

    response = _post(client, "order-4")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert response.json()["message"] == (
        "A request with Idempotency-Key 'order-4' is still being processed; "
        "retry it in a few seconds to get its response."
    )
    assert Account.objects.count() == 0


@pytest.mark.django_db
def test_stale_lock_taken_over(settings, user, client):
    settings.LEADFLOW_IDEMPOTENCY_WAIT_SECONDS = 0
    api_key = user.api_keys.get()
    stale = timezone.now() - timedelta(seconds=settings.LEADFLOW_IDEMPOTENCY_LOCK_SECONDS + 1)
    IdempotencyRecord.objects.create(
        principal=f"api_key:{api_key.pk}",
        key="order-5",
        method="POST",
        path=URL,
        request_hash=request_fingerprint(
            method="POST",
            path=URL,
            body=b'{"name":"Precision Parts","domain":"precision-parts.example"}',
            content_type="application/json",
        ),
        locked_at=stale,
        expires_at=timezone.now() + timedelta(hours=24),
    )

    response = _post(client, "order-5")

    assert response.status_code == 201
    assert Account.objects.count() == 1
    assert IdempotencyRecord.objects.get().status == IdempotencyRecord.Status.COMPLETED


@pytest.mark.django_db
def test_expired_key_starts_afresh(client):
    _post(client, "order-6")

    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        response = _post(client, "order-6", {"name": "Later Works", "domain": "later.example"})

    assert response.status_code == 201
    assert Account.objects.count() == 2


@pytest.mark.django_db
def test_purge_deletes_only_expired(client):
    _post(client, "old")
    with time_machine.travel(timezone.now() + timedelta(hours=23)):
        _post(client, "recent", {"name": "B", "domain": "b.example"})

    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        deleted = idempotency_purge_expired()

    assert deleted == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


def _post_in_thread(client, key, results, name):
    try:
        results[name] = _post(client, key)
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_gets_409(settings, client):
    settings.LEADFLOW_IDEMPOTENCY_WAIT_SECONDS = 0.2
    account_create_control.release.clear()
    results = {}

    first = threading.Thread(target=_post_in_thread, args=(client, "race-1", results, "first"))
    first.start()
    assert account_create_control.entered.wait(timeout=10)
    second = threading.Thread(target=_post_in_thread, args=(client, "race-1", results, "second"))
    second.start()
    second.join(timeout=10)
    account_create_control.release.set()
    first.join(timeout=10)

    assert results["first"].status_code == 201
    assert results["second"].status_code == 409
    assert results["second"].json()["code"] == "idempotency_in_progress"
    assert account_create_control.runs == 1
    assert Account.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_waits_for_first(settings, client):
    settings.LEADFLOW_IDEMPOTENCY_WAIT_SECONDS = 8
    account_create_control.release.clear()
    results = {}

    first = threading.Thread(target=_post_in_thread, args=(client, "race-2", results, "first"))
    first.start()
    assert account_create_control.entered.wait(timeout=10)
    second = threading.Thread(target=_post_in_thread, args=(client, "race-2", results, "second"))
    second.start()
    # Let the second request reach its wait loop before the first finishes.
    second.join(timeout=0.5)
    account_create_control.release.set()
    first.join(timeout=10)
    second.join(timeout=10)

    assert results["first"].status_code == 201
    assert results["second"].status_code == 201
    assert results["second"].json() == results["first"].json()
    assert results["second"]["Idempotent-Replayed"] == "true"
    assert account_create_control.runs == 1
    assert Account.objects.count() == 1


@pytest.mark.django_db
def test_body_over_upload_limit_is_413(settings, client):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20

    response = _post(client, "order-8")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert response.json()["message"] == (
        "The request body is larger than 20 bytes; send it in smaller parts."
    )
    assert Account.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0
