"""Concurrent rescoring of one lead on PostgreSQL: row locks leave exactly one MQL step."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import Lead, LeadStatus, StatusChange
from scoring import services
from tests.factories import EngagementEventFactory, LeadFactory
from tests.scoring.helpers import document, engagement_rule, fit_rule, publish


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_rescores_record_one_mql_change(monkeypatch):
    publish(
        document(
            fit_rules=[fit_rule("account.segment", "eq", "automotive", points=60)],
            engagement_rules=[engagement_rule("quote_request", 40)],
        )
    )
    lead = LeadFactory()
    EngagementEventFactory(
        lead=lead, kind="quote_request", occurred_at=timezone.now() - timedelta(hours=1)
    )
    real_qualify = services._qualify

    def slow_qualify(*args, **kwargs):
        # Keep the first worker inside its transaction while the second one tries to score.
        time.sleep(0.3)
        return real_qualify(*args, **kwargs)

    monkeypatch.setattr(services, "_qualify", slow_qualify)
    barrier = threading.Barrier(2)
    results: list[services.RescoreResult] = []
    errors: list[BaseException] = []

    def rescore() -> None:
        barrier.wait()
        try:
            results.append(services.leads_rescore(lead_ids=[lead.pk]))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=rescore) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(result.entered_mql for result in results) == [0, 1]
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.MQL
    assert StatusChange.objects.filter(lead=lead, to_status=LeadStatus.MQL).count() == 1
