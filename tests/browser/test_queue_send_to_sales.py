"""Bulk send to sales from the MQL queue in Chromium."""

import pytest
from playwright.sync_api import expect

from handoff.models import Handoff, HandoffSettings
from tests.browser.test_pages import queue_leads  # noqa: F401 (fixture)
from tests.factories import RepFactory, RoutingRuleFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def sales_team(transactional_db):
    """Two reps behind one rule that takes every lead; no context is required to hand off."""
    HandoffSettings.objects.update_or_create(pk=1, defaults={"required_context_fields": []})
    reps = [RepFactory(capacity=10) for _ in range(2)]
    RoutingRuleFactory(name="Everyone", reps=reps)
    return reps


def test_queue_bulk_send_to_sales(marketer_page, queue_leads, sales_team, live_server, screenshot):  # noqa: F811
    page = marketer_page
    page.goto("/leads/queue/")
    vogel, ortiz = queue_leads["vogel"], queue_leads["ortiz"]

    page.locator(f"tr[data-lead-id='{vogel.pk}'] [data-testid=select-lead]").check()
    page.locator(f"tr[data-lead-id='{ortiz.pk}'] [data-testid=select-lead]").check()
    screenshot(page, "selected")
    page.get_by_role("button", name="Send selected to sales").click()

    expect(page.locator(".message").first).to_contain_text("Sent 2 leads to sales")
    assert set(Handoff.objects.values_list("lead_id", flat=True)) == {vogel.pk, ortiz.pk}
    for lead in (vogel, ortiz):
        row = page.locator(f"tr[data-lead-id='{lead.pk}']")
        expect(row.get_by_test_id("with-sales")).to_be_visible()
        expect(row.get_by_test_id("select-lead")).to_have_count(0)
    screenshot(page, "sent")


def test_queue_select_all_ticks_page(marketer_page, queue_leads):  # noqa: F811
    page = marketer_page
    page.goto("/leads/queue/")

    page.get_by_test_id("select-all").check()

    boxes = page.get_by_test_id("select-lead")
    expect(boxes).to_have_count(4)
    for index in range(4):
        expect(boxes.nth(index)).to_be_checked()
