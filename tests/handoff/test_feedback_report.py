"""GET /api/v1/reports/handoff-feedback/: rejections and losses per reason, grouped and ranged."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from handoff import services
from integrations.services import api_key_create
from tests.factories import AccountFactory, LeadFactory

pytestmark = pytest.mark.usefixtures("handoff_settings")

PATH = "/api/v1/reports/handoff-feedback/"
WEEK = "start=2026-03-02&end=2026-03-06"
NO_REJECTIONS = {
    "not_a_fit": 0,
    "no_active_need": 0,
    "wrong_contact": 0,
    "duplicate": 0,
    "bad_timing": 0,
}
NO_LOSSES = {
    "lost_to_competitor": 0,
    "no_budget": 0,
    "no_decision": 0,
    "product_gap": 0,
    "too_expensive": 0,
    "timing": 0,
    "other": 0,
}


def at(day, hour=10, minute=0):
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.UTC)


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def mql(segment="automotive", campaign="spring-expo", ruleset_version=3):
    account = AccountFactory(segment=segment) if segment else None
    return LeadFactory(
        status="mql",
        account=account,
        first_touch_campaign=campaign,
        ruleset_version=ruleset_version,
    )


def rejected(lead, reason, when):
    handoff = services.handoff_send(lead_ids=[lead.pk], now=when).created[0]
    return services.handoff_reject(
        handoff_id=handoff.pk, actor=handoff.rep.user, reason=reason, now=when
    )


def lost(lead, reason, when, outcome="lost"):
    handoff = services.handoff_send(lead_ids=[lead.pk], now=when).created[0]
    services.handoff_accept(
        handoff_id=handoff.pk,
        actor=handoff.rep.user,
        qualification={"confirmed_need": "Two new lines"},
        next_step="Demo",
        next_step_date=when.date(),
        now=when,
    )
    return services.handoff_close(
        handoff_id=handoff.pk, actor=handoff.rep.user, outcome=outcome, reason=reason, now=when
    )


def counts(value, label, reject_reasons=None, loss_reasons=None):
    reject_reasons = {**NO_REJECTIONS, **(reject_reasons or {})}
    loss_reasons = {**NO_LOSSES, **(loss_reasons or {})}
    return {
        "value": value,
        "label": label,
        "rejected": sum(reject_reasons.values()),
        "lost": sum(loss_reasons.values()),
        "reject_reasons": reject_reasons,
        "loss_reasons": loss_reasons,
    }


def test_counts_reasons_decided_in_range(team, marketer):
    rejected(mql(), "bad_timing", at(2))
    rejected(mql(), "bad_timing", at(6, 23, 30))
    rejected(mql(), "not_a_fit", at(4))
    lost(mql(), "no_budget", at(5))
    rejected(mql(), "duplicate", at(1, 23, 59))
    rejected(mql(), "wrong_contact", at(7, 0, 0))
    lost(mql(), "product_fit", at(3), outcome="won")

    response = client_for(marketer).get(f"{PATH}?{WEEK}")

    assert response.status_code == 200
    assert response.json() == {
        "start": "2026-03-02",
        "end": "2026-03-06",
        "group_by": None,
        "total": counts(None, None, {"bad_timing": 2, "not_a_fit": 1}, {"no_budget": 1}),
        "groups": [],
    }


def test_groups_by_rep_with_names(team, marketer):
    reps, _ = team
    rejected(mql(), "bad_timing", at(2))
    rejected(mql(), "no_active_need", at(2, 11))
    lost(mql(), "no_decision", at(3))
    rejected(mql(), "not_a_fit", at(3, 11))

    response = client_for(marketer).get(f"{PATH}?{WEEK}&group_by=rep")

    assert response.json()["groups"] == [
        counts(str(reps[0].pk), reps[0].display_name, {"bad_timing": 1, "not_a_fit": 1}),
        counts(str(reps[1].pk), reps[1].display_name, {"no_active_need": 1}),
        counts(str(reps[2].pk), reps[2].display_name, loss_reasons={"no_decision": 1}),
    ]
    assert response.json()["total"] == counts(
        None,
        None,
        {"bad_timing": 1, "not_a_fit": 1, "no_active_need": 1},
        {"no_decision": 1},
    )


def test_groups_by_segment_with_null_group(team, marketer):
    rejected(mql(segment="aerospace"), "bad_timing", at(2))
    rejected(mql(segment="aerospace"), "not_a_fit", at(3))
    rejected(mql(segment=None), "wrong_contact", at(4))

    response = client_for(marketer).get(f"{PATH}?{WEEK}&group_by=segment")

    assert response.json()["groups"] == [
        counts("aerospace", "aerospace", {"bad_timing": 1, "not_a_fit": 1}),
        counts(None, None, {"wrong_contact": 1}),
    ]


def test_groups_by_campaign_within_segment(team, marketer):
    rejected(mql(campaign="spring-expo"), "bad_timing", at(2))
    lost(mql(campaign="cad-library"), "too_expensive", at(3))
    rejected(mql(segment="food", campaign="spring-expo"), "duplicate", at(4))

    response = client_for(marketer).get(f"{PATH}?{WEEK}&group_by=campaign&segment=Automotive")

    assert response.json()["groups"] == [
        counts("cad-library", "cad-library", loss_reasons={"too_expensive": 1}),
        counts("spring-expo", "spring-expo", {"bad_timing": 1}),
    ]


def test_groups_by_ruleset_version_at_send(team, marketer):
    rejected(mql(ruleset_version=3), "not_a_fit", at(2))
    rejected(mql(ruleset_version=4), "not_a_fit", at(3))
    rejected(mql(ruleset_version=4), "no_active_need", at(3, 11))
    rejected(mql(ruleset_version=None), "bad_timing", at(4))

    response = client_for(marketer).get(f"{PATH}?{WEEK}&group_by=ruleset_version")

    assert response.json()["groups"] == [
        counts("4", "4", {"not_a_fit": 1, "no_active_need": 1}),
        counts("3", "3", {"not_a_fit": 1}),
        counts(None, None, {"bad_timing": 1}),
    ]


def test_query_count_constant_across_groups(team, marketer):
    client = client_for(marketer)
    rejected(mql(), "bad_timing", at(2))
    client.get(f"{PATH}?{WEEK}&group_by=rep")  # the first request caches the user's roles
    with CaptureQueriesContext(connection) as one_group:
        client.get(f"{PATH}?{WEEK}&group_by=rep")
    rejected(mql(), "not_a_fit", at(3))
    rejected(mql(), "duplicate", at(4))

    with CaptureQueriesContext(connection) as three_groups:
        response = client.get(f"{PATH}?{WEEK}&group_by=rep")

    assert len(response.json()["groups"]) == 3
    assert len(three_groups) == len(one_group)


def test_range_ending_in_year_one(marketer):
    response = client_for(marketer).get(f"{PATH}?end=0001-01-10")

    assert response.status_code == 200
    assert (response.json()["start"], response.json()["end"]) == ("0001-01-01", "0001-01-10")
    assert response.json()["total"] == counts(None, None)


def test_sales_rep_gets_403(team):
    reps, _ = team

    response = client_for(reps[0].user).get(f"{PATH}?{WEEK}")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_api_key_needs_reports_scope(marketer):
    without = api_key_create(name="No reports", user=marketer, scopes=["handoffs:read"]).key
    with_scope = api_key_create(name="Reports", user=marketer, scopes=["reports:read"]).key
    client = APIClient()

    denied = client.get(f"{PATH}?{WEEK}", HTTP_AUTHORIZATION=f"Bearer {without}")
    allowed = client.get(f"{PATH}?{WEEK}", HTTP_AUTHORIZATION=f"Bearer {with_scope}")

    assert denied.status_code == 403
    assert denied.json()["code"] == "missing_scope"
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("query", "code", "fields"),
    [
        (
            "group_by=reason",
            "invalid",
            {
                "group_by": [
                    '"reason" is not a valid choice.',
                ]
            },
        ),
        (
            "start=2026-03-06&end=2026-03-02",
            "invalid",
            {"start": ["2026-03-06 is after end 2026-03-02; swap them."]},
        ),
        (
            "start=2026-3-2",
            "invalid",
            {"start": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
        ),
        (
            "rep=12",
            "unknown_query_parameter",
            {
                "rep": [
                    "Unknown query parameter; use one of: campaign, end, format, group_by, segment, start."
                ]
            },
        ),
    ],
    ids=["group-by", "start-after-end", "date-format", "unknown"],
)
def test_bad_query_rejected(marketer, query, code, fields):
    response = client_for(marketer).get(f"{PATH}?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["fields"] == fields
