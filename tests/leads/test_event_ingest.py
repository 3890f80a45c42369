"""Service-level behaviour of event ingest that the API tests do not reach."""

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from leads import ingest_fast, services
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


@pytest.fixture(params=["values", "staging"])
def insert_path(request, monkeypatch):
    """Run the test through both PostgreSQL inserts: INSERT … VALUES and the staging table."""
    if request.param == "staging":
        monkeypatch.setattr(ingest_fast, "MAX_ROWS_WITHOUT_STAGING", 0)
    return request.param


def test_text_with_control_characters_stored_exactly(insert_path):
    """COPY's text format escapes tabs, newlines and backslashes; the values must survive it."""
    body = event_body(
        url="https://example.com/a\tb\\c",
        campaign="line one\nline two",
        properties={"note": "tab\there", "path": "C:\\temp", "nested": {"ü": [1, 2.5, None]}},
    )

    services.events_ingest(items=[body])

    event = EngagementEvent.objects.get()
    assert event.url == "https://example.com/a\tb\\c"
    assert event.campaign == "line one\nline two"
    assert event.properties == {
        "note": "tab\there",
        "path": "C:\\temp",
        "nested": {"ü": [1, 2.5, None]},
    }


def test_second_ingest_in_transaction_stores_own_events(insert_path):
    with transaction.atomic():
        first = services.events_ingest(items=[event_body(external_id="evt-1")])
        second = services.events_ingest(items=[event_body(external_id="evt-2")])

    assert [result.status for result in first + second] == ["created", "created"]
    assert sorted(EngagementEvent.objects.values_list("external_id", flat=True)) == [
        "evt-1",
        "evt-2",
    ]


def test_resend_naming_missing_lead_is_duplicate():
    lead = LeadFactory()
    services.events_ingest(items=[event_body(email=lead.email)])

    results = services.events_ingest(items=[event_body(email=None, lead_id=999999)])

    assert [result.as_dict() for result in results] == [
        {"index": 0, "status": "duplicate", "external_id": "evt-1", "lead_id": lead.pk}
    ]


def test_resend_naming_other_lead_reports_stored_lead():
    first_lead = LeadFactory()
    other_lead = LeadFactory()
    services.events_ingest(items=[event_body(email=first_lead.email)])

    results = services.events_ingest(
        items=[event_body(email=other_lead.email), event_body(email=other_lead.email)]
    )

    assert [result.as_dict() for result in results] == [
        {"index": 0, "status": "duplicate", "external_id": "evt-1", "lead_id": first_lead.pk},
        {"index": 1, "status": "duplicate", "external_id": "evt-1", "lead_id": first_lead.pk},
    ]
    assert EngagementEvent.objects.get().lead_id == first_lead.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_same_event_created_once(insert_path):
    """Two requests with the same new event at once: one stores it, the other reports a duplicate."""
    lead = LeadFactory()
    barrier = threading.Barrier(2)
    results: list[services.EventResult] = []

    def ingest() -> None:
        barrier.wait()
        try:
            results.extend(services.events_ingest(items=[event_body(email=lead.email)]))
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    event = EngagementEvent.objects.get()
    assert sorted(result.status for result in results) == ["created", "duplicate"]
    assert [result.event_id for result in results if result.status == "created"] == [event.pk]
    assert [result.lead_id for result in results] == [lead.pk, lead.pk]


def test_already_stale_lead_enqueued_without_update(
    monkeypatch, django_capture_on_commit_callbacks
):
    lead = LeadFactory(score_stale=True)
    calls = []
    monkeypatch.setattr(services, "enqueue_rescore", calls.append)

    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as queries,
    ):
        services.events_ingest(items=[event_body(email=lead.email)])

    assert calls == [[lead.pk]]
    assert not [query for query in queries if query["sql"].startswith("UPDATE")]
