"""PUT /api/v1/leads/by-email/{email}/ and /by-external-id/{source_system}/{external_id}/."""

import pytest

from leads.models import Account, Lead
from tests.factories import AccountFactory, LeadFactory

pytestmark = pytest.mark.django_db

BY_EMAIL = "/api/v1/leads/by-email/{email}/"
BY_EXTERNAL_ID = "/api/v1/leads/by-external-id/{system}/{external_id}/"


def put(client, url, body):
    return client.put(url, body, format="json")


# By e-mail


def test_by_email_creates_lead_with_201_and_location(marketer_api):
    account = AccountFactory(domain="precision-parts.example")

    response = put(
        marketer_api,
        BY_EMAIL.format(email="Dana.Keller@Precision-Parts.example"),
        {"first_name": "Dana", "job_title": "Plant Manager", "country": "Germany"},
    )

    assert response.status_code == 201
    lead = Lead.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/leads/{lead.pk}/"
    assert response.json()["id"] == lead.pk
    assert lead.email == "dana.keller@precision-parts.example"
    assert lead.first_name == "Dana"
    assert lead.seniority == "manager"
    assert lead.region == "europe"
    assert lead.account == account
    assert lead.score_stale is True


def test_by_email_updates_existing_lead_with_200(marketer_api):
    lead = LeadFactory(email="dana@precision-parts.example", job_title="Engineer", city="Ulm")

    response = put(
        marketer_api,
        BY_EMAIL.format(email="DANA@precision-parts.example"),
        {"email": "dana@PRECISION-PARTS.example", "job_title": "Quality Manager"},
    )

    assert response.status_code == 200
    assert response.json()["id"] == lead.pk
    assert not response.has_header("Location")
    lead.refresh_from_db()
    assert lead.job_title == "Quality Manager"
    assert lead.city == "Ulm"
    assert Lead.objects.count() == 1


def test_by_email_body_email_mismatch_rejected(marketer_api):
    lead = LeadFactory(email="dana@precision-parts.example", job_title="Engineer")

    response = put(
        marketer_api,
        BY_EMAIL.format(email="dana@precision-parts.example"),
        {"email": "other@precision-parts.example", "job_title": "Buyer"},
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "lead_identity_mismatch",
        "message": "The body's email differs from the path, so it names another lead; send "
        "the path's values or leave these fields out of the body.",
        "fields": {
            "email": [
                "'other@precision-parts.example' differs from the path's "
                "'dana@precision-parts.example'."
            ]
        },
    }
    lead.refresh_from_db()
    assert lead.job_title == "Engineer"
    assert Lead.objects.count() == 1


def test_by_email_invalid_address_in_path_rejected(marketer_api):
    response = put(marketer_api, BY_EMAIL.format(email="dana"), {"first_name": "Dana"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_lead"
    assert list(response.json()["fields"]) == ["email"]
    assert Lead.objects.count() == 0


def test_by_email_adds_missing_external_id(marketer_api):
    lead = LeadFactory(email="dana@precision-parts.example")

    response = put(
        marketer_api,
        BY_EMAIL.format(email="dana@precision-parts.example"),
        {"source_system": "crm", "external_id": "C-17"},
    )

    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.source_system, lead.external_id) == ("crm", "C-17")


def test_by_email_other_external_id_conflicts(marketer_api):
    lead = LeadFactory(
        email="dana@precision-parts.example", source_system="crm", external_id="C-1", city="Ulm"
    )

    response = put(
        marketer_api,
        BY_EMAIL.format(email="dana@precision-parts.example"),
        {"source_system": "crm", "external_id": "C-2", "city": "Bonn"},
    )

    assert response.status_code == 409
    assert response.json()["code"] == "lead_identity_conflict"
    assert list(response.json()["fields"]) == ["external_id"]
    lead.refresh_from_db()
    assert (lead.external_id, lead.city) == ("C-1", "Ulm")


def test_by_email_external_id_of_another_lead_conflicts(marketer_api):
    holder = LeadFactory(email=None, source_system="crm", external_id="C-9")

    response = put(
        marketer_api,
        BY_EMAIL.format(email="dana@precision-parts.example"),
        {"source_system": "crm", "external_id": "C-9"},
    )

    assert response.status_code == 409
    assert response.json()["fields"] == {"external_id": [f"Belongs to lead {holder.pk}."]}
    assert Lead.objects.count() == 1


def test_by_email_ignores_external_id_match(marketer_api):
    """POST /leads/ would update the lead with this external id; the PUT by e-mail may not."""
    other = LeadFactory(
        email="someone@precision-parts.example", source_system="crm", external_id="C-3"
    )

    response = put(
        marketer_api,
        BY_EMAIL.format(email="dana@precision-parts.example"),
        {"source_system": "crm", "external_id": "C-3", "job_title": "Buyer"},
    )

    assert response.status_code == 409
    other.refresh_from_db()
    assert other.job_title == "Manufacturing Engineer"


def test_by_email_free_mail_lead_not_linked(marketer_api):
    response = put(marketer_api, BY_EMAIL.format(email="dana@gmail.com"), {})

    assert response.status_code == 201
    assert response.json()["account"] is None
    assert Account.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [({"status": "sql"}, ["status"]), ({"lead_score": 3}, ["lead_score"])],
    ids=["read-only", "unknown"],
)
def test_by_email_invalid_body_rejected(marketer_api, body, fields):
    response = put(marketer_api, BY_EMAIL.format(email="dana@precision-parts.example"), body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_lead"
    assert list(response.json()["fields"]) == fields
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ('{"city": "Ulm\\u0000"}', "city", "Contains a NUL character; remove it."),
        (
            '{"custom_attributes": {"note": "\\ud800"}}',
            "custom_attributes",
            "Contains an unpaired surrogate character; remove it.",
        ),
        ('{"interests": ["robots\\u0000"]}', "interests", "Contains a NUL character; remove it."),
    ],
    ids=["nul", "surrogate", "nul-in-list"],
)
def test_by_email_unstorable_characters_rejected(marketer_api, raw, field, message):
    # Sent as raw JSON: the test client cannot encode an unpaired surrogate.
    response = marketer_api.put(
        BY_EMAIL.format(email="dana@precision-parts.example"), raw, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {field: [message]}
    assert Lead.objects.count() == 0


def test_by_email_non_object_body_rejected(marketer_api):
    response = put(marketer_api, BY_EMAIL.format(email="dana@precision-parts.example"), [1])

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "non_field_errors": ["Expected an object with lead fields, got list."]
    }


