"""The revops page of webhook deliveries in Chromium: menu entry, status badges and replay."""

import pytest
from playwright.sync_api import expect

from integrations.models import WebhookDelivery
from integrations.services import webhook_emit, webhook_endpoint_create
from tests.integrations.conftest import receiver  # noqa: F401 (a fixture of these tests)

pytestmark = pytest.mark.browser


@pytest.fixture
def deliveries(settings, receiver):  # noqa: F811 (the fixture imported above)
    """One delivery that reached the receiver and one that failed for good with HTTP 500."""
    settings.LEADFLOW_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    endpoint = webhook_endpoint_create(
        url=receiver.url, description="CRM sync", event_types=["lead.won", "lead.lost"]
    )
    receiver.secret = endpoint.secret
    [succeeded] = webhook_emit(event_type="lead.won", payload={"lead": {"id": 7}})
    failed = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="lead.lost",
        payload={"lead": {"id": 8}},
        status=WebhookDelivery.Status.FAILED,
        attempt_count=8,
        max_attempts=8,
        response_code=500,
        error="The endpoint answered HTTP 500.",
    )
    return succeeded, failed


def test_webhook_deliveries_replay_failed(log_in, revops, deliveries, receiver, screenshot):  # noqa: F811
    succeeded, failed = deliveries
    page = log_in(revops)

    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Webhook deliveries")
    assert page.url.endswith("/integrations/webhook-deliveries/")
    expect(page.get_by_role("link", name="Webhooks")).to_have_attribute("aria-current", "page")
    failed_row = page.locator(f"#delivery-{failed.pk}")
    expect(failed_row.get_by_test_id("status")).to_have_text("Failed")
    expect(failed_row).to_contain_text("The endpoint answered HTTP 500.")
    expect(page.locator(f"#delivery-{succeeded.pk}").get_by_test_id("status")).to_have_text(
        "Succeeded"
    )
    screenshot(page, "list")

    failed_row.get_by_role("button", name=f"Replay delivery {failed.pk}").click()

    expect(page.get_by_role("status")).to_have_text(
        f"Delivery {failed.pk} sent again: HTTP 200, succeeded."
    )
    expect(page.locator(f"#delivery-{failed.pk}").get_by_test_id("status")).to_have_text(
        "Succeeded"
    )
    assert len(receiver.requests) == 2
    screenshot(page, "replayed")


def test_webhook_deliveries_filter_keeps_status(log_in, revops, deliveries, screenshot):
    _, failed = deliveries
    page = log_in(revops)
    page.goto("/integrations/webhook-deliveries/")

    page.get_by_label("Status").select_option("failed")

    expect(page.locator("tbody tr")).to_have_count(1)
    assert page.url.endswith("/integrations/webhook-deliveries/?status=failed")
    expect(page.locator(f"#delivery-{failed.pk}")).to_be_visible()

    page.get_by_role("button", name=f"Replay delivery {failed.pk}").click()

    expect(page.get_by_role("status")).to_contain_text("sent again: HTTP 200, succeeded.")
    assert page.url.endswith("/integrations/webhook-deliveries/?status=failed")
    expect(page.locator("tbody tr")).to_have_text("No deliveries with this status.")
    screenshot(page, "filtered-after-replay")
