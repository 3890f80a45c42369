import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import ApiKey
from integrations.services import api_key_revoke
from leadflow.roles import MARKETING
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.integrations.urls")]

URL = "/demo/leads-rw/"


@pytest.fixture
def user():
    return UserFactory(username="forms-bot", roles=[MARKETING])


def test_bearer_key_authenticates_as_its_user(user, make_api_key, key_client):
    _, key = make_api_key(user, ["leads:read"])

    response = key_client(key).get(URL)

    assert response.status_code == 200
    assert response.json() == {"user": "forms-bot"}


def test_x_api_key_header_authenticates(user, make_api_key):
    _, key = make_api_key(user, ["leads:read"])
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.json() == {"user": "forms-bot"}


def test_key_format_and_stored_hash(user, make_api_key):
    api_key, key = make_api_key(user, ["leads:read"])

    _, prefix, secret = key.split("_", 2)
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert key.startswith("lf_")
    assert prefix == stored.prefix
    assert len(prefix) == 12
    assert len(secret) == 43
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored_values = [str(getattr(stored, field.attname)) for field in ApiKey._meta.fields]
    assert not any(secret in value for value in stored_values)


def test_unknown_prefix_rejected(user, make_api_key, key_client):
    make_api_key(user, ["leads:read"])

    response = key_client("lf_000000000000_" + "A" * 43).get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_invalid"
    assert response.json()["message"].startswith("No API key matches lf_000000000000_")
    assert response.json()["fields"] == {}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_wrong_secret_rejected(user, make_api_key, key_client):
    api_key, _ = make_api_key(user, ["leads:read"])

    response = key_client(f"lf_{api_key.prefix}_" + "B" * 43).get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_invalid"


def test_malformed_key_rejected(key_client, db):
    response = key_client("not-a-leadflow-key").get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_malformed"
    assert "Bearer lf_<prefix>_<secret>" in response.json()["message"]


def test_bearer_header_with_extra_words_rejected(user, make_api_key):
    _, key = make_api_key(user, ["leads:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key} extra")

    response = client.get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_malformed"


def test_revoked_key_rejected(user, make_api_key, key_client):
    api_key, key = make_api_key(user, ["leads:read"])
    api_key_revoke(api_key_id=api_key.pk)

    response = key_client(key).get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_revoked"
    assert f"lf_{api_key.prefix}_… was revoked at" in response.json()["message"]


def test_expired_key_rejected(user, make_api_key, key_client):
    _, key = make_api_key(user, ["leads:read"], expires_at=timezone.now() + timedelta(hours=1))

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        response = key_client(key).get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_expired"
    assert "expired at" in response.json()["message"]


def test_key_of_inactive_user_rejected(user, make_api_key, key_client):
    _, key = make_api_key(user, ["leads:read"])
    user.is_active = False
    user.save()

    response = key_client(key).get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "api_key_user_inactive"


def test_last_used_written_once_a_minute(user, make_api_key, key_client):
    api_key, key = make_api_key(user, ["leads:read"])
    client = key_client(key)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        client.get(URL)
    api_key.refresh_from_db()
    assert api_key.last_used_at == start

    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        client.get(URL)
    api_key.refresh_from_db()
    assert api_key.last_used_at == start

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        client.get(URL)
    api_key.refresh_from_db()
    assert api_key.last_used_at == start + timedelta(seconds=61)


def test_session_post_without_csrf_token_rejected(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(URL, {}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["message"]


def test_session_post_with_csrf_token_accepted(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value

    response = client.post(URL, {}, format="json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 201


def test_key_request_costs_one_query(user, make_api_key, key_client, django_assert_num_queries):
    _, key = make_api_key(user, ["leads:read"])
    client = key_client(key)
    client.get(URL)

    # The key lookup joins its user; last_used_at was written by the first request.
    with django_assert_num_queries(1):
        response = client.get(URL)

    assert response.status_code == 200
