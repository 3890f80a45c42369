"""Send-to-sales controls on the pages marketing works from."""

import pytest

from handoff.models import HandoffStatus
from tests.factories import HandoffFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_queue_offers_bulk_send_to_marketer(client, marketer):
    lead = LeadFactory(status="mql")
    client.force_login(marketer)

    page = client.get("/leads/queue/").content.decode()

    assert 'id="send-to-sales"' in page
    assert f'name="lead_ids" value="{lead.pk}" form="send-to-sales"' in page


def test_queue_marks_lead_with_pending_handoff(client, marketer):
    lead = LeadFactory(status="mql")
    HandoffFactory(lead=lead, status=HandoffStatus.PENDING)
    client.force_login(marketer)

    page = client.get("/leads/queue/").content.decode()

    assert 'data-testid="with-sales"' in page
    assert f'name="lead_ids" value="{lead.pk}"' not in page


def test_lead_page_offers_single_send_for_mql(client, marketer):
    lead = LeadFactory(status="mql")
    client.force_login(marketer)

    page = client.get(f"/leads/{lead.pk}/").content.decode()

    assert 'id="send-lead-to-sales"' in page


def test_lead_page_hides_send_for_new_lead(client, marketer):
    lead = LeadFactory(status="new")
    client.force_login(marketer)

    page = client.get(f"/leads/{lead.pk}/").content.decode()

    assert 'id="send-lead-to-sales"' not in page


def test_home_sends_manager_to_open_handoffs(client, sales_manager):
    client.force_login(sales_manager)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/handoff/manager/"
