"""The set-based SQL rescore gives exactly the scores and breakdowns of the Python scorer."""

import itertools
import random
from datetime import timedelta

import pytest
from django.db import transaction

from leads.models import Lead
from scoring import services
from scoring.defaults import DEFAULT_RULESET
from scoring.rules import compile_ruleset
from scoring.sql import build_rescore_statement
from tests.factories import AccountFactory, EngagementEventFactory, LeadFactory
from tests.scoring.helpers import (
    NOW,
    account_values,
    document,
    engagement_rule,
    fit_rule,
    lead_values,
    publish,
)
from tests.scoring.test_engine import ENGAGEMENT_CASES, FIT_CASES, NO_ACCOUNT

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

_lead_numbers = itertools.count()


def _create_lead(lead=None, account=None, events=()):
    """Create a lead from scorer values; events are (kind, age_days, url, asset, campaign)."""
    number = next(_lead_numbers)
    values = lead_values(**{"email": f"lead{number}@precision-parts.example", **(lead or {})})
    if values["email"] is None:
        values["external_id"] = f"crm-{number}"
    account_row = (
        None if account is NO_ACCOUNT else AccountFactory(**account_values(**(account or {})))
    )
    row = LeadFactory(account=account_row, **values)
    for kind, age_days, url, asset, campaign in events:
        EngagementEventFactory(
            lead=row,
            kind=kind,
            url=url,
            asset=asset,
            campaign=campaign,
            occurred_at=NOW - timedelta(days=age_days),
        )
    return row


def _rows():
    return {
        row["pk"]: row
        for row in Lead.objects.values(
            "pk",
            "fit_score",
            "engagement_score",
            "ruleset_version",
            "score_breakdown",
            "scored_at",
            "score_stale",
        )
    }


def _score_both_ways(doc):
    """Score every lead with SQL, then with Python; return both sets of rows."""
    compiled = compile_ruleset(publish(doc))
    ids = sorted(Lead.objects.values_list("pk", flat=True))

    written = build_rescore_statement(compiled).execute(first_id=ids[0], last_id=ids[-1], now=NOW)
    sql_rows = _rows()
    with transaction.atomic():
        services._score_leads_python(compiled, ids, NOW)
    python_rows = _rows()

    assert sorted(written) == ids
    return sql_rows, python_rows


@pytest.mark.parametrize(("rule", "lead", "account", "expected"), FIT_CASES)
def test_fit_rule_table_sql_matches_python(rule, lead, account, expected):
    row = _create_lead(lead, account)
    _create_lead()

    sql_rows, python_rows = _score_both_ways(document(fit_rules=[rule]))

    assert sql_rows == python_rows
    assert sql_rows[row.pk]["fit_score"] == expected


@pytest.mark.parametrize(("rule", "events", "expected"), ENGAGEMENT_CASES)
def test_engagement_rule_table_sql_matches_python(rule, events, expected):
    row = _create_lead(
        events=[
            (
                item.kind,
                (NOW - item.occurred_at) / timedelta(days=1),
                item.url,
                item.asset,
                item.campaign,
            )
            for item in events
        ]
    )

    sql_rows, python_rows = _score_both_ways(document(engagement_rules=[rule]))

    assert sql_rows == python_rows
    assert sql_rows[row.pk]["engagement_score"] == expected


CAPS_DOC = document(
    fit_rules=[
        fit_rule(
            "account.segment", "eq", "automotive", id="segment", group="firmographic", points=30
        ),
        fit_rule("account.region", "eq", "europe", id="region", group="firmographic", points=27.5),
        fit_rule("lead.job_function", "eq", "engineering", id="function", points=40),
        fit_rule("lead.email_is_free_mail", "is_true", id="free-mail", group="penalty", points=-30),
        fit_rule("account.has_account", "is_false", id="no-account", group="penalty", points=-30),
    ],
    engagement_rules=[
        engagement_rule("quote_request", 40, id="rfq", group="intent", cap=60, window_days=180),
        engagement_rule("page_view", 3.3, id="pages", group="web", half_life_days=13.7),
        engagement_rule(
            "page_view", 7, id="pricing", group="web", url_pattern="*/pricing*", half_life_days=30
        ),
        engagement_rule("page_view", -10, id="careers", url_pattern="*/careers*", cap=15),
        engagement_rule("cad_download", 15, id="cad", cap=19.995, window_days=365),
    ],
    group_caps={"firmographic": 50, "penalty": 45, "web": 12.5},
    fit_cap=80,
    engagement_cap=90.25,
    fast_track_kinds=["quote_request", "demo_request"],
)


