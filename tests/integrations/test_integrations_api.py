import pytest
from rest_framework.test import APIClient

from integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint
from integrations.scopes import SCOPES
from integrations.services import webhook_emit, webhook_endpoint_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def revops_api(revops):
    client = APIClient()
    client.force_login(revops)
    return client


# API keys


def test_revops_creates_key_shown_once(revops_api, marketer):
    response = revops_api.post(
        "/api/v1/api-keys/",
        {"name": "Website forms", "user": marketer.pk, "scopes": ["events:write", "leads:read"]},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    api_key = ApiKey.objects.get()
    assert body["key"].startswith(f"lf_{api_key.prefix}_")
    assert body["scopes"] == ["events:write", "leads:read"]
    assert body["user"] == marketer.pk
    assert body["state"] == "active"
    assert "secret_hash" not in body

    listed = revops_api.get("/api/v1/api-keys/").json()["results"]
    detail = revops_api.get(f"/api/v1/api-keys/{api_key.pk}/").json()
    assert "key" not in listed[0]
    assert "key" not in detail
    assert detail["masked_key"] == f"lf_{api_key.prefix}_…"


def test_created_key_authenticates(revops_api, marketer):
    key = revops_api.post(
        "/api/v1/api-keys/",
        {"name": "Reader", "user": marketer.pk, "scopes": ["webhooks:read"]},
        format="json",
    ).json()["key"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = client.get("/api/v1/webhooks/")

    # The key's user is a marketer, so the revops-only endpoint rejects it despite the scope.
    assert response.status_code == 403
    assert response.json()["code"] == "role_required"


def test_unknown_scope_rejected(revops_api, marketer):
    response = revops_api.post(
        "/api/v1/api-keys/",
        {"name": "Bad", "user": marketer.pk, "scopes": ["leads:readall"]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"] == {"scopes.0": ['"leads:readall" is not a valid choice.']}
    assert ApiKey.objects.count() == 0


def test_invalid_rate_rejected(revops_api, marketer):
    response = revops_api.post(
        "/api/v1/api-keys/",
        {"name": "Bad", "user": marketer.pk, "scopes": ["leads:read"], "rate_limit": "fast"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["message"].startswith("rate_limit: Invalid rate 'fast'")
    assert ApiKey.objects.count() == 0


def test_non_revops_cannot_manage_keys(marketer):
    client = APIClient()
    client.force_login(marketer)

    response = client.post(
        "/api/v1/api-keys/",
        {"name": "Mine", "user": marketer.pk, "scopes": ["leads:read"]},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["message"] == "This endpoint is only for the role revops."
    assert ApiKey.objects.count() == 0


def test_api_key_cannot_manage_keys(revops, make_api_key, key_client):
    _, key = make_api_key(revops, list(SCOPES))

    response = key_client(key).post(
        "/api/v1/api-keys/",
        {"name": "Escalation", "user": revops.pk, "scopes": list(SCOPES)},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "api_key_not_accepted"
    assert ApiKey.objects.count() == 1


def test_revoke_then_key_fails(revops_api, marketer, make_api_key, key_client):
    api_key, key = make_api_key(marketer, ["leads:read"])

    response = revops_api.post(f"/api/v1/api-keys/{api_key.pk}/revoke/")

    assert response.status_code == 200
    assert response.json()["state"] == "revoked"
    assert key_client(key).get("/api/v1/webhooks/").json()["code"] == "api_key_revoked"


def test_revoke_twice_is_409(revops_api, marketer, make_api_key):
    api_key, _ = make_api_key(marketer, ["leads:read"])
    revops_api.post(f"/api/v1/api-keys/{api_key.pk}/revoke/")

    response = revops_api.post(f"/api/v1/api-keys/{api_key.pk}/revoke/")

    assert response.status_code == 409
    assert response.json()["code"] == "api_key_already_revoked"


def test_key_list_filters_revoked(revops_api, marketer, make_api_key):
    revoked, _ = make_api_key(marketer, ["leads:read"], name="Old")
    active, _ = make_api_key(marketer, ["leads:read"], name="New")
    revops_api.post(f"/api/v1/api-keys/{revoked.pk}/revoke/")

    response = revops_api.get("/api/v1/api-keys/?revoked=false")

    assert [row["id"] for row in response.json()["results"]] == [active.pk]


def test_key_create_is_idempotent(revops_api, marketer):
    body = {"name": "Forms", "user": marketer.pk, "scopes": ["events:write"]}

    first = revops_api.post("/api/v1/api-keys/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    retry = revops_api.post("/api/v1/api-keys/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert retry.json() == first.json()
    assert ApiKey.objects.count() == 1


# Webhook endpoints


def test_register_endpoint_returns_secret_once(revops_api):
    response = revops_api.post(
        "/api/v1/webhooks/",
        {"url": "https://crm.example/hooks", "event_types": ["lead.won", "lead.mql"]},
        format="json",
    )

    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get()
    assert response.json()["secret"] == endpoint.secret
    assert endpoint.secret.startswith("whsec_")
    assert response.json()["event_types"] == ["lead.mql", "lead.won"]
    assert "secret" not in revops_api.get(f"/api/v1/webhooks/{endpoint.pk}/").json()
    assert "secret" not in revops_api.get("/api/v1/webhooks/").json()["results"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://crm.example/hooks", "event_types": ["lead.won"]}, "url"),
        ({"url": "https://crm.example/hooks", "event_types": ["lead.hot"]}, "event_types.0"),
        ({"url": "https://crm.example/hooks", "event_types": []}, "event_types"),
        ({"url": "https://user:pw@crm.example/hooks", "event_types": ["lead.won"]}, "url"),
    ],
)
def test_register_invalid_endpoint_rejected(revops_api, body, field):
    response = revops_api.post("/api/v1/webhooks/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert WebhookEndpoint.objects.count() == 0


def test_patch_endpoint_changes_given_fields(revops_api):
    endpoint = webhook_endpoint_create(url="https://crm.example/hooks", event_types=["lead.won"])

    response = revops_api.patch(
        f"/api/v1/webhooks/{endpoint.pk}/", {"is_active": False}, format="json"
    )

    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert endpoint.url == "https://crm.example/hooks"
    assert endpoint.event_types == ["lead.won"]


def test_delete_endpoint(revops_api):
    endpoint = webhook_endpoint_create(url="https://crm.example/hooks", event_types=["lead.won"])

    response = revops_api.delete(f"/api/v1/webhooks/{endpoint.pk}/")

    assert response.status_code == 204
    assert WebhookEndpoint.objects.count() == 0


def test_webhook_scopes_split_read_and_write(revops, make_api_key, key_client):
    _, read_key = make_api_key(revops, ["webhooks:read"])
    _, write_key = make_api_key(revops, ["webhooks:write"])
    body = {"url": "https://crm.example/hooks", "event_types": ["lead.won"]}

    assert key_client(read_key).get("/api/v1/webhooks/").status_code == 200
    assert key_client(read_key).post("/api/v1/webhooks/", body, format="json").status_code == 403
    assert key_client(write_key).get("/api/v1/webhooks/").status_code == 403
    assert key_client(write_key).post("/api/v1/webhooks/", body, format="json").status_code == 201


# Webhook deliveries


@pytest.fixture
def receiver_endpoint(receiver):
    endpoint = webhook_endpoint_create(url=receiver.url, event_types=["lead.won"])
    receiver.secret = endpoint.secret
    return endpoint


def test_delivery_list_filters_by_status(revops_api, receiver_endpoint, monkeypatch):
    monkeypatch.setattr("integrations.services.webhooks.enqueue_deliveries", lambda *a, **k: None)
    [pending] = webhook_emit(event_type="lead.won", payload={"lead": {"id": 1}})
    [failed] = webhook_emit(event_type="lead.won", payload={"lead": {"id": 2}})
    WebhookDelivery.objects.filter(pk=failed.pk).update(status="failed")

    response = revops_api.get("/api/v1/webhook-deliveries/?status=pending")

    assert [row["id"] for row in response.json()["results"]] == [pending.pk]


def test_delivery_detail_lists_attempts(
    revops_api, receiver_endpoint, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = webhook_emit(event_type="lead.won", payload={"lead": {"id": 1}})

    response = revops_api.get(f"/api/v1/webhook-deliveries/{delivery.pk}/")

    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert [(row["number"], row["response_code"]) for row in response.json()["attempts"]] == [
        (1, 200)
    ]


def test_replay_from_api(
    revops,
    receiver,
    receiver_endpoint,
    make_api_key,
    key_client,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = webhook_emit(event_type="lead.won", payload={"lead": {"id": 1}})
    _, key = make_api_key(revops, ["webhooks:write"])

    with django_capture_on_commit_callbacks(execute=True):
        response = key_client(key).post(f"/api/v1/webhook-deliveries/{delivery.pk}/replay/")

    assert response.status_code == 202
    assert len(receiver.requests) == 2
    assert receiver.requests[1].signature_error is None
    assert receiver.requests[1].body == receiver.requests[0].body
    delivery.refresh_from_db()
    assert delivery.attempt_count == 2


def test_replay_needs_write_scope(revops, receiver_endpoint, make_api_key, key_client, monkeypatch):
    monkeypatch.setattr("integrations.services.webhooks.enqueue_deliveries", lambda *a, **k: None)
    [delivery] = webhook_emit(event_type="lead.won", payload={"lead": {"id": 1}})
    _, key = make_api_key(revops, ["webhooks:read"])

    response = key_client(key).post(f"/api/v1/webhook-deliveries/{delivery.pk}/replay/")

    assert response.status_code == 403
    assert "lacks the scope webhooks:write" in response.json()["message"]
    delivery.refresh_from_db()
    assert delivery.max_attempts == 8


def test_replay_missing_delivery_is_404(revops_api):
    response = revops_api.post("/api/v1/webhook-deliveries/999/replay/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_schema_documents_keys_scopes_and_idempotency(revops_api):
    response = revops_api.get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    replay = schema["paths"]["/api/v1/webhook-deliveries/{id}/replay/"]["post"]
    assert "API key scopes required: webhooks:write." in replay["description"]
    assert "Idempotency-Key" in [parameter["name"] for parameter in replay["parameters"]]
    create_key = schema["paths"]["/api/v1/api-keys/"]["post"]
    assert "API keys are not accepted." in create_key["description"]
