"""lead_upsert by one identity, as the PUT upserts call it, and without, as POST and imports do."""

import pytest

from leads.errors import LeadIdentityConflict
from leads.inputs import LeadInput
from leads.models import Lead
from leads.services import lead_upsert
from tests.factories import AccountFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_upsert_by_email_ignores_external_id():
    other = LeadFactory(email=None, source_system="crm", external_id="C-1")

    with pytest.raises(LeadIdentityConflict):
        lead_upsert(
            data=LeadInput(email="dana@cast-works.example", source_system="crm", external_id="C-1"),
            match_on="email",
        )

    other.refresh_from_db()
    assert other.email is None
    assert Lead.objects.count() == 1


def test_upsert_without_match_keeps_finding_by_external_id():
    """POST /leads/ and the importer keep their rule: e-mail first, then external id."""
    other = LeadFactory(email=None, source_system="crm", external_id="C-1")

    lead, created = lead_upsert(
        data=LeadInput(email="dana@cast-works.example", source_system="crm", external_id="C-1")
    )

    assert created is False
    assert lead.pk == other.pk
    assert lead.email == "dana@cast-works.example"


def test_upsert_by_external_id_adds_email():
    lead = LeadFactory(email=None, source_system="crm", external_id="C-1", account=None)
    AccountFactory(domain="cast-works.example")

    updated, created = lead_upsert(
        data=LeadInput(email="dana@cast-works.example", source_system="crm", external_id="C-1"),
        match_on="external_id",
    )

    assert created is False
    assert updated.pk == lead.pk
    assert updated.email == "dana@cast-works.example"
    assert updated.account.domain == "cast-works.example"
