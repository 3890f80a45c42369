"""GET /api/v1/reports/funnel/: statuses, stages reached and conversion rates of a lead cohort."""

from datetime import UTC, datetime

import pytest
import time_machine

from leads.models import Lead, LeadStatus
from leads.services import lead_transition
from tests.factories import AccountFactory, LeadFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/funnel/"
MARCH = "start=2026-03-01&end=2026-03-31"
ZERO_STATUSES = dict.fromkeys(LeadStatus.values, 0)


def make_lead(created_at, path, *, segment=None, source="", campaign="", actor=None):
    """Create a lead at `created_at` and move it through the statuses of `path` in order."""
    account = AccountFactory(segment=segment) if segment else None
    lead = LeadFactory(account=account, first_touch_source=source, first_touch_campaign=campaign)
    Lead.objects.filter(pk=lead.pk).update(created_at=created_at)
    for status in path:
        lead_transition(lead_id=lead.pk, to_status=status, actor=actor)
    return lead


@pytest.fixture
def cohort(marketer):
    """Seven leads created in March 2026 and two just outside it."""
    march = [
        # (created at, statuses moved through, segment, source, campaign)
        (datetime(2026, 3, 1, tzinfo=UTC), ["mql", "sql", "won"], "automotive", "google", "spring"),
        (
            datetime(2026, 3, 15, tzinfo=UTC),
            ["mql", "sql", "lost"],
            "automotive",
            "google",
            "spring",
        ),
        (datetime(2026, 3, 20, tzinfo=UTC), ["mql"], "aerospace", "linkedin", "fair"),
        (
            datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC),
            ["mql", "nurture"],
            "aerospace",
            "linkedin",
            "",
        ),
        (datetime(2026, 3, 10, tzinfo=UTC), [], None, "", ""),
        (datetime(2026, 3, 12, tzinfo=UTC), ["disqualified"], "automotive", "google", ""),
        (datetime(2026, 3, 13, tzinfo=UTC), ["mql"], "automotive", "google", ""),
    ]
    outside = [
        (
            datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC),
            ["mql", "sql", "won"],
            "automotive",
            "google",
            "spring",
        ),
        (datetime(2026, 4, 1, tzinfo=UTC), ["mql"], "automotive", "google", "spring"),
    ]
    for created_at, path, segment, source, campaign in march + outside:
        make_lead(
            created_at, path, segment=segment, source=source, campaign=campaign, actor=marketer
        )


def counts(value, leads, statuses, reached, mql_to_sql, sql_to_won, rates):
    return {
        "value": value,
        "leads": leads,
        "statuses": {**ZERO_STATUSES, **statuses},
        "reached": reached,
        "mql_to_sql": mql_to_sql,
        "sql_to_won": sql_to_won,
        "mql_to_sql_rate": rates[0],
        "sql_to_won_rate": rates[1],
    }


MARCH_TOTAL = counts(
    None,
    7,
    {"new": 1, "mql": 2, "won": 1, "lost": 1, "nurture": 1, "disqualified": 1},
    {"mql": 5, "sql": 2, "won": 1},
    2,
    1,
    (0.4, 0.5),
)


def test_funnel_totals_exact(marketer_api, cohort):
    response = marketer_api.get(f"{URL}?{MARCH}")

    assert response.status_code == 200
    assert response.json() == {
        "start": "2026-03-01",
        "end": "2026-03-31",
        "group_by": None,
        "total": MARCH_TOTAL,
        "groups": [],
    }


def test_funnel_by_segment(marketer_api, cohort):
    response = marketer_api.get(f"{URL}?{MARCH}&group_by=segment")

    assert response.json()["total"] == MARCH_TOTAL
    assert response.json()["groups"] == [
        counts(
            "automotive",
            4,
            {"mql": 1, "won": 1, "lost": 1, "disqualified": 1},
            {"mql": 3, "sql": 2, "won": 1},
            2,
            1,
            (0.6667, 0.5),
        ),
        counts(
            "aerospace",
            2,
            {"mql": 1, "nurture": 1},
            {"mql": 2, "sql": 0, "won": 0},
            0,
            0,
            (0.0, None),
        ),
        counts(None, 1, {"new": 1}, {"mql": 0, "sql": 0, "won": 0}, 0, 0, (None, None)),
    ]


