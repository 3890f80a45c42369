"""Limits on what a rep records to accept: text lengths and the next-step date, by service, form and API."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from handoff import services
from handoff.errors import QualificationInvalid
from handoff.models import (
    MAX_NEXT_STEP_LENGTH,
    MAX_NEXT_STEP_YEARS,
    MAX_QUALIFICATION_LENGTH,
    Handoff,
    HandoffStatus,
)
from tests.factories import LeadFactory

pytestmark = pytest.mark.usefixtures("handoff_settings")

# Decisions are made on this day, so that the date limits are fixed.
TODAY = dt.date(2026, 12, 3)
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)
LATEST = dt.date(2028, 12, 3)
VALID = {"confirmed_need": "New line", "next_step": "Demo", "next_step_date": "2026-12-10"}


@pytest.fixture(autouse=True)
def frozen_day():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def handoff(team):
    return services.handoff_send(lead_ids=[LeadFactory(status="mql").pk]).created[0]


def api_accept(handoff, payload):
    client = APIClient()
    client.force_authenticate(handoff.rep.user)
    return client.post(f"/api/v1/handoffs/{handoff.pk}/accept/", payload, format="json")


def form_accept(client, handoff, payload):
    client.force_login(handoff.rep.user)
    return client.post(reverse("handoff:accept", args=[handoff.pk]), payload)


def form_errors(response, field):
    return [str(error) for error in response.context["accept_form"].errors.get(field, [])]


def page_messages(response):
    return [str(message) for message in response.context["messages"]]


def assert_still_pending(handoff):
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING
    assert handoff.lead.status == "mql"


# --- the service ---------------------------------------------------------------------------------


def test_limits_are_as_documented():
    assert MAX_QUALIFICATION_LENGTH == 10_000
    assert MAX_NEXT_STEP_LENGTH == Handoff._meta.get_field("next_step").max_length == 300
    assert MAX_NEXT_STEP_YEARS == 2


def test_service_rejects_long_qualification_text(handoff):
    with pytest.raises(QualificationInvalid) as raised:
        services.handoff_accept(
            handoff_id=handoff.pk,
            actor=handoff.rep.user,
            qualification={"confirmed_need": "x", "process_fit": "p" * 10_001},
            next_step="Demo",
            next_step_date=TODAY,
        )

    assert raised.value.code == "qualification_invalid"
    assert raised.value.message == (
        "Process fit is 10,001 characters long; shorten it to 10,000 characters or fewer."
    )
    assert raised.value.extra["fields"] == {
        "process_fit": ["10,001 characters long; shorten it to 10,000 characters or fewer."]
    }
    assert_still_pending(handoff)


def test_service_accepts_text_at_the_limit(handoff):
    accepted = services.handoff_accept(
        handoff_id=handoff.pk,
        actor=handoff.rep.user,
        qualification={"confirmed_need": "n" * 10_000},
        next_step="s" * 300,
        next_step_date=LATEST,
    )

    assert accepted.status == HandoffStatus.ACCEPTED
    assert len(accepted.qualification["confirmed_need"]) == 10_000
    assert accepted.next_step_date == LATEST


def test_service_rejects_far_next_step_date(handoff):
    with pytest.raises(QualificationInvalid) as raised:
        services.handoff_accept(
            handoff_id=handoff.pk,
            actor=handoff.rep.user,
            qualification={"confirmed_need": "x"},
            next_step="Demo",
            next_step_date=LATEST + dt.timedelta(days=1),
        )

    assert raised.value.message == (
        "Next step date 2028-12-04 is more than 2 years ahead; give the date the next step "
        "happens, 2028-12-03 at the latest."
    )
    assert raised.value.extra["fields"] == {
        "next_step_date": [
            "2028-12-04 is more than 2 years ahead; give the date the next step happens, "
            "2028-12-03 at the latest."
        ]
    }
    assert_still_pending(handoff)


def test_service_names_missing_and_invalid_together(handoff):
    with pytest.raises(QualificationInvalid) as raised:
        services.handoff_accept(
            handoff_id=handoff.pk,
            actor=handoff.rep.user,
            qualification={},
            next_step="Demo",
            next_step_date=dt.date(2026, 12, 2),
        )

    assert raised.value.message == (
        "Fill in confirmed need. Next step date 2026-12-02 is in the past; give the date the "
        "next step happens."
    )
    assert sorted(raised.value.extra["fields"]) == ["confirmed_need", "next_step_date"]


# --- the API -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("confirmed_need", 10_000),
        ("process_fit", 10_000),
        ("technical_requirements", 10_000),
        ("acceptance_criteria", 10_000),
        ("integration_constraints", 10_000),
        ("next_step", 300),
    ],
)
def test_api_rejects_long_text(handoff, field, limit):
    response = api_accept(handoff, {**VALID, field: "x" * (limit + 1)})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"] == {field: [f"Ensure this field has no more than {limit} characters."]}
    assert body["message"] == f"{field}: Ensure this field has no more than {limit} characters."
    assert_still_pending(handoff)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "2026-12-02",
            "2026-12-02 is in the past; give the date the next step happens.",
        ),
        (
            "2099-01-01",
            "2099-01-01 is more than 2 years ahead; give the date the next step happens, "
            "2028-12-03 at the latest.",
        ),
    ],
)
def test_api_rejects_next_step_date_out_of_range(handoff, value, message):
    response = api_accept(handoff, {**VALID, "next_step_date": value})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "qualification_invalid"
    assert body["message"] == f"Next step date {message}"
    assert body["fields"] == {"next_step_date": [message]}
    assert_still_pending(handoff)


def test_api_accepts_latest_next_step_date(handoff):
    response = api_accept(handoff, {**VALID, "next_step_date": LATEST.isoformat()})

    assert response.status_code == 200
    assert response.json()["next_step_date"] == "2028-12-03"


# --- the page ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "label", "limit"),
    [
        ("confirmed_need", "Confirmed need", 10_000),
        ("integration_constraints", "Integration constraints", 10_000),
        ("next_step", "Next step", 300),
    ],
)
def test_form_rejects_long_text(client, handoff, field, label, limit):
    response = form_accept(client, handoff, {**VALID, field: "x" * (limit + 1)})

    assert response.status_code == 400
    field_message = f"{limit + 1:,} characters long; shorten it to {limit:,} characters or fewer."
    assert form_errors(response, field) == [field_message]
    assert page_messages(response) == [f"{label} is {field_message}"]
    assert_still_pending(handoff)


def test_form_rejects_far_next_step_date(client, handoff):
    response = form_accept(client, handoff, {**VALID, "next_step_date": "2030-01-01"})

    assert response.status_code == 400
    assert form_errors(response, "next_step_date") == [
        "2030-01-01 is more than 2 years ahead; give the date the next step happens, "
        "2028-12-03 at the latest."
    ]
    assert_still_pending(handoff)


def test_form_rejects_past_next_step_date(client, handoff):
    response = form_accept(client, handoff, {**VALID, "next_step_date": "2026-11-30"})

    assert response.status_code == 400
    assert page_messages(response) == [
        "Next step date 2026-11-30 is in the past; give the date the next step happens."
    ]
    assert_still_pending(handoff)


def test_form_fields_carry_limits(client, handoff):
    client.force_login(handoff.rep.user)

    response = client.get(reverse("handoff:detail", args=[handoff.pk]))

    form = response.context["accept_form"]
    assert form["confirmed_need"].field.widget.attrs["maxlength"] == "10000"
    assert form["next_step"].field.widget.attrs["maxlength"] == "300"
    assert form["next_step_date"].field.widget.attrs["min"] == "2026-12-03"
    assert form["next_step_date"].field.widget.attrs["max"] == "2028-12-03"
    body = response.content.decode()
    assert 'min="2026-12-03"' in body
    assert 'max="2028-12-03"' in body
