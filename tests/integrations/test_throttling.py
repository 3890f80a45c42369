import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leadflow.roles import MARKETING
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.integrations.urls")]

URL = "/demo/limited/"


@pytest.fixture
def user():
    return UserFactory(username="tracking-bot", roles=[MARKETING])


@pytest.fixture
def window_start():
    """The start of a minute, so that a test's requests never straddle two windows."""
    now = timezone.now()
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


def test_headers_count_down_per_key(user, make_api_key, key_client, window_start):
    _, key = make_api_key(user, ["leads:read"], rate_limit="3/min")
    client = key_client(key)

    with time_machine.travel(window_start + timedelta(seconds=5), tick=False):
        responses = [client.get(URL) for _ in range(3)]

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert [response["X-RateLimit-Limit"] for response in responses] == ["3", "3", "3"]
    assert [response["X-RateLimit-Remaining"] for response in responses] == ["2", "1", "0"]
    assert not any(response.has_header("Retry-After") for response in responses)


def test_over_limit_gets_429_with_retry_after(user, make_api_key, key_client, window_start):
    _, key = make_api_key(user, ["leads:read"], rate_limit="3/min")
    client = key_client(key)

    with time_machine.travel(window_start + timedelta(seconds=20), tick=False):
        for _ in range(3):
            client.get(URL)
        response = client.get(URL)

    assert response.status_code == 429
    assert response["Retry-After"] == "40"
    assert response["X-RateLimit-Limit"] == "3"
    assert response["X-RateLimit-Remaining"] == "0"
    assert response.json() == {
        "code": "throttled",
        "message": "Rate limit of 3 requests per minute for this API key exceeded. "
        "Expected available in 40 seconds.",
        "fields": {},
    }


def test_next_window_allows_again(user, make_api_key, key_client, window_start):
    _, key = make_api_key(user, ["leads:read"], rate_limit="2/min")
    client = key_client(key)

    with time_machine.travel(window_start + timedelta(seconds=50), tick=False):
        client.get(URL)
        client.get(URL)
        assert client.get(URL).status_code == 429
    with time_machine.travel(window_start + timedelta(seconds=61), tick=False):
        response = client.get(URL)

    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "1"


def test_keys_counted_separately(user, make_api_key, key_client, window_start):
    _, first_key = make_api_key(user, ["leads:read"], rate_limit="1/min")
    _, second_key = make_api_key(user, ["leads:read"], rate_limit="1/min")

    with time_machine.travel(window_start + timedelta(seconds=1), tick=False):
        first = key_client(first_key).get(URL)
        second = key_client(second_key).get(URL)
        first_again = key_client(first_key).get(URL)

    assert first.status_code == 200
    assert second.status_code == 200
    assert first_again.status_code == 429


def test_key_without_rate_uses_settings_default(settings, user, make_api_key, key_client):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": "7/hour", "user": "50/min", "anon": "5/min"},
    }
    _, key = make_api_key(user, ["leads:read"])

    response = key_client(key).get(URL)

    assert response["X-RateLimit-Limit"] == "7"
    assert response["X-RateLimit-Remaining"] == "6"


def test_token_user_counted_per_user(settings, user):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": "7/hour", "user": "2/day", "anon": "5/min"},
    }
    token = Token.objects.create(user=user)
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    session_client = APIClient()
    session_client.force_login(user)

    first = token_client.get(URL)
    second = session_client.get(URL)
    third = token_client.get(URL)

    assert first["X-RateLimit-Limit"] == "2"
    assert first["X-RateLimit-Remaining"] == "1"
    assert second["X-RateLimit-Remaining"] == "0"
    assert third.status_code == 429
    assert "for this user exceeded" in third.json()["message"]


def test_anonymous_counted_per_address(settings, db):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": "7/hour", "user": "50/min", "anon": "1/hour"},
    }
    client = APIClient()

    first = client.get("/demo/public-limited/", REMOTE_ADDR="127.0.0.10")
    other_address = client.get("/demo/public-limited/", REMOTE_ADDR="127.0.0.11")
    repeat = client.get("/demo/public-limited/", REMOTE_ADDR="127.0.0.10")

    assert first.status_code == 200
    assert other_address.status_code == 200
    assert repeat.status_code == 429
    assert "for this client address exceeded" in repeat.json()["message"]


def test_denied_requests_count_and_carry_headers(user, make_api_key, key_client):
    _, key = make_api_key(user, ["leads:read"], rate_limit="5/min")

    response = key_client(key).post(URL, {}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "api_key_not_accepted"
    assert response["X-RateLimit-Limit"] == "5"
    assert response["X-RateLimit-Remaining"] == "4"


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs Redis: set CELERY_BROKER_URL")
def test_counts_shared_in_redis(settings, user, make_api_key, key_client, window_start):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": django_settings.REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4()}",
        }
    }
    _, key = make_api_key(user, ["leads:read"], rate_limit="2/min")

    with time_machine.travel(window_start + timedelta(seconds=3), tick=False):
        statuses = [key_client(key).get(URL).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
