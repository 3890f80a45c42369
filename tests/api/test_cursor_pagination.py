"""Cursor pages of leads and events: stable under inserts, ties broken by id, links both ways."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from leads.models import EngagementEvent, Lead
from tests.factories import EngagementEventFactory, LeadFactory

pytestmark = pytest.mark.django_db


def ids(response):
    return [row["id"] for row in response.json()["results"]]


def walk(client, url):
    """Follow the next links from `url`; return the ids of every page."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        pages.append(ids(response))
        url = response.json()["next"]
    return pages


def test_pages_split_equal_values_by_id(marketer_api):
    # Seven leads share a fit score, so only the id orders them.
    leads = [LeadFactory(fit_score=50) for _ in range(7)] + [LeadFactory(fit_score=90)]

    pages = walk(marketer_api, "/api/v1/leads/?ordering=-fit_score&page_size=3")

    assert pages == [
        [leads[7].pk, leads[6].pk, leads[5].pk],
        [leads[4].pk, leads[3].pk, leads[2].pk],
        [leads[1].pk, leads[0].pk],
    ]


def test_next_page_unchanged_by_newer_leads(marketer_api):
    leads = LeadFactory.create_batch(5)
    first = marketer_api.get("/api/v1/leads/?page_size=2")

    LeadFactory.create_batch(3)
    second = marketer_api.get(first.json()["next"])

    assert ids(first) == [leads[4].pk, leads[3].pk]
    assert ids(second) == [leads[2].pk, leads[1].pk]


def test_next_page_unchanged_by_deleted_boundary_lead(marketer_api):
    leads = LeadFactory.create_batch(4)
    first = marketer_api.get("/api/v1/leads/?page_size=2")

    Lead.objects.filter(pk=leads[2].pk).delete()
    second = marketer_api.get(first.json()["next"])

    assert ids(second) == [leads[1].pk, leads[0].pk]


def test_event_pages_unchanged_by_new_events(marketer_api):
    now = datetime(2026, 11, 1, tzinfo=UTC)
    events = [
        EngagementEventFactory(occurred_at=now - timedelta(hours=hours)) for hours in range(4)
    ]
    first = marketer_api.get("/api/v1/events/?page_size=2")

    EngagementEventFactory(occurred_at=now + timedelta(hours=1))
    EngagementEventFactory(occurred_at=now - timedelta(minutes=30))
    second = marketer_api.get(first.json()["next"])

    assert ids(first) == [events[0].pk, events[1].pk]
    # The second page starts after the first page's last row. The event stored between the
    # requests sorts into the first page's range, so this page does not show it.
    assert ids(second) == [events[2].pk, events[3].pk]


def test_previous_link_returns_the_page_before(marketer_api):
    leads = LeadFactory.create_batch(5)
    first = marketer_api.get("/api/v1/leads/?page_size=2&ordering=id")
    second = marketer_api.get(first.json()["next"])

    back = marketer_api.get(second.json()["previous"])

    assert ids(back) == [leads[0].pk, leads[1].pk]
    assert back.json()["previous"] is None
    assert marketer_api.get(back.json()["next"]).json()["results"] == second.json()["results"]


def test_previous_from_empty_page_includes_boundary(marketer_api):
    leads = LeadFactory.create_batch(4)
    first = marketer_api.get("/api/v1/leads/?page_size=3&ordering=id")
    Lead.objects.filter(pk=leads[3].pk).delete()

    emptied = marketer_api.get(first.json()["next"])
    back = marketer_api.get(emptied.json()["previous"])

    assert ids(emptied) == []
    assert emptied.json()["next"] is None
    assert ids(back) == [leads[0].pk, leads[1].pk, leads[2].pk]


def test_first_page_has_no_previous(marketer_api):
    LeadFactory.create_batch(3)

    response = marketer_api.get("/api/v1/leads/?page_size=2")

    assert response.json()["previous"] is None
    assert response.json()["next"] is not None


def test_events_of_lead_paginate_by_occurred_at(marketer_api):
    lead = LeadFactory()
    now = datetime(2026, 11, 1, tzinfo=UTC)
    events = [
        EngagementEventFactory(lead=lead, occurred_at=now - timedelta(days=days))
        for days in (2, 0, 1)
    ]
    EngagementEventFactory()

    pages = walk(marketer_api, f"/api/v1/leads/{lead.pk}/events/?page_size=2&ordering=occurred_at")

    assert pages == [[events[0].pk, events[2].pk], [events[1].pk]]


