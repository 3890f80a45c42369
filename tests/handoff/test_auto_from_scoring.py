"""The automatic handoff runs from incremental scoring, end to end in eager mode."""

import pytest
from django.utils import timezone

from handoff.models import Handoff
from leads.models import Lead, LeadStatus
from leads.services import events_ingest
from scoring.services import rescore_run_execute
from tests.factories import AccountFactory, LeadFactory


@pytest.fixture
def fitting_lead(transactional_db, default_ruleset):
    account = AccountFactory(segment="automotive", facility_type="plant", region="europe")
    return LeadFactory(
        account=account,
        email="plant.manager@gears.example",
        job_title="Plant Manager",
        job_function="operations",
        seniority="manager",
    )


def quote_request(lead, external_id="rfq-1"):
    return {
        "email": lead.email,
        "kind": "quote_request",
        "occurred_at": timezone.now().isoformat(),
        "external_id": external_id,
    }


@pytest.mark.django_db(transaction=True)
def test_quote_request_qualifies_and_hands_off(fitting_lead, team, auto_enabled):
    events_ingest(items=[quote_request(fitting_lead)])

    lead = Lead.objects.get(pk=fitting_lead.pk)
    assert lead.status == LeadStatus.MQL
    assert lead.fit_score >= auto_enabled.auto_fit_threshold
    handoff = Handoff.objects.get(lead=lead)
    assert handoff.status == "pending"
    assert handoff.sent_rule == "handoff.auto"


@pytest.mark.django_db(transaction=True)
def test_auto_handoff_disabled_leaves_mql_unsent(fitting_lead, team, handoff_settings):
    events_ingest(items=[quote_request(fitting_lead)])

    assert Lead.objects.get(pk=fitting_lead.pk).status == LeadStatus.MQL
    assert Handoff.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_full_rescore_never_hands_off(fitting_lead, team, auto_enabled):
    """A publish-triggered full rescore qualifies leads but leaves the handoff to marketing."""
    Lead.objects.filter(pk=fitting_lead.pk).update(score_stale=False)
    from leads.models import EngagementEvent

    EngagementEvent.objects.create(
        lead=fitting_lead, kind="quote_request", occurred_at=timezone.now(), external_id="rfq-x"
    )

    rescore_run_execute()

    assert Lead.objects.get(pk=fitting_lead.pk).status == LeadStatus.MQL
    assert Handoff.objects.count() == 0
