"""The lead endpoints: detail, list with filters, upsert, edit, transition, events."""

from datetime import UTC, datetime, timedelta

import pytest

from leads.inputs import LEAD_EDITABLE_FIELDS, LEAD_IDENTITY_FIELDS, LEAD_INPUT_FIELDS
from leads.models import Account, EngagementEvent, Lead, LeadStatus, StatusChange
from leads.serializers import LeadChangesSerializer, LeadInputSerializer
from tests.factories import AccountFactory, EngagementEventFactory, LeadFactory

pytestmark = pytest.mark.django_db

BREAKDOWN = {
    "ruleset_version": 3,
    "fit_score": 45,
    "engagement_score": 52.5,
    "fit": [
        {
            "rule": "core-segment",
            "label": "Core industry segment",
            "group": "firmographic",
            "points": 20,
        }
    ],
    "engagement": [
        {
            "rule": "rfq",
            "label": "Quote or RFQ request",
            "group": "intent",
            "points": 40.0,
            "raw_points": 60.0,
            "capped": True,
            "events": 2,
            "event_ids": [812, 733],
            "last_event_at": "2026-11-02T10:00:00+00:00",
        }
    ],
    "caps": [{"scope": "group", "name": "web", "cap": 30, "removed": 5.0}],
    "fast_track": {"kind": "quote_request", "event_id": 812},
}


def ids(response):
    return [lead["id"] for lead in response.json()["results"]]


# Detail


