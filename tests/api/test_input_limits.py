"""Input the database could not store, or that is far larger than any real lead, is a 400."""

import json

import pytest

from leads.inputs import MAX_INTERESTS, MAX_JSON_OBJECT_BYTES
from leads.models import Account, EngagementEvent, Lead
from tests.api.conftest import OCCURRED_AT
from tests.factories import AccountFactory, LeadFactory

pytestmark = pytest.mark.django_db

# A legal address of 246 characters: the domain is longer than an account name may be.
LONG_DOMAIN = "b" * 240 + ".com"
LONG_EMAIL = f"a@{LONG_DOMAIN}"


def nested(levels):
    value = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"inner": value}
    return value


def deep_json(levels):
    return "[" * levels + "1" + "]" * levels


# --- Long values ------------------------------------------------------------------------------


def test_lead_with_long_domain_gets_account(marketer_api):
    response = marketer_api.post("/api/v1/leads/", {"email": LONG_EMAIL}, format="json")

    assert response.status_code == 201
    account = Account.objects.get()
    assert account.domain == LONG_DOMAIN
    assert account.name == LONG_DOMAIN[:200]
    assert Lead.objects.get().account == account


def test_event_with_long_domain_creates_lead(marketer_api):
    response = marketer_api.post(
        "/api/v1/events/",
        {"kind": "page_view", "email": LONG_EMAIL, "occurred_at": OCCURRED_AT},
        format="json",
    )

    assert response.status_code == 201
    assert Lead.objects.get().email == LONG_EMAIL
    assert Account.objects.get().name == LONG_DOMAIN[:200]
    assert EngagementEvent.objects.count() == 1


# --- Interests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interests", "message"),
    [
        (
            [f"category_{number}" for number in range(MAX_INTERESTS + 1)],
            "51 product categories is more than the maximum of 50; keep the ones the lead "
            "asked about.",
        ),
        (
            ["servo_drives", "x" * 101],
            "The product category 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'… has 101 "
            "characters, more than the maximum of 100; shorten it.",
        ),
        (["servo_drives", "  "], "Contains an empty product category; remove it."),
    ],
    ids=["too-many", "too-long", "empty"],
)
def test_lead_interests_bounded(marketer_api, interests, message):
    response = marketer_api.post(
        "/api/v1/leads/",
        {"email": "dana@precision-parts.example", "interests": interests},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"interests": [message]}
    assert Lead.objects.count() == 0


def test_lead_interests_at_limit_accepted(marketer_api):
    interests = [f"category_{number:02d}" for number in range(MAX_INTERESTS)]

    response = marketer_api.post(
        "/api/v1/leads/",
        {"email": "dana@precision-parts.example", "interests": interests},
        format="json",
    )

    assert response.status_code == 201
    assert Lead.objects.get().interests == interests