def test_by_email_replayed_with_idempotency_key(marketer_api):
    url = BY_EMAIL.format(email="dana@precision-parts.example")

    first = marketer_api.put(url, {"city": "Ulm"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    Lead.objects.update(city="Bonn")
    second = marketer_api.put(url, {"city": "Ulm"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == 201
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second["Location"] == first["Location"]
    assert Lead.objects.get().city == "Bonn"


# By external id


def test_by_external_id_creates_lead(marketer_api):
    response = put(
        marketer_api,
        BY_EXTERNAL_ID.format(system="crm", external_id="C-17"),
        {"email": "dana@precision-parts.example", "first_name": "Dana"},
    )

    assert response.status_code == 201
    lead = Lead.objects.get()
    assert (lead.source_system, lead.external_id) == ("crm", "C-17")
    assert lead.email == "dana@precision-parts.example"
    assert lead.account.domain == "precision-parts.example"


def test_by_external_id_updates_lead_without_email(marketer_api):
    lead = LeadFactory(email=None, source_system="crm", external_id="C-17", city="Ulm")

    response = put(
        marketer_api,
        BY_EXTERNAL_ID.format(system="crm", external_id="C-17"),
        {"external_id": "C-17", "city": "Bonn", "email": "dana@precision-parts.example"},
    )

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.city == "Bonn"
    assert lead.email == "dana@precision-parts.example"


def test_by_external_id_other_system_new_lead(marketer_api):
    LeadFactory(email=None, source_system="erp", external_id="C-17")

    response = put(marketer_api, BY_EXTERNAL_ID.format(system="crm", external_id="C-17"), {})

    assert response.status_code == 201
    assert Lead.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"external_id": "C-18"}, ["external_id"]),
        ({"source_system": "erp"}, ["source_system"]),
        ({"source_system": "erp", "external_id": "C-18"}, ["external_id", "source_system"]),
    ],
    ids=["id", "system", "both"],
)
def test_by_external_id_mismatch_rejected(marketer_api, body, fields):
    lead = LeadFactory(email=None, source_system="crm", external_id="C-17", city="Ulm")

    response = put(
        marketer_api,
        BY_EXTERNAL_ID.format(system="crm", external_id="C-17"),
        {**body, "city": "Bonn"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "lead_identity_mismatch"
    assert sorted(response.json()["fields"]) == fields
    lead.refresh_from_db()
    assert lead.city == "Ulm"


def test_by_external_id_number_in_body_matches_path(marketer_api):
    response = put(
        marketer_api, BY_EXTERNAL_ID.format(system="crm", external_id="17"), {"external_id": 17}
    )

    assert response.status_code == 201
    assert Lead.objects.get().external_id == "17"


def test_by_external_id_other_email_conflicts(marketer_api):
    lead = LeadFactory(
        email="dana@precision-parts.example", source_system="crm", external_id="C-17"
    )

    response = put(
        marketer_api,
        BY_EXTERNAL_ID.format(system="crm", external_id="C-17"),
        {"email": "other@precision-parts.example", "city": "Bonn"},
    )

    assert response.status_code == 409
    assert response.json()["code"] == "lead_identity_conflict"
    assert list(response.json()["fields"]) == ["email"]
    lead.refresh_from_db()
    assert lead.email == "dana@precision-parts.example"


def test_by_external_id_email_of_another_lead_conflicts(marketer_api):
    holder = LeadFactory(email="dana@precision-parts.example")

    response = put(
        marketer_api,
        BY_EXTERNAL_ID.format(system="crm", external_id="C-17"),
        {"email": "dana@precision-parts.example"},
    )

    assert response.status_code == 409
    assert response.json()["fields"] == {"email": [f"Belongs to lead {holder.pk}."]}
    assert Lead.objects.count() == 1


def test_by_external_id_too_long_rejected(marketer_api):
    response = put(marketer_api, BY_EXTERNAL_ID.format(system="crm", external_id="x" * 129), {})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["external_id"]
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        BY_EMAIL.format(email="dana@precision-parts.example"),
        BY_EXTERNAL_ID.format(system="crm", external_id="C-1"),
    ],
)
def test_upserts_need_write_role(rep_api, url):
    response = put(rep_api, url, {})

    assert response.status_code == 403
    assert Lead.objects.count() == 0
