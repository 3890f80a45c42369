"""Service-level behaviour of event ingest that the API tests do not reach."""

import threading

import pytest
from django.db import connection

from leads import services
from leads.models import Account, EngagementEvent, Lead
from tests.api.conftest import event_body
from tests.factories import AccountFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_created_results_carry_event_ids():
    results = services.events_ingest(
        items=[event_body(external_id="evt-1"), event_body(external_id="evt-2")]
    )

    stored = dict(EngagementEvent.objects.values_list("external_id", "pk"))
    assert [result.event_id for result in results] == [stored["evt-1"], stored["evt-2"]]


def test_leads_create_for_emails_keeps_existing_lead():
    existing = LeadFactory(email="dana@precision-parts.example")

    lead_ids = services.leads_create_for_emails(
        emails=["dana@precision-parts.example", "kim@precision-parts.example", "kim@gmail.com"]
    )

    assert lead_ids["dana@precision-parts.example"] == existing.pk
    assert Lead.objects.count() == 3
    kim = Lead.objects.get(email="kim@precision-parts.example")
    assert kim.account.domain == "precision-parts.example"
    assert kim.score_stale is True
    assert Lead.objects.get(email="kim@gmail.com").account is None


def test_accounts_get_or_create_reuses_existing():
    account = AccountFactory(domain="precision-parts.example")

    account_ids = services.accounts_get_or_create(
        domains={"precision-parts.example", "new-plant.example"}
    )

    assert account_ids["precision-parts.example"] == account.pk
    assert Account.objects.get(pk=account_ids["new-plant.example"]).name == "new-plant.example"
    assert Account.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_ingests_share_new_lead():
    """Two requests naming the same unknown e-mail at once create one lead and store both events."""
    barrier = threading.Barrier(2)
    statuses: list[str] = []

    def ingest(external_id: str) -> None:
        barrier.wait()
        try:
            results = services.events_ingest(items=[event_body(external_id=external_id)])
            statuses.extend(result.status for result in results)
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest, args=(name,)) for name in ("evt-a", "evt-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert statuses == ["created", "created"]
    lead = Lead.objects.get()
    assert sorted(lead.events.values_list("external_id", flat=True)) == ["evt-a", "evt-b"]
    assert Account.objects.count() == 1