def test_patch_interests_too_many_changes_nothing(marketer_api):
    lead = LeadFactory(interests=["servo_drives"])

    response = marketer_api.patch(
        f"/api/v1/leads/{lead.pk}/",
        {"interests": ["x"] * (MAX_INTERESTS + 1)},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["interests"]
    lead.refresh_from_db()
    assert lead.interests == ["servo_drives"]


# --- Custom attributes and properties --------------------------------------------------------


def test_lead_custom_attributes_too_large(marketer_api):
    attributes = {"notes": "x" * MAX_JSON_OBJECT_BYTES}

    response = marketer_api.post(
        "/api/v1/leads/",
        {"email": "dana@precision-parts.example", "custom_attributes": attributes},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "custom_attributes": [
            "32,780 bytes as JSON is more than the maximum of 32,768; send fewer or shorter values."
        ]
    }
    assert Lead.objects.count() == 0


def test_lead_custom_attributes_too_deep(marketer_api):
    response = marketer_api.post(
        "/api/v1/leads/",
        {"email": "dana@precision-parts.example", "custom_attributes": nested(11)},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "custom_attributes": [
            "Nested 11 levels deep, more than the maximum of 10; flatten the object."
        ]
    }


def test_patch_custom_attributes_null_rejected(marketer_api):
    lead = LeadFactory(custom_attributes={"plant": "Ulm"})

    response = marketer_api.patch(
        f"/api/v1/leads/{lead.pk}/", {"custom_attributes": None}, format="json"
    )

    message = (
        "Expected an object of attributes to merge into the stored ones, got null; leave the "
        "field out, or set a single attribute to null."
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"custom_attributes": [message]}
    assert response.json()["message"] == f"The change is invalid. custom_attributes: {message}"
    lead.refresh_from_db()
    assert lead.custom_attributes == {"plant": "Ulm"}


def test_event_properties_too_large(marketer_api):
    properties = {f"key_{number}": "x" * 1000 for number in range(40)}

    response = marketer_api.post(
        "/api/v1/events/",
        {
            "kind": "page_view",
            "email": "dana@precision-parts.example",
            "occurred_at": OCCURRED_AT,
            "properties": properties,
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "properties": [
            "40,471 bytes as JSON is more than the maximum of 32,768; send fewer or shorter values."
        ]
    }
    assert EngagementEvent.objects.count() == 0
    assert Lead.objects.count() == 0


def test_event_properties_too_deep(marketer_api):
    response = marketer_api.post(
        "/api/v1/events/",
        {
            "kind": "page_view",
            "email": "dana@precision-parts.example",
            "occurred_at": OCCURRED_AT,
            "properties": nested(12),
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "properties": ["Nested 12 levels deep, more than the maximum of 10; flatten the object."]
    }


def test_account_custom_attributes_too_deep(marketer_api):
    response = marketer_api.post(
        "/api/v1/accounts/",
        {"name": "Cast Works", "domain": "cast-works.example", "custom_attributes": nested(11)},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "custom_attributes": [
            "Nested 11 levels deep, more than the maximum of 10; flatten the object."
        ]
    }
    assert Account.objects.count() == 0


@pytest.mark.parametrize("url", ["/api/v1/leads/", "/api/v1/events/", "/api/v1/accounts/"])
def test_body_nested_too_deep_is_parse_error(marketer_api, url):
    body = json.dumps({"email": "dana@precision-parts.example", "properties": deep_json(5000)})
    body = body.replace(json.dumps(deep_json(5000)), deep_json(5000))

    response = marketer_api.post(url, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert response.json()["message"] == (
        "JSON parse error - the document is nested too deeply to read. Send objects and lists "
        "nested at most a few levels."
    )


def test_account_update_long_text_kept_within_column(marketer_api):
    account = AccountFactory(name="Cast Works")

    response = marketer_api.patch(
        f"/api/v1/accounts/{account.pk}/", {"name": "x" * 201}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["name"]
    assert Account.objects.get(pk=account.pk).name == "Cast Works"


# --- Times and notes ------------------------------------------------------------------------


@pytest.mark.parametrize("occurred_at", ["0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z"])
def test_event_before_1970_rejected(marketer_api, occurred_at):
    response = marketer_api.post(
        "/api/v1/events/",
        {"kind": "page_view", "email": "dana@precision-parts.example", "occurred_at": occurred_at},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "occurred_at": [
            f"{occurred_at!r} is before the earliest time accepted, 1970-01-01T00:00:00Z; "
            "send the time the event happened."
        ]
    }
    assert EngagementEvent.objects.count() == 0
    assert Lead.objects.count() == 0


def test_event_at_1970_accepted(marketer_api):
    response = marketer_api.post(
        "/api/v1/events/",
        {
            "kind": "page_view",
            "email": "dana@precision-parts.example",
            "occurred_at": "1970-01-01T00:00:00Z",
        },
        format="json",
    )

    assert response.status_code == 201


def test_marketing_notes_limit_named(marketer_api):
    response = marketer_api.post(
        "/api/v1/leads/",
        {"email": "dana@precision-parts.example", "marketing_notes": "x" * 10_001},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "marketing_notes": [
            "10001 characters is longer than the maximum of 10000; shorten the value."
        ]
    }
    assert Lead.objects.count() == 0