def test_detail_returns_fields_account_and_scores(marketer_api, rep):
    account = AccountFactory(
        name="Precision Parts GmbH",
        domain="precision-parts.example",
        segment="automotive",
        facility_type="plant",
        country="Germany",
        region="europe",
        employee_count=800,
        annual_revenue_usd=120_000_000,
    )
    scored_at = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    lead = LeadFactory(
        email="dana.keller@precision-parts.example",
        first_name="Dana",
        last_name="Keller",
        account=account,
        owner=rep,
        status=LeadStatus.MQL,
        fit_score=45,
        engagement_score=52.5,
        ruleset_version=3,
        scored_at=scored_at,
        score_breakdown=BREAKDOWN,
        interests=["cnc_machines"],
    )

    response = marketer_api.get(f"/api/v1/leads/{lead.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == lead.pk
    assert body["email"] == "dana.keller@precision-parts.example"
    assert body["first_name"] == "Dana"
    assert body["last_name"] == "Keller"
    assert body["job_function"] == "engineering"
    assert body["interests"] == ["cnc_machines"]
    assert body["account"] == {
        "id": account.pk,
        "name": "Precision Parts GmbH",
        "domain": "precision-parts.example",
        "segment": "automotive",
        "facility_type": "plant",
        "country": "Germany",
        "region": "europe",
        "employee_band": "250-999",
        "revenue_band": "50M-250M",
        "engagement_score": 0.0,
        "engaged_contacts": 0,
    }
    assert body["owner"] == {"id": rep.pk, "username": "rep"}
    assert body["status"] == "mql"
    assert body["fit_score"] == 45
    assert body["engagement_score"] == 52.5
    assert body["ruleset_version"] == 3
    assert body["scored_at"] == "2026-11-03T09:00:00Z"
    assert body["score_stale"] is False
    assert body["score_breakdown"] == BREAKDOWN


def test_detail_unscored_lead_has_null_breakdown(marketer_api):
    lead = LeadFactory(account=None, score_stale=True)

    body = marketer_api.get(f"/api/v1/leads/{lead.pk}/").json()

    assert body["score_breakdown"] is None
    assert body["scored_at"] is None
    assert body["ruleset_version"] is None
    assert body["score_stale"] is True
    assert body["account"] is None
    assert body["owner"] is None


def test_detail_unknown_lead_not_found(marketer_api):
    response = marketer_api.get("/api/v1/leads/999999/")

    assert response.status_code == 404
    assert response.json() == {
        "code": "lead_not_found",
        "message": "Lead 999999 does not exist.",
        "fields": {},
    }


# List


def test_list_newest_first_without_breakdown(marketer_api):
    older = LeadFactory()
    newer = LeadFactory()
    Lead.objects.filter(pk=older.pk).update(created_at=datetime(2026, 1, 1, tzinfo=UTC))

    response = marketer_api.get("/api/v1/leads/")

    assert response.status_code == 200
    assert ids(response) == [newer.pk, older.pk]
    assert response.json()["next"] is None
    assert response.json()["previous"] is None
    assert "score_breakdown" not in response.json()["results"][0]


def test_list_filter_status_accepts_several(marketer_api):
    new = LeadFactory(status=LeadStatus.NEW)
    mql = LeadFactory(status=LeadStatus.MQL)
    LeadFactory(status=LeadStatus.SQL)

    response = marketer_api.get("/api/v1/leads/?status=new&status=mql&ordering=id")

    assert ids(response) == [new.pk, mql.pk]


@pytest.mark.parametrize(
    ("query", "matching", "other"),
    [
        ("region=europe", {"region": "europe"}, {"region": "north_america"}),
        (
            "first_touch_source=linkedin",
            {"first_touch_source": "linkedin"},
            {"first_touch_source": "google"},
        ),
        ("fit_score_min=50", {"fit_score": 50}, {"fit_score": 49}),
        ("fit_score_max=49", {"fit_score": 49}, {"fit_score": 50}),
        ("engagement_score_min=40.5", {"engagement_score": 40.5}, {"engagement_score": 40.4}),
        ("engagement_score_max=40.4", {"engagement_score": 40.4}, {"engagement_score": 40.5}),
    ],
)
def test_list_filter_lead_fields(marketer_api, query, matching, other):
    lead = LeadFactory(**matching)
    LeadFactory(**other)

    response = marketer_api.get(f"/api/v1/leads/?{query}")

    assert ids(response) == [lead.pk]


def test_list_filter_account_segment(marketer_api):
    lead = LeadFactory(account=AccountFactory(segment="aerospace"))
    LeadFactory(account=AccountFactory(segment="automotive"))
    LeadFactory(account=None)

    response = marketer_api.get("/api/v1/leads/?segment=aerospace")

    assert ids(response) == [lead.pk]


def test_list_filter_created_range(marketer_api):
    leads = LeadFactory.create_batch(3)
    for day, lead in zip((1, 2, 3), leads, strict=True):
        Lead.objects.filter(pk=lead.pk).update(created_at=datetime(2026, 5, day, 12, tzinfo=UTC))

    response = marketer_api.get(
        "/api/v1/leads/?created_after=2026-05-02&created_before=2026-05-03T00:00:00Z"
    )

    assert ids(response) == [leads[1].pk]


def test_list_ordering_by_fit_breaks_ties_by_id(marketer_api):
    low = LeadFactory(fit_score=10)
    first_high = LeadFactory(fit_score=80)
    second_high = LeadFactory(fit_score=80)

    descending = marketer_api.get("/api/v1/leads/?ordering=-fit_score")
    ascending = marketer_api.get("/api/v1/leads/?ordering=fit_score")

    assert ids(descending) == [second_high.pk, first_high.pk, low.pk]
    assert ids(ascending) == [low.pk, first_high.pk, second_high.pk]


def test_list_page_size_and_next_link(marketer_api):
    leads = LeadFactory.create_batch(3)

    first = marketer_api.get("/api/v1/leads/?page_size=2&ordering=id")
    second = marketer_api.get(first.json()["next"])

    assert ids(first) == [leads[0].pk, leads[1].pk]
    assert ids(second) == [leads[2].pk]
    assert second.json()["next"] is None


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("fit_score_min=high", {"fit_score_min": ["Enter a whole number."]}),
        ("fit_score_min=2.5", {"fit_score_min": ["Enter a whole number."]}),
        ("engagement_score_min=high", {"engagement_score_min": ["Enter a number."]}),
        (
            "created_after=yesterday",
            {
                "created_after": [
                    "'yesterday' is not a date or time; send ISO 8601 with a zone, such as "
                    "2026-03-01T14:30:00Z, or a date such as 2026-03-01."
                ]
            },
        ),
        (
            "created_after=2026-03-01T14:30:00",
            {
                "created_after": [
                    "'2026-03-01T14:30:00' is not a date or time; send ISO 8601 with a zone, "
                    "such as 2026-03-01T14:30:00Z, or a date such as 2026-03-01."
                ]
            },
        ),
        (
            "status=hot",
            {"status": ["Select a valid choice. hot is not one of the available choices."]},
        ),
        ("has_email=maybe", {"has_email": ["'maybe' is not a boolean; send true or false."]}),
    ],
)
def test_list_invalid_filter_rejected(marketer_api, query, fields):
    response = marketer_api.get(f"/api/v1/leads/?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"] == fields