def test_cursor_of_other_ordering_rejected(marketer_api):
    LeadFactory.create_batch(3)
    first = marketer_api.get("/api/v1/leads/?page_size=2&ordering=fit_score")
    cursor = first.json()["next"].split("cursor=")[1].split("&")[0]

    response = marketer_api.get(f"/api/v1/leads/?cursor={cursor}&ordering=-created_at")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"
    assert list(response.json()["fields"]) == ["cursor"]


def encoded(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        encoded(["list"]),
        encoded({"o": "-created_at", "p": ["yesterday", 3]}),
        encoded({"o": "-created_at", "p": ["2026-03-01T00:00:00+00:00", "3"]}),
        encoded({"o": "-created_at", "p": ["2026-03-01T00:00:00+00:00", 2**70]}),
        encoded({"o": "-created_at"}),
    ],
    ids=["garbage", "not-object", "bad-value", "text-id", "huge-id", "no-position"],
)
def test_malformed_cursor_rejected(marketer_api, cursor):
    response = marketer_api.get(f"/api/v1/leads/?cursor={cursor}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_lead_list_queries_bounded(marketer_api, django_assert_max_num_queries):
    LeadFactory.create_batch(30)
    first = marketer_api.get("/api/v1/leads/?page_size=10")

    # Token with user, the user's groups, and one page of leads with account and owner.
    with django_assert_max_num_queries(3):
        response = marketer_api.get(first.json()["next"])

    assert len(response.json()["results"]) == 10


def test_event_list_queries_bounded(marketer_api, django_assert_max_num_queries):
    EngagementEventFactory.create_batch(25)

    with django_assert_max_num_queries(3):
        response = marketer_api.get("/api/v1/events/?kind=page_view")

    assert len(response.json()["results"]) == 25


def test_rep_sees_only_events_of_owned_leads(rep_api, rep):
    owned = EngagementEventFactory(lead=LeadFactory(owner=rep))
    EngagementEventFactory(lead=LeadFactory(owner=None))

    response = rep_api.get("/api/v1/events/")

    assert ids(response) == [owned.pk]


def test_event_detail_of_colleague_lead_not_found(rep_api):
    event = EngagementEventFactory(lead=LeadFactory(owner=None))

    response = rep_api.get(f"/api/v1/events/{event.pk}/")

    assert response.status_code == 404
    assert response.json() == {
        "code": "event_not_found",
        "message": f"Event {event.pk} does not exist.",
        "fields": {},
    }


@pytest.mark.parametrize(
    ("query", "matching", "other"),
    [
        ("kind=quote_request", {"kind": "quote_request"}, {"kind": "page_view"}),
        ("campaign=spring-fair", {"campaign": "spring-fair"}, {"campaign": "autumn"}),
        ("source=website", {"source": "website"}, {"source": "import"}),
        (
            "occurred_after=2026-05-02",
            {"occurred_at": datetime(2026, 5, 2, tzinfo=UTC)},
            {"occurred_at": datetime(2026, 5, 1, 23, 59, tzinfo=UTC)},
        ),
        (
            "occurred_before=2026-05-02T00:00:00Z",
            {"occurred_at": datetime(2026, 5, 1, 23, 59, tzinfo=UTC)},
            {"occurred_at": datetime(2026, 5, 2, tzinfo=UTC)},
        ),
    ],
)
def test_event_list_filters(marketer_api, query, matching, other):
    event = EngagementEventFactory(**matching)
    EngagementEventFactory(**other)

    response = marketer_api.get(f"/api/v1/events/?{query}")

    assert ids(response) == [event.pk]


def test_event_list_filter_by_lead(marketer_api):
    event = EngagementEventFactory()
    EngagementEventFactory()

    response = marketer_api.get(f"/api/v1/events/?lead={event.lead_id}")

    assert ids(response) == [event.pk]


def test_event_detail(marketer_api):
    event = EngagementEventFactory(campaign="spring-fair")

    response = marketer_api.get(f"/api/v1/events/{event.pk}/")

    assert response.status_code == 200
    assert response.json()["id"] == event.pk
    assert response.json()["campaign"] == "spring-fair"
    assert EngagementEvent.objects.count() == 1
