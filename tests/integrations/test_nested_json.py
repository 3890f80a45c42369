"""Deeply nested JSON bodies on the integrations API: 400 in the error shape, never a 500."""

import pytest
from rest_framework.test import APIClient

from integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint
from integrations.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db

TOO_DEEP_MESSAGE = (
    "JSON parse error - the document is nested too deeply to read. Send objects and lists "
    "nested at most a few levels."
)


def nested(depth):
    return "[" * depth + "]" * depth


@pytest.fixture
def revops_api(revops):
    client = APIClient()
    client.force_authenticate(revops)
    return client


@pytest.fixture
def endpoint():
    return webhook_endpoint_create(
        url="https://hooks.example.com/leadflow", event_types=["lead.won"]
    )


def write_requests(endpoint, user):
    return [
        ("post", "/api/v1/api-keys/", f'{{"name": "Deep", "user": {user.pk}, "scopes": %s}}'),
        ("post", "/api/v1/webhooks/", '{"url": "https://example.com/h", "event_types": %s}'),
        ("patch", f"/api/v1/webhooks/{endpoint.pk}/", '{"description": %s}'),
        ("put", f"/api/v1/webhooks/{endpoint.pk}/", '{"url": %s, "event_types": ["lead.won"]}'),
    ]


@pytest.mark.parametrize("idempotency_key", [None, "deep-1"], ids=["plain", "idempotent"])
@pytest.mark.parametrize("depth", [10_000, 900, 300])
def test_nested_body_is_400_everywhere(revops_api, marketer, endpoint, depth, idempotency_key):
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}

    for method, path, template in write_requests(endpoint, marketer):
        body = template % nested(depth)
        response = getattr(revops_api, method)(
            path, body, content_type="application/json", **headers
        )

        assert response.status_code == 400, (method, path, response.content[:200])
        payload = response.json()
        assert set(payload) == {"code", "message", "fields"}, (method, path)
        if depth == 10_000:
            assert payload["code"] == "parse_error", (method, path)
            assert payload["message"] == TOO_DEEP_MESSAGE, (method, path)
        else:
            assert payload["code"] == "invalid", (method, path)
            assert payload["fields"], (method, path)

    assert ApiKey.objects.count() == 0
    assert WebhookEndpoint.objects.count() == 1
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/leadflow"


@pytest.mark.parametrize("depth", [10_000, 300])
def test_replay_ignores_nested_body(
    revops_api, endpoint, depth, django_capture_on_commit_callbacks
):
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="lead.won", payload={}, max_attempts=8
    )

    # The replay takes no body, so it never parses this one; the idempotency key makes the
    # request's fingerprint read it, though.
    response = revops_api.post(
        f"/api/v1/webhook-deliveries/{delivery.pk}/replay/",
        nested(depth),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="replay-deep",
    )

    assert response.status_code == 202, response.content[:200]
    assert response.json()["id"] == delivery.pk
