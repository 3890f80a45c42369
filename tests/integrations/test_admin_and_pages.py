import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from integrations.models import ApiKey, WebhookDelivery, WebhookEndpoint
from integrations.services import api_key_verify, webhook_emit, webhook_endpoint_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    admin.save()
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def sent_delivery(receiver, django_capture_on_commit_callbacks):
    endpoint = webhook_endpoint_create(url=receiver.url, event_types=["lead.lost"])
    receiver.secret = endpoint.secret
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = webhook_emit(event_type="lead.lost", payload={"lead": {"id": 3}})
    return delivery


# Django admin


def test_admin_add_shows_key_once(admin_client, marketer):
    response = admin_client.post(
        "/admin/integrations/apikey/add/",
        {"name": "Marketing automation", "user": marketer.pk, "scopes": ["events:write"]},
    )

    assert response.status_code == 200
    key = response.context["created"].key
    assert key in response.content.decode()
    assert api_key_verify(raw_key=key).user == marketer
    changelist = admin_client.get("/admin/integrations/apikey/")
    detail = admin_client.get(f"/admin/integrations/apikey/{ApiKey.objects.get().pk}/change/")
    assert key not in changelist.content.decode()
    assert key not in detail.content.decode()


def test_admin_add_invalid_form_creates_nothing(admin_client, marketer):
    response = admin_client.post(
        "/admin/integrations/apikey/add/", {"name": "No scopes", "user": marketer.pk}
    )

    assert response.status_code == 200
    assert response.context["created"] is None
    assert "This field is required." in response.content.decode()
    assert ApiKey.objects.count() == 0


def test_admin_revoke_action(admin_client, marketer, make_api_key):
    api_key, _ = make_api_key(marketer, ["leads:read"])

    response = admin_client.post(
        "/admin/integrations/apikey/",
        {"action": "revoke_selected", "_selected_action": [api_key.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 1 API keys." in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_admin_endpoint_add_generates_secret(admin_client):
    response = admin_client.post(
        "/admin/integrations/webhookendpoint/add/",
        {"url": "https://crm.example/hooks", "event_types": ["lead.won"], "is_active": "on"},
    )

    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.event_types == ["lead.won"]


def test_admin_replay_action(
    admin_client, sent_delivery, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/integrations/webhookdelivery/",
            {"action": "replay_selected", "_selected_action": [sent_delivery.pk]},
            follow=True,
        )

    assert "Queued 1 deliveries for replay." in response.content.decode()
    assert len(receiver.requests) == 2
    assert receiver.requests[1].signature_error is None


# Revops page


def test_delivery_page_lists_deliveries(revops, sent_delivery):
    client = Client()
    client.force_login(revops)

    response = client.get("/integrations/webhook-deliveries/")

    assert response.status_code == 200
    assert list(response.context["deliveries"]) == [sent_delivery]
    assert "lead.lost" in response.content.decode()


def test_delivery_page_forbidden_for_marketer(marketer):
    client = Client()
    client.force_login(marketer)

    response = client.get("/integrations/webhook-deliveries/")

    assert response.status_code == 403


def test_delivery_page_replays(revops, sent_delivery, receiver, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(revops)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/integrations/webhook-deliveries/{sent_delivery.pk}/replay/")

    assert response.status_code == 302
    assert response["Location"] == "/integrations/webhook-deliveries/"
    assert len(receiver.requests) == 2
    sent_delivery.refresh_from_db()
    assert sent_delivery.attempt_count == 2


def test_delivery_page_replay_error_shown(revops, sent_delivery):
    WebhookEndpoint.objects.update(is_active=False)
    client = Client()
    client.force_login(revops)

    response = client.post(
        f"/integrations/webhook-deliveries/{sent_delivery.pk}/replay/", follow=True
    )

    assert "is inactive; activate it before replaying" in response.content.decode()
    sent_delivery.refresh_from_db()
    assert sent_delivery.status == WebhookDelivery.Status.SUCCEEDED


# Management command


def test_command_prints_working_key(marketer, capsys):
    call_command(
        "create_api_key",
        "--user",
        "marketer",
        "--scopes",
        "events:write,leads:read",
        "--name",
        "CLI",
    )

    output = capsys.readouterr()
    key = output.out.strip()
    api_key = api_key_verify(raw_key=key)
    assert api_key.user == marketer
    assert api_key.scopes == ["events:write", "leads:read"]
    assert api_key.name == "CLI"
    assert "cannot be shown again" in output.err
    assert key not in output.err


def test_command_unknown_scope_fails(marketer):
    with pytest.raises(CommandError, match="Unknown scope leads:all; choose from events:write"):
        call_command(
            "create_api_key", "--user", "marketer", "--scopes", "leads:all", "--name", "CLI"
        )

    assert ApiKey.objects.count() == 0


def test_command_unknown_user_fails(db):
    with pytest.raises(CommandError, match="No user 'ghost' exists"):
        call_command("create_api_key", "--user", "ghost", "--scopes", "leads:read", "--name", "CLI")