def test_list_queries_do_not_grow_with_leads(marketer_api, django_assert_max_num_queries):
    for _ in range(20):
        LeadFactory()

    # Token with user, the user's groups, and the page of leads with account and owner.
    with django_assert_max_num_queries(3):
        response = marketer_api.get("/api/v1/leads/?segment=automotive&ordering=-fit_score")

    assert len(response.json()["results"]) == 20


# Create or update


def test_create_lead_returns_201(marketer_api):
    response = marketer_api.post(
        "/api/v1/leads/",
        {
            "email": "Dana.Keller@Precision-Parts.example",
            "first_name": "Dana",
            "job_title": "Plant Manager",
            "country": "Germany",
            "interests": ["cnc_machines", "cnc_machines", "robots"],
            "custom_attributes": {"crm_stage": "lead"},
        },
        format="json",
    )

    assert response.status_code == 201
    lead = Lead.objects.get()
    assert response.json()["id"] == lead.pk
    assert lead.email == "dana.keller@precision-parts.example"
    assert lead.job_function == "operations"
    assert lead.seniority == "manager"
    assert lead.region == "europe"
    assert lead.interests == ["cnc_machines", "robots"]
    assert lead.custom_attributes == {"crm_stage": "lead"}
    assert lead.score_stale is True
    assert response.json()["account"]["domain"] == "precision-parts.example"