@pytest.mark.parametrize(
    ("lead", "account", "events"),
    [
        pytest.param({}, {}, [], id="no-events"),
        pytest.param({"email": "dana@gmail.com"}, NO_ACCOUNT, [], id="free-mail-no-account"),
        pytest.param(
            {},
            {},
            [("quote_request", 5, "", "", ""), ("quote_request", 40.25, "", "", "")]
            + [
                ("page_view", 0.37 * day, f"https://x.example/p/{day}", "", "") for day in range(14)
            ],
            id="rule-group-and-total-caps",
        ),
        pytest.param(
            {},
            {},
            [("page_view", 3.141592, "https://x.example/Pricing", "", "")]
            + [
                ("page_view", day + 0.000123, "https://x.example/careers/jobs", "", "")
                for day in range(3)
            ],
            id="decay-and-negative-rule",
        ),
        pytest.param(
            {},
            {},
            [("cad_download", 1, "", "a.step", ""), ("cad_download", 2, "", "b.step", "")],
            id="cap-with-three-decimals",
        ),
        pytest.param(
            {},
            {},
            [("demo_request", 89.999, "", "", ""), ("quote_request", 91, "", "", "")],
            id="fast-track-window",
        ),
    ],
)
def test_caps_and_special_cases_sql_matches_python(lead, account, events):
    _create_lead(lead, account, events)

    sql_rows, python_rows = _score_both_ways(CAPS_DOC)

    assert sql_rows == python_rows


def test_default_ruleset_on_generated_leads_sql_matches_python():
    generator = random.Random(20261120)
    kinds = [
        "page_view",
        "quote_request",
        "cad_download",
        "spec_sheet_download",
        "sample_request",
        "trade_show_visit",
        "webinar_attended",
        "email_click",
        "unsubscribe",
        "demo_request",
    ]
    urls = [
        "https://x.example/pricing",
        "https://x.example/products/clamp",
        "https://x.example/careers",
        "https://x.example/jobs/42",
        "https://x.example/blog",
    ]
    for number in range(30):
        account = (
            NO_ACCOUNT
            if number % 7 == 0
            else {
                "segment": generator.choice(
                    ["automotive", "aerospace", "electronics", "retail", ""]
                ),
                "facility_type": generator.choice(["plant", "rd_lab", "headquarters", ""]),
                "region": generator.choice(["europe", "north_america", "asia_pacific"]),
                "employee_count": generator.choice([None, 12, 300, 2500, 9000]),
                "processes": generator.sample(["cnc_machining", "sheet_metal", "painting"], 2),
                "technologies": generator.choice([[], ["erp"], ["crm"]]),
            }
        )
        lead = {
            "email": generator.choice(
                [f"lead{number}@plant{number}.example", f"lead{number}@gmail.com"]
            ),
            "job_function": generator.choice(["engineering", "operations", "student", "marketing"]),
            "seniority": generator.choice(["manager", "director", "individual", "student"]),
        }
        events = [
            (
                generator.choice(kinds),
                generator.uniform(0, 400),
                generator.choice(urls),
                "",
                "",
            )
            for _ in range(generator.randrange(0, 12))
        ]
        _create_lead(lead, account, events)

    sql_rows, python_rows = _score_both_ways(DEFAULT_RULESET)

    assert sql_rows == python_rows
    assert len({row["engagement_score"] for row in sql_rows.values()}) > 10


HOSTILE = "x'); DELETE FROM leads_lead; --"


def test_rule_values_are_bound_parameters_never_sql_text():
    doc = document(
        fit_rules=[
            fit_rule(f"custom.{HOSTILE}", "eq", HOSTILE, id="custom-hostile"),
            fit_rule("lead.job_title", "matches", r"\bdrop\b", id="regex", label=HOSTILE),
            fit_rule("account.segment", "in", [HOSTILE, "automotive"], id="segment"),
        ],
        engagement_rules=[
            engagement_rule("page_view", 5, id="pages", url_pattern=f"*{HOSTILE}*%(now)s*"),
        ],
    )
    row = _create_lead(
        {"custom_attributes": {HOSTILE: HOSTILE.upper()}, "job_title": "Drop forging lead"},
        {},
        [("page_view", 1, f"https://x.example/{HOSTILE}/%(now)s/", "", "")],
    )
    statement = build_rescore_statement(compile_ruleset(publish(doc)))

    assert HOSTILE not in statement.sql
    assert "drop" not in statement.sql.lower()
    assert HOSTILE in statement.params.values()

    sql_rows, python_rows = _score_both_ways(doc)

    assert sql_rows == python_rows
    assert sql_rows[row.pk]["fit_score"] == 30
    assert sql_rows[row.pk]["engagement_score"] == 5.0
    assert Lead.objects.count() == 1


def test_sql_rescore_keeps_newer_incremental_score():
    row = _create_lead(events=[("quote_request", 1, "", "", "")])
    compiled = compile_ruleset(
        publish(document(engagement_rules=[engagement_rule("quote_request", 40)]))
    )
    Lead.objects.filter(pk=row.pk).update(scored_at=NOW + timedelta(seconds=1), engagement_score=7)

    written = build_rescore_statement(compiled).execute(first_id=row.pk, last_id=row.pk, now=NOW)

    row.refresh_from_db()
    assert written == []
    assert row.engagement_score == 7
