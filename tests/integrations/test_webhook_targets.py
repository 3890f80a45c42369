"""Webhook endpoints on loopback, private and link-local addresses are refused by default."""

import pytest

from integrations.errors import InvalidWebhookEndpoint
from integrations.models import WebhookEndpoint
from integrations.services import webhook_delivery_attempt, webhook_emit, webhook_endpoint_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def refuse_private_targets(settings):
    settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE_TARGETS = False


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is not a public address"),
        ("http://127.0.0.1:9/hook", "127.0.0.1 is not a public address"),
        ("http://10.1.2.3/hook", "10.1.2.3 is not a public address"),
        ("http://[::1]/hook", "::1 is not a public address"),
        ("http://localhost:8000/hook", "localhost is this server itself"),
    ],
)
def test_private_url_refused_at_registration(url, reason):
    with pytest.raises(InvalidWebhookEndpoint) as raised:
        webhook_endpoint_create(url=url, event_types=["lead.mql"])

    assert reason in raised.value.message
    assert "LEADFLOW_WEBHOOK_ALLOW_PRIVATE_TARGETS" in raised.value.message
    assert WebhookEndpoint.objects.count() == 0


def test_private_url_allowed_when_configured(settings):
    settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE_TARGETS = True

    created = webhook_endpoint_create(url="http://10.1.2.3/hook", event_types=["lead.mql"])

    assert created.url == "http://10.1.2.3/hook"


def test_delivery_to_private_resolution_not_sent(settings, receiver):
    """A host name that resolves to a private address is caught when sending."""
    settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    url = receiver.url.replace("127.0.0.1", "localhost")
    webhook_endpoint_create(url=url, event_types=["lead.mql"])
    [delivery] = webhook_emit(event_type="lead.mql", payload={"lead": {"id": 1}})
    settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.error.startswith("Not sent because localhost is this server itself")
    assert receiver.requests == []
