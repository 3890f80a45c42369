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
    assert response.context["rows"] == [(sent_delivery, "good")]
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


def test_delivery_page_in_nav_for_revops(revops):
    client = Client()
    client.force_login(revops)

    response = client.get("/integrations/webhook-deliveries/")

    body = response.content.decode()
    assert (
        '<a href="/integrations/webhook-deliveries/" class="active" aria-current="page">'
        "Webhooks</a>" in body
    )
    assert '<table class="data" data-testid="deliveries">' in body


def test_delivery_nav_hidden_from_marketer(marketer):
    client = Client()
    client.force_login(marketer)

    response = client.get("/leads/queue/")

    assert response.status_code == 200
    assert "/integrations/webhook-deliveries/" not in response.content.decode()


def test_delivery_page_shows_status_badges(revops, sent_delivery, receiver):
    endpoint = sent_delivery.endpoint
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="lead.won",
        payload={},
        status=WebhookDelivery.Status.FAILED,
        attempt_count=6,
        max_attempts=6,
        response_code=500,
        error="The endpoint answered HTTP 500.",
    )
    client = Client()
    client.force_login(revops)

    response = client.get("/integrations/webhook-deliveries/")

    body = response.content.decode()
    assert '<span class="badge good" data-testid="status">Succeeded</span>' in body
    assert '<span class="badge bad" data-testid="status">Failed</span>' in body
    assert "The endpoint answered HTTP 500." in body


def test_delivery_page_replay_reports_success(revops, sent_delivery, receiver, transactional_db):
    client = Client()
    client.force_login(revops)

    # Outside a test transaction the attempt runs at the replay's commit, as in a real request.
    response = client.post(
        f"/integrations/webhook-deliveries/{sent_delivery.pk}/replay/", follow=True
    )

    messages = [str(message) for message in response.context["messages"]]
    assert messages == [f"Delivery {sent_delivery.pk} sent again: HTTP 200, succeeded."]


def test_delivery_page_replay_reports_failure(revops, sent_delivery, receiver, transactional_db):
    receiver.respond_with((500, b"down"))
    client = Client()
    client.force_login(revops)

    # Outside a test transaction the attempt runs at the replay's commit, as in a real request.
    response = client.post(
        f"/integrations/webhook-deliveries/{sent_delivery.pk}/replay/", follow=True
    )

    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        f"Delivery {sent_delivery.pk} sent again and failed: The endpoint answered HTTP 500."
    ]
    sent_delivery.refresh_from_db()
    assert sent_delivery.status == WebhookDelivery.Status.FAILED


def test_delivery_page_replay_queued_message(revops, sent_delivery, receiver):
    client = Client()
    client.force_login(revops)

    # Without running the commit callbacks the attempt stays queued, as with a broker.
    response = client.post(
        f"/integrations/webhook-deliveries/{sent_delivery.pk}/replay/", follow=True
    )

    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        f"Delivery {sent_delivery.pk} is queued to be sent again; reload this page for its result."
    ]
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        (
            "/integrations/webhook-deliveries/?status=failed",
            "/integrations/webhook-deliveries/?status=failed",
        ),
        ("https://evil.example/", "/integrations/webhook-deliveries/"),
    ],
)
def test_delivery_page_replay_returns_to_list(revops, sent_delivery, next_url, location):
    client = Client()
    client.force_login(revops)

    response = client.post(
        f"/integrations/webhook-deliveries/{sent_delivery.pk}/replay/", {"next": next_url}
    )

    assert response.status_code == 302
    assert response["Location"] == location


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