def test_create_existing_email_updates_with_200(marketer_api):
    lead = LeadFactory(email="dana.keller@precision-parts.example", job_title="Engineer")

    response = marketer_api.post(
        "/api/v1/leads/",
        {"email": "DANA.KELLER@precision-parts.example", "job_title": "Quality Manager"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["id"] == lead.pk
    assert Lead.objects.count() == 1
    lead.refresh_from_db()
    assert lead.job_title == "Quality Manager"


def test_create_by_external_id(marketer_api):
    response = marketer_api.post(
        "/api/v1/leads/", {"source_system": "crm", "external_id": "C-17"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["email"] is None
    assert response.json()["external_id"] == "C-17"
    assert response.json()["account"] is None


def test_create_free_mail_lead_not_linked(marketer_api):
    response = marketer_api.post(
        "/api/v1/leads/", {"email": "dana.keller@gmail.com"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["account"] is None
    assert Account.objects.count() == 0


def test_create_company_lead_linked_to_existing_account(marketer_api):
    account = AccountFactory(domain="precision-parts.example")

    response = marketer_api.post(
        "/api/v1/leads/", {"email": "dana@precision-parts.example"}, format="json"
    )

    assert response.json()["account"]["id"] == account.pk
    assert Account.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "fields", "message"),
    [
        (
            {"email": "dana"},
            {"email": ["'dana' is not a valid e-mail address, such as name@example.com."]},
            "The lead is invalid. email: 'dana' is not a valid e-mail address, "
            "such as name@example.com.",
        ),
        (
            {"first_name": "Dana"},
            {
                "email": [
                    "Missing: a lead needs an e-mail address, or an external_id from its "
                    "source system."
                ]
            },
            "The lead is invalid. email: Missing: a lead needs an e-mail address, or an "
            "external_id from its source system.",
        ),
        (
            {"email": "dana@precision-parts.example", "phone": "1" * 51, "email_opt_out": "no"},
            {
                "phone": ["51 characters is longer than the maximum of 50; shorten the value."],
                "email_opt_out": ["Expected true or false, got 'no'."],
            },
            "The lead is invalid. phone: 51 characters is longer than the maximum of 50; "
            "shorten the value. email_opt_out: Expected true or false, got 'no'.",
        ),
        (
            {"email": "dana@precision-parts.example", "interests": "robots"},
            {"interests": ["Expected a list of product categories, got 'robots'."]},
            "The lead is invalid. interests: Expected a list of product categories, got 'robots'.",
        ),
        (
            {"email": "dana@precision-parts.example", "status": "sql", "lead_score": 5},
            {
                "status": ["Read-only; the status changes only through a lifecycle transition."],
                "lead_score": [
                    "Unknown field; put attributes of the source system in custom_attributes."
                ],
            },
            "The lead is invalid. status: Read-only; the status changes only through a "
            "lifecycle transition. lead_score: Unknown field; put attributes of the source "
            "system in custom_attributes.",
        ),
        (
            [{"email": "dana@precision-parts.example"}],
            {"non_field_errors": ["Expected an object with lead fields, got list."]},
            "The lead is invalid. Expected an object with lead fields, got list.",
        ),
    ],
    ids=[
        "email-invalid",
        "identity-missing",
        "text-and-flag",
        "interests",
        "read-only-unknown",
        "list",
    ],
)
def test_create_invalid_rejected(marketer_api, body, fields, message):
    response = marketer_api.post("/api/v1/leads/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"code": "invalid_lead", "message": message, "fields": fields}
    assert Lead.objects.count() == 0
    assert Account.objects.count() == 0


def test_input_serializers_match_accepted_fields():
    """The schema documents exactly the fields leads.inputs accepts."""
    assert set(LeadInputSerializer().fields) == set(LEAD_INPUT_FIELDS)
    assert set(LeadChangesSerializer().fields) == set(LEAD_EDITABLE_FIELDS)
    assert not LEAD_EDITABLE_FIELDS & LEAD_IDENTITY_FIELDS


# Edit


def test_edit_changes_fields_and_marks_stale(marketer_api):
    lead = LeadFactory(
        job_title="Engineer", phone="+49 1", interests=["robots"], custom_attributes={"a": 1}
    )

    response = marketer_api.patch(
        f"/api/v1/leads/{lead.pk}/",
        {
            "job_title": "Head of Quality",
            "phone": None,
            "interests": [],
            "custom_attributes": {"b": 2},
        },
        format="json",
    )

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.job_title == "Head of Quality"
    assert lead.phone == ""
    assert lead.interests == []
    assert lead.custom_attributes == {"a": 1, "b": 2}
    assert lead.score_stale is True
    assert response.json()["job_title"] == "Head of Quality"
    assert response.json()["score_stale"] is True


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"email": "new@precision-parts.example"},
            {"email": ["Cannot be changed by an edit because it identifies the lead."]},
        ),
        ({"fit_score": 99}, {"fit_score": ["Read-only; scoring sets it."]}),
        ({"owner": 3}, {"owner": ["Read-only; the handoff to a sales rep sets the owner."]}),
        ({"city": ["Berlin"]}, {"city": ["Expected text, got list ['Berlin']."]}),
        (
            {},
            {
                "non_field_errors": [
                    "No fields to change; send at least one of "
                    + ", ".join(sorted(LEAD_EDITABLE_FIELDS))
                    + "."
                ]
            },
        ),
    ],
    ids=["email", "score", "owner", "city-list", "empty"],
)
def test_edit_invalid_rejected(marketer_api, body, fields):
    lead = LeadFactory(city="Stuttgart", fit_score=12)

    response = marketer_api.patch(f"/api/v1/leads/{lead.pk}/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_lead"
    assert response.json()["fields"] == fields
    lead.refresh_from_db()
    assert lead.city == "Stuttgart"
    assert lead.fit_score == 12
    assert lead.score_stale is False


def test_edit_unknown_lead_not_found(marketer_api):
    response = marketer_api.patch("/api/v1/leads/999999/", {"city": "Ulm"}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "lead_not_found"


# Transition


def test_transition_moves_lead_and_records_actor(marketer_api, marketer):
    lead = LeadFactory(status=LeadStatus.NEW, fit_score=61, engagement_score=44.5)

    response = marketer_api.post(
        f"/api/v1/leads/{lead.pk}/transition/",
        {"to_status": "mql", "reason": "Asked for a quote"},
        format="json",
    )

    assert response.status_code == 200
    change = StatusChange.objects.get()
    assert response.json() == {
        "id": change.pk,
        "lead_id": lead.pk,
        "from_status": "new",
        "to_status": "mql",
        "actor_id": marketer.pk,
        "rule": "",
        "reason": "Asked for a quote",
        "ruleset_version": None,
        "fit_score": 61,
        "engagement_score": 44.5,
        "created_at": change.created_at.isoformat().replace("+00:00", "Z"),
    }
    lead.refresh_from_db()
    assert lead.status == LeadStatus.MQL


def test_transition_illegal_is_409(marketer_api):
    lead = LeadFactory(status=LeadStatus.WON)

    response = marketer_api.post(
        f"/api/v1/leads/{lead.pk}/transition/", {"to_status": "mql"}, format="json"
    )

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "illegal_transition"
    assert body["message"].startswith(f"Lead {lead.pk} cannot move from won to mql")
    assert body["fields"] == {}
    lead.refresh_from_db()
    assert lead.status == LeadStatus.WON
    assert StatusChange.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"to_status": "hot"},
            {
                "to_status": [
                    '"hot" is not a lead status; use one of new, mql, sql, won, lost, nurture, '
                    "disqualified."
                ]
            },
        ),
        ({"reason": "no target"}, {"to_status": ["This field is required."]}),
        (
            {"to_status": "mql", "reason": "x" * 2001},
            {"reason": ["Ensure this field has no more than 2000 characters."]},
        ),
    ],
    ids=["unknown-status", "missing-status", "long-reason"],
)
def test_transition_invalid_body_rejected(marketer_api, body, fields):
    lead = LeadFactory(status=LeadStatus.NEW)

    response = marketer_api.post(f"/api/v1/leads/{lead.pk}/transition/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"] == fields
    assert StatusChange.objects.count() == 0