def test_funnel_by_campaign_groups_empty_values(marketer_api, cohort):
    response = marketer_api.get(f"{URL}?{MARCH}&group_by=campaign")

    groups = response.json()["groups"]
    assert [(group["value"], group["leads"]) for group in groups] == [
        (None, 4),
        ("spring", 2),
        ("fair", 1),
    ]
    assert sum(group["leads"] for group in groups) == 7


def test_funnel_by_source(marketer_api, cohort):
    response = marketer_api.get(f"{URL}?{MARCH}&group_by=source")

    assert [(group["value"], group["leads"]) for group in response.json()["groups"]] == [
        ("google", 4),
        ("linkedin", 2),
        (None, 1),
    ]


def test_funnel_narrowed_by_source_any_case(marketer_api, cohort):
    response = marketer_api.get(f"{URL}?{MARCH}&source=LinkedIn")

    assert response.json()["total"] == counts(
        None, 2, {"mql": 1, "nurture": 1}, {"mql": 2, "sql": 0, "won": 0}, 0, 0, (0.0, None)
    )


def test_funnel_narrowed_by_segment_and_campaign(marketer_api, cohort):
    response = marketer_api.get(f"{URL}?{MARCH}&segment=automotive&campaign=spring")

    assert response.json()["total"]["leads"] == 2
    assert response.json()["total"]["reached"] == {"mql": 2, "sql": 2, "won": 1}


def test_funnel_single_day_range(marketer_api, cohort):
    response = marketer_api.get(f"{URL}?start=2026-03-31&end=2026-03-31")

    assert response.json()["total"]["leads"] == 1
    assert response.json()["total"]["statuses"]["nurture"] == 1


def test_funnel_empty_range_has_null_rates(marketer_api, cohort):
    response = marketer_api.get(f"{URL}?start=2025-01-01&end=2025-01-31")

    assert response.json()["total"] == counts(
        None, 0, {}, {"mql": 0, "sql": 0, "won": 0}, 0, 0, (None, None)
    )


@time_machine.travel(datetime(2026, 3, 31, 12, 0, tzinfo=UTC), tick=False)
def test_funnel_defaults_to_last_30_days(marketer_api, cohort):
    response = marketer_api.get(URL)

    assert response.json()["start"] == "2026-03-02"
    assert response.json()["end"] == "2026-03-31"
    # The lead of 1 March is outside the default range.
    assert response.json()["total"]["leads"] == 6


def test_funnel_range_ending_in_year_one(marketer_api):
    response = marketer_api.get("/api/v1/reports/funnel/?end=0001-01-01")

    assert response.status_code == 200
    assert (response.json()["start"], response.json()["end"]) == ("0001-01-01", "0001-01-01")
    assert response.json()["total"]["leads"] == 0


def test_funnel_one_aggregate_query(marketer_api, cohort, django_assert_max_num_queries):
    # Token with user, the user's groups, and the grouped aggregate.
    with django_assert_max_num_queries(3):
        response = marketer_api.get(f"{URL}?{MARCH}&group_by=segment")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        (
            "start=2026-04-01&end=2026-03-01",
            {"start": ["2026-04-01 is after end 2026-03-01; swap them."]},
        ),
        (
            "start=20260301",
            {"start": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
        ),
        ("end=9999-12-31", {"end": ["Send a day before 9999-12-31."]}),
        ("group_by=region", {"group_by": ['"region" is not a valid choice.']}),
    ],
    ids=["reversed", "compact-date", "last-day", "group"],
)
def test_funnel_invalid_query_rejected(marketer_api, query, fields):
    response = marketer_api.get(f"{URL}?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"] == fields


def test_funnel_unknown_parameter_rejected(marketer_api):
    response = marketer_api.get(f"{URL}?{MARCH}&status=mql")

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_query_parameter"
    assert response.json()["message"] == (
        "Unknown query parameter status for GET /api/v1/reports/funnel/; it accepts: campaign, "
        "end, format, group_by, segment, source, start."
    )


def test_funnel_not_for_sales_reps(rep_api):
    response = rep_api.get(URL)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_funnel_for_sales_managers(client_for, sales_manager):
    response = client_for(sales_manager).get(f"{URL}?{MARCH}")

    assert response.status_code == 200
