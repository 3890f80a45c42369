"""E-mail addresses are stored lower-case and matched case-insensitively on every path."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads import services
from leads.inputs import LeadInput
from leads.models import EngagementEvent, Lead
from tests.api.conftest import OCCURRED_AT
from tests.factories import LeadFactory, UserFactory
from tests.leads.test_imports import mapping_with, row, run_import

pytestmark = pytest.mark.django_db

STORED = "Mixed.Case@Acme-Admin.example"
SENT = "mixed.case@acme-admin.example"


def lead_stored_with_capitals():
    """A lead whose address was stored with capitals before saves normalised it."""
    lead = LeadFactory(email="placeholder@acme-admin.example")
    Lead.objects.filter(pk=lead.pk).update(email=STORED)
    return lead


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def admin_lead_form(email):
    return {
        "email": email,
        "source_system": "",
        "interests": "[]",
        "custom_attributes": "{}",
        "status_changes-TOTAL_FORMS": "0",
        "status_changes-INITIAL_FORMS": "0",
    }


def test_lead_save_stores_email_lower_case():
    lead = LeadFactory(email="  Dana.Keller@Precision-Parts.EXAMPLE ")

    lead.refresh_from_db()
    assert lead.email == "dana.keller@precision-parts.example"


def test_admin_add_stores_email_lower_case(admin_client):
    response = admin_client.post("/admin/leads/lead/add/", admin_lead_form(STORED))

    assert response.status_code == 302
    assert list(Lead.objects.values_list("email", flat=True)) == [SENT]


def test_admin_duplicate_email_names_address(admin_client):
    existing = LeadFactory(email=SENT)

    response = admin_client.post("/admin/leads/lead/add/", admin_lead_form(STORED))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "email": [
            f"Lead {existing.pk} already has the e-mail address {SENT}; edit that lead instead."
        ]
    }
    assert Lead.objects.count() == 1


def test_email_constraint_message_is_sentence():
    LeadFactory(email=SENT)

    with pytest.raises(ValidationError) as raised:
        Lead(email=STORED).validate_constraints()

    assert raised.value.messages == [
        "Another lead already has this e-mail address, in the same or another case; edit that "
        "lead instead."
    ]


def test_event_finds_lead_stored_with_capitals(marketer_api):
    lead = lead_stored_with_capitals()

    response = marketer_api.post(
        "/api/v1/events/",
        {"kind": "demo_request", "email": SENT, "occurred_at": OCCURRED_AT},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["lead_id"] == lead.pk
    assert Lead.objects.count() == 1


def test_upsert_finds_lead_through_lower_email_index():
    lead = lead_stored_with_capitals()

    with CaptureQueriesContext(connection) as queries:
        found, created = services.lead_upsert(data=LeadInput(email=SENT, fields={"city": "Ulm"}))

    assert (found.pk, created) == (lead.pk, False)
    lookups = [query["sql"] for query in queries if 'LOWER("leads_lead"."email")' in query["sql"]]
    assert len(lookups) == 1
    assert "UPPER(" not in lookups[0]


def test_leads_create_for_emails_keys_lower_case():
    lead = lead_stored_with_capitals()

    lead_ids = services.leads_create_for_emails(emails=[SENT])

    assert lead_ids == {SENT: lead.pk}
    assert Lead.objects.count() == 1


def test_event_unresolved_email_errs_on_email(marketer_api, monkeypatch):
    # A lead the lookup does not see and the insert skips, as when another request stores it.
    monkeypatch.setattr(services, "leads_create_for_emails", lambda *, emails: {})

    response = marketer_api.post(
        "/api/v1/events/",
        {"kind": "page_view", "email": SENT, "occurred_at": OCCURRED_AT},
        format="json",
    )

    message = (
        f"No lead with the e-mail address {SENT} could be found or created; send the event again."
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"email": [message]}
    assert response.json()["message"] == f"The event is invalid. email: {message}"
    assert EngagementEvent.objects.count() == 0


def test_event_external_id_without_system_message(marketer_api):
    response = marketer_api.post(
        "/api/v1/events/",
        {"kind": "page_view", "lead_external_id": "p-1", "occurred_at": OCCURRED_AT},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "lead_external_id": [
            "No lead has external_id 'p-1' without a source_system; send the source_system the "
            "id comes from, or name the lead by email to create it."
        ]
    }
    assert Lead.objects.count() == 0


def test_event_unknown_lead_id_errs_on_lead_id(marketer_api):
    response = marketer_api.post(
        "/api/v1/events/",
        {"kind": "page_view", "lead_id": 424242, "occurred_at": OCCURRED_AT},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "lead_id": ["Lead 424242 does not exist; name the lead by email to create it."]
    }


def test_import_updates_lead_stored_with_capitals(tmp_path):
    lead = lead_stored_with_capitals()
    mapping = mapping_with(identity={"email": "Email"}, ignore_columns=[])

    report = run_import(tmp_path, [row(id="", email=SENT, source="Google")], mapping=mapping)

    assert [(result.status, result.lead_id) for result in report.rows] == [("updated", lead.pk)]
    assert Lead.objects.count() == 1
    assert Lead.objects.get(pk=lead.pk).first_touch_source == "Google"