# Events of a lead


def test_lead_events_newest_first_and_paginated(marketer_api):
    lead = LeadFactory()
    now = datetime(2026, 11, 1, tzinfo=UTC)
    events = [
        EngagementEventFactory(lead=lead, occurred_at=now - timedelta(days=days))
        for days in (3, 1, 2)
    ]
    EngagementEventFactory()

    first_page = marketer_api.get(f"/api/v1/leads/{lead.pk}/events/?page_size=2")
    second_page = marketer_api.get(first_page.json()["next"])

    assert first_page.status_code == 200
    assert first_page.json()["previous"] is None
    assert second_page.json()["next"] is None
    assert [event["id"] for event in first_page.json()["results"]] == [events[1].pk, events[2].pk]
    assert [event["id"] for event in second_page.json()["results"]] == [events[0].pk]
    assert first_page.json()["results"][0] == {
        "id": events[1].pk,
        "lead_id": lead.pk,
        "kind": "page_view",
        "url": "https://www.example.com/products/",
        "asset": "",
        "campaign": "",
        "occurred_at": "2026-10-31T00:00:00Z",
        "properties": {},
        "external_id": events[1].external_id,
        "source": "",
        "received_at": EngagementEvent.objects.get(pk=events[1].pk)
        .received_at.isoformat()
        .replace("+00:00", "Z"),
    }


def test_lead_events_reject_lead_filters(marketer_api):
    """The lead list's filters are unknown parameters of a lead's events, not silently ignored."""
    lead = LeadFactory(status=LeadStatus.NEW)
    EngagementEventFactory(lead=lead)

    response = marketer_api.get(f"/api/v1/leads/{lead.pk}/events/?status=mql")

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_query_parameter"
    assert list(response.json()["fields"]) == ["status"]
