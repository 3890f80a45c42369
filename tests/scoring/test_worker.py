"""End to end with a real Celery worker: an ingested event is scored and qualifies the lead."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead, LeadStatus, StatusChange
from leads.services import events_ingest
from scoring.models import RescoreRun
from tests.scoring.helpers import document, engagement_rule, fit_rule, publish

POLL_SECONDS = 30


@pytest.mark.postgres
@pytest.mark.celery_worker
def test_worker_scores_ingested_event_and_qualifies_lead(celery_worker_process):
    ruleset = publish(
        document(
            fit_rules=[fit_rule("account.has_account", "is_true", id="has-account", points=60)],
            engagement_rules=[engagement_rule("quote_request", 40, id="rfq")],
        )
    )
    # The publish queued a full rescore; let it finish so that only the ingest can qualify the lead.
    _wait_for(lambda: RescoreRun.objects.get(ruleset=ruleset).status == RescoreRun.Status.DONE)

    (result,) = events_ingest(
        items=[
            {
                "email": "buyer@gearworks.example",
                "kind": "quote_request",
                "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
                "external_id": "worker-rfq-1",
            }
        ]
    )

    _wait_for(lambda: Lead.objects.get(pk=result.lead_id).status == LeadStatus.MQL)

    lead = Lead.objects.get(pk=result.lead_id)
    assert lead.status == LeadStatus.MQL
    assert lead.score_stale is False
    assert (lead.fit_score, lead.engagement_score) == (60, 40.0)
    assert lead.ruleset_version == ruleset.version
    change = StatusChange.objects.get(lead=lead)
    assert change.rule == "scoring.thresholds"


def _wait_for(condition):
    deadline = time.monotonic() + POLL_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Condition not met within {POLL_SECONDS} s")
        time.sleep(0.25)
