"""The Python scorer: every fit operator, engagement matching, decay, windows, caps and the breakdown."""

import pytest

from scoring.engine import score_lead
from scoring.rules import compile_document
from tests.scoring.helpers import (
    NOW,
    account_values,
    document,
    engagement_rule,
    event,
    fit_rule,
    lead_values,
)

NO_ACCOUNT = object()


def _fit_score(rule, *, lead=None, account=None):
    compiled = compile_document(document(fit_rules=[rule]), version=1)
    result = score_lead(
        compiled,
        lead=lead_values(**(lead or {})),
        account=None if account is NO_ACCOUNT else account_values(**(account or {})),
        events=[],
        now=NOW,
    )
    return result.fit_score


# (rule, lead overrides, account overrides or NO_ACCOUNT, expected fit score)
FIT_CASES = [
    # eq, ne: case-insensitive text; a missing value matches ne only.
    (fit_rule("account.segment", "eq", "Automotive"), {}, {}, 10),
    (fit_rule("account.segment", "eq", "aerospace"), {}, {}, 0),
    (fit_rule("account.segment", "eq", "automotive"), {}, NO_ACCOUNT, 0),
    (fit_rule("account.segment", "ne", "aerospace"), {}, {}, 10),
    (fit_rule("account.segment", "ne", "AUTOMOTIVE"), {}, {}, 0),
    (fit_rule("account.segment", "ne", "aerospace"), {}, NO_ACCOUNT, 10),
    (fit_rule("lead.job_function", "eq", "engineering"), {}, {}, 10),
    (fit_rule("lead.email_domain", "eq", "Precision-Parts.example"), {}, {}, 10),
    (fit_rule("lead.email_domain", "eq", "precision-parts.example"), {"email": None}, {}, 0),
    (fit_rule("account.employee_count", "eq", 800), {}, {}, 10),
    (fit_rule("account.employee_count", "ne", 800), {}, {"employee_count": None}, 10),
    (fit_rule("lead.email_opt_out", "eq", False), {}, {}, 10),
    # in, not_in.
    (fit_rule("account.region", "in", ["north_america", "Europe"]), {}, {}, 10),
    (fit_rule("account.region", "in", ["north_america"]), {}, {}, 0),
    (fit_rule("account.region", "in", ["europe"]), {}, NO_ACCOUNT, 0),
    (fit_rule("account.region", "not_in", ["north_america"]), {}, {}, 10),
    (fit_rule("account.region", "not_in", ["europe"]), {}, {}, 0),
    (fit_rule("account.region", "not_in", ["europe"]), {}, NO_ACCOUNT, 10),
    (fit_rule("account.employee_count", "in", [250, 800]), {}, {}, 10),
    # contains, contains_any: list fields, case-insensitive items.
    (fit_rule("account.processes", "contains", "CNC_Machining"), {}, {}, 10),
    (fit_rule("account.processes", "contains", "sheet_metal"), {}, {}, 0),
    (fit_rule("account.processes", "contains", "cnc_machining"), {}, NO_ACCOUNT, 0),
    (fit_rule("account.technologies", "contains_any", ["mes", "ERP"]), {}, {}, 10),
    (fit_rule("account.technologies", "contains_any", ["mes", "plm"]), {}, {}, 0),
    (fit_rule("lead.interests", "contains", "fixtures"), {}, {}, 10),
    # gte, lte, between: inclusive; a missing number never matches.
    (fit_rule("account.employee_count", "gte", 800), {}, {}, 10),
    (fit_rule("account.employee_count", "gte", 801), {}, {}, 0),
    (fit_rule("account.employee_count", "lte", 800), {}, {}, 10),
    (fit_rule("account.employee_count", "lte", 799), {}, {}, 0),
    (fit_rule("account.employee_count", "between", [250, 800]), {}, {}, 10),
    (fit_rule("account.employee_count", "between", [800, 999]), {}, {}, 10),
    (fit_rule("account.employee_count", "between", [801, 999]), {}, {}, 0),
    (fit_rule("account.employee_count", "gte", 1), {}, {"employee_count": None}, 0),
    (fit_rule("account.annual_revenue_usd", "between", [50e6, 250e6]), {}, {}, 10),
    (fit_rule("account.annual_revenue_usd", "lte", 1), {}, NO_ACCOUNT, 0),
    # is_true, is_false.
    (fit_rule("lead.email_opt_out", "is_true"), {"email_opt_out": True}, {}, 10),
    (fit_rule("lead.email_opt_out", "is_false"), {}, {}, 10),
    (fit_rule("lead.call_opt_out", "is_true"), {}, {}, 0),
    (fit_rule("lead.email_is_free_mail", "is_true"), {"email": "dana@gmail.com"}, NO_ACCOUNT, 10),
    (fit_rule("lead.email_is_free_mail", "is_true"), {}, {}, 0),
    (fit_rule("lead.email_is_free_mail", "is_false"), {"email": None}, {}, 10),
    (fit_rule("account.has_account", "is_true"), {}, {}, 10),
    (fit_rule("account.has_account", "is_false"), {}, NO_ACCOUNT, 10),
    # is_empty, is_not_empty: missing, "" and [] are empty.
    (fit_rule("account.facility_type", "is_empty"), {}, {"facility_type": ""}, 10),
    (fit_rule("account.facility_type", "is_empty"), {}, NO_ACCOUNT, 10),
    (fit_rule("account.facility_type", "is_empty"), {}, {}, 0),
    (fit_rule("account.facility_type", "is_not_empty"), {}, {}, 10),
    (fit_rule("account.facility_type", "is_not_empty"), {}, NO_ACCOUNT, 0),
    (fit_rule("account.processes", "is_empty"), {}, {"processes": []}, 10),
    (fit_rule("lead.interests", "is_not_empty"), {"interests": []}, {}, 0),
    (fit_rule("account.employee_count", "is_empty"), {}, {"employee_count": None}, 10),
    (fit_rule("account.employee_count", "is_not_empty"), {}, {"employee_count": 0}, 10),
    # matches: case-insensitive search; $ is the true end; \b is a word boundary.
    (fit_rule("lead.job_title", "matches", r"\bengineering\b"), {}, {}, 10),
    (fit_rule("lead.job_title", "matches", r"^engineer\b"), {}, {}, 0),
    (fit_rule("lead.job_title", "matches", "MANAGER$"), {}, {}, 10),
    (fit_rule("lead.job_title", "matches", "manager$"), {"job_title": "Manager\n"}, {}, 0),
    (fit_rule("account.segment", "matches", "auto"), {}, NO_ACCOUNT, 0),
    # Bands derived from the account's numbers.
    (fit_rule("account.employee_band", "eq", "250-999"), {}, {}, 10),
    (fit_rule("account.employee_band", "in", ["5000+"]), {}, {"employee_count": 12000}, 10),
    (fit_rule("account.employee_band", "is_empty"), {}, {"employee_count": None}, 10),
    (fit_rule("account.revenue_band", "eq", "50m-250m"), {}, {}, 10),
    # Custom attributes: compared by the type of the rule's value.
    (fit_rule("custom.tier", "eq", "a"), {"custom_attributes": {"tier": "A"}}, {}, 10),
    (fit_rule("custom.tier", "eq", "a"), {"custom_attributes": {}}, {}, 0),
    (fit_rule("custom.tier", "ne", "a"), {"custom_attributes": {}}, {}, 10),
    (fit_rule("custom.tier", "eq", "1"), {"custom_attributes": {"tier": 1}}, {}, 0),
    (fit_rule("custom.plants", "gte", 3), {"custom_attributes": {"plants": 3}}, {}, 10),
    (fit_rule("custom.plants", "gte", 3), {"custom_attributes": {"plants": " 3.5 "}}, {}, 10),
    (fit_rule("custom.plants", "gte", 3), {"custom_attributes": {"plants": "three"}}, {}, 0),
    (fit_rule("custom.plants", "eq", 2), {"custom_attributes": {"plants": "2.0"}}, {}, 10),
    (fit_rule("custom.plants", "in", [2, 4]), {"custom_attributes": {"plants": 4.0}}, {}, 10),
    (fit_rule("custom.plants", "gte", 1), {"custom_attributes": {"plants": True}}, {}, 0),
    (fit_rule("custom.iso", "is_true"), {"custom_attributes": {"iso": True}}, {}, 10),
    (fit_rule("custom.iso", "is_true"), {"custom_attributes": {"iso": " TRUE"}}, {}, 10),
    (fit_rule("custom.iso", "is_true"), {"custom_attributes": {"iso": "yes"}}, {}, 0),
    (fit_rule("custom.iso", "is_false"), {"custom_attributes": {"iso": "false"}}, {}, 10),
    (fit_rule("custom.iso", "is_false"), {"custom_attributes": {}}, {}, 0),
    (fit_rule("custom.iso", "eq", True), {"custom_attributes": {"iso": True}}, {}, 10),
    (
        fit_rule("custom.tags", "contains", "ISO9001"),
        {"custom_attributes": {"tags": ["iso9001", 5]}},
        {},
        10,
    ),
    (
        fit_rule("custom.tags", "contains", "iso9001"),
        {"custom_attributes": {"tags": "iso9001"}},
        {},
        0,
    ),
    (
        fit_rule("custom.tags", "contains_any", ["x", "y"]),
        {"custom_attributes": {"tags": ["Y"]}},
        {},
        10,
    ),
    (fit_rule("custom.tags", "is_empty"), {"custom_attributes": {"tags": []}}, {}, 10),
    (fit_rule("custom.tags", "is_empty"), {"custom_attributes": {"tags": None}}, {}, 10),
    (fit_rule("custom.tags", "is_empty"), {"custom_attributes": {"tags": {}}}, {}, 10),
    (fit_rule("custom.tags", "is_not_empty"), {"custom_attributes": {"tags": 0}}, {}, 10),
    (
        fit_rule("custom.note", "matches", "^rfq"),
        {"custom_attributes": {"note": "RFQ soon"}},
        {},
        10,
    ),
    (fit_rule("custom.note", "matches", "1"), {"custom_attributes": {"note": 1}}, {}, 0),
    (fit_rule("custom.note", "not_in", ["a"]), {"custom_attributes": {"note": ["a"]}}, {}, 10),
    # Negative and fractional points; the fit score is rounded half away from zero.
    (fit_rule("lead.job_function", "eq", "engineering", points=-25), {}, {}, -25),
    (fit_rule("lead.job_function", "eq", "engineering", points=12.5), {}, {}, 13),
    (fit_rule("lead.job_function", "eq", "engineering", points=-12.5), {}, {}, -13),
]


@pytest.mark.parametrize(("rule", "lead", "account", "expected"), FIT_CASES)
def test_fit_rule_table(rule, lead, account, expected):
    assert _fit_score(rule, lead=lead, account=account) == expected


def test_free_mail_extra_domains_from_settings(settings):
    settings.FREE_MAIL_DOMAINS_EXTRA = ["freemailer.example"]

    score = _fit_score(
        fit_rule("lead.email_is_free_mail", "is_true"), lead={"email": "dana@FreeMailer.example"}
    )

    assert score == 10


def _engagement(rules, events, **extra):
    compiled = compile_document(document(engagement_rules=rules, **extra), version=1)
    return score_lead(compiled, lead=lead_values(), account=None, events=events, now=NOW)


# (rule, events, expected engagement score)
ENGAGEMENT_CASES = [
    (engagement_rule("quote_request", 40), [event(1, "quote_request")], 40.0),
    (engagement_rule("quote_request", 40), [event(1, "page_view")], 0.0),
    (
        engagement_rule(["demo_request", "meeting_request"], 30),
        [event(1, "meeting_request"), event(2, "demo_request")],
        60.0,
    ),
    # Every matching event counts; the rule's total is capped at cap (at -cap when negative).
    (engagement_rule("page_view", 10), [event(1), event(2), event(3)], 30.0),
    (engagement_rule("page_view", 10, cap=25), [event(1), event(2), event(3)], 25.0),
    (engagement_rule("page_view", -10, cap=15), [event(1), event(2)], -15.0),
    (engagement_rule("page_view", -10, cap=25), [event(1), event(2)], -20.0),
    # Window: an event exactly window_days old still counts, an older one does not.
    (engagement_rule("page_view", 10, window_days=30), [event(1, age_days=30)], 10.0),
    (engagement_rule("page_view", 10, window_days=30), [event(1, age_days=30.001)], 0.0),
    # Half-life: the points halve every half_life_days.
    (engagement_rule("page_view", 10, half_life_days=30), [event(1, age_days=0)], 10.0),
    (engagement_rule("page_view", 10, half_life_days=30), [event(1, age_days=30)], 5.0),
    (engagement_rule("page_view", 10, half_life_days=30), [event(1, age_days=60)], 2.5),
    (engagement_rule("page_view", 10, half_life_days=30), [event(1, age_days=45)], 3.54),
    (engagement_rule("page_view", 10, half_life_days=7), [event(1, age_days=3650)], 0.0),
    (
        engagement_rule("page_view", 10, half_life_days=30, window_days=40),
        [event(1, age_days=30), event(2, age_days=50)],
        5.0,
    ),
    # An event in the future counts as now.
    (engagement_rule("page_view", 10, half_life_days=30), [event(1, age_days=-1)], 10.0),
    # Globs: whole value, case-insensitive, * any text and ? one character.
    (
        engagement_rule("page_view", 10, url_pattern="*/pricing*"),
        [event(1, url="https://x.example/Pricing/eu")],
        10.0,
    ),
    (
        engagement_rule("page_view", 10, url_pattern="*/pricing"),
        [event(1, url="https://x.example/pricing/eu")],
        0.0,
    ),
    (
        engagement_rule("page_view", 10, url_pattern="*/v?/spec"),
        [event(1, url="https://x.example/v2/spec")],
        10.0,
    ),
    (
        engagement_rule("page_view", 10, url_pattern="*/v?/spec"),
        [event(1, url="https://x.example/v12/spec")],
        0.0,
    ),
    (
        engagement_rule("page_view", 10, url_pattern="*50%_off*"),
        [event(1, url="https://x.example/50%_off")],
        10.0,
    ),
    (
        engagement_rule("page_view", 10, url_pattern="*50%_off*"),
        [event(1, url="https://x.example/50xyoff")],
        0.0,
    ),
    (
        engagement_rule("cad_download", 15, asset="bracket-*.step"),
        [event(1, "cad_download", asset="Bracket-M8.STEP")],
        15.0,
    ),
    (
        engagement_rule("email_click", 2, campaign="spring-*"),
        [event(1, "email_click", campaign="autumn-2026")],
        0.0,
    ),
]


@pytest.mark.parametrize(("rule", "events", "expected"), ENGAGEMENT_CASES)
def test_engagement_rule_table(rule, events, expected):
    assert _engagement([rule], events).engagement_score == expected


def test_event_matching_two_rules_counts_in_both():
    rules = [
        engagement_rule("page_view", 2, id="any-page"),
        engagement_rule("page_view", 8, id="pricing", url_pattern="*/pricing*"),
    ]

    result = _engagement(rules, [event(1, url="https://x.example/pricing")])

    assert result.engagement_score == 10.0
    assert [entry["rule"] for entry in result.breakdown["engagement"]] == ["any-page", "pricing"]


def test_group_cap_limits_engagement_group():
    rules = [
        engagement_rule("page_view", 10, id="pages", group="web"),
        engagement_rule("email_click", 10, id="clicks", group="web"),
        engagement_rule("quote_request", 40, id="rfq", group="intent"),
    ]
    events = [event(1), event(2), event(3, "email_click"), event(4, "quote_request")]

    result = _engagement(rules, events, group_caps={"web": 25})

    assert result.engagement_score == 65.0
    assert result.breakdown["caps"] == [
        {"scope": "group", "name": "web", "cap": 25, "removed": 5.0}
    ]


def test_engagement_cap_limits_total():
    rules = [engagement_rule("quote_request", 40)]

    result = _engagement(
        rules,
        [event(1, "quote_request"), event(2, "quote_request"), event(3, "quote_request")],
        engagement_cap=100,
    )

    assert result.engagement_score == 100.0
    assert result.breakdown["caps"] == [
        {"scope": "total", "name": "engagement", "cap": 100, "removed": 20.0}
    ]


def test_fit_group_and_total_caps():
    rules = [
        fit_rule(
            "account.segment", "eq", "automotive", id="segment", group="firmographic", points=30
        ),
        fit_rule("account.region", "eq", "europe", id="region", group="firmographic", points=30),
        fit_rule("lead.job_function", "eq", "engineering", id="function", points=40),
        fit_rule("lead.seniority", "eq", "manager", id="seniority", points=15),
    ]
    compiled = compile_document(
        document(fit_rules=rules, group_caps={"firmographic": 50}, fit_cap=100), version=1
    )

    result = score_lead(compiled, lead=lead_values(), account=account_values(), events=[], now=NOW)

    assert result.fit_score == 100
    assert result.breakdown["caps"] == [
        {"scope": "group", "name": "firmographic", "cap": 50, "removed": 10},
        {"scope": "total", "name": "fit", "cap": 100, "removed": 5},
    ]


def test_negative_group_total_capped_at_minus_cap():
    rules = [
        fit_rule("lead.job_function", "eq", "engineering", id="a", group="penalty", points=-30),
        fit_rule("lead.seniority", "eq", "manager", id="b", group="penalty", points=-30),
    ]
    compiled = compile_document(document(fit_rules=rules, group_caps={"penalty": 40}), version=1)

    result = score_lead(compiled, lead=lead_values(), account=None, events=[], now=NOW)

    assert result.fit_score == -40
    assert result.breakdown["caps"] == [
        {"scope": "group", "name": "penalty", "cap": 40, "removed": -20}
    ]


def test_breakdown_has_documented_shape():
    doc = document(
        fit_rules=[
            fit_rule(
                "account.segment",
                "in",
                ["automotive"],
                id="core-segment",
                label="Core industry segment",
                group="firmographic",
                points=20,
            ),
            fit_rule("lead.job_function", "eq", "sales", id="sales", points=5),
        ],
        engagement_rules=[
            engagement_rule(
                "quote_request",
                40,
                id="rfq",
                label="Quote or RFQ request",
                group="intent",
                cap=60,
                window_days=180,
            ),
            engagement_rule(
                "page_view", 10, id="web-pages", label="Web pages", group="web", half_life_days=30
            ),
        ],
        group_caps={"web": 4},
        fast_track_kinds=["quote_request"],
    )
    compiled = compile_document(doc, version=3)
    events = [
        event(733, "quote_request", age_days=20),
        event(812, "quote_request", age_days=5),
        event(900, "page_view", age_days=30),
    ]

    result = score_lead(
        compiled, lead=lead_values(), account=account_values(), events=events, now=NOW
    )

    assert result.breakdown == {
        "ruleset_version": 3,
        "fit_score": 20,
        "engagement_score": 64.0,
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
                "points": 60.0,
                "raw_points": 80.0,
                "capped": True,
                "events": 2,
                "event_ids": [812, 733],
                "last_event_at": "2026-11-15T12:00:00+00:00",
            },
            {
                "rule": "web-pages",
                "label": "Web pages",
                "group": "web",
                "points": 5.0,
                "raw_points": 5.0,
                "capped": False,
                "events": 1,
                "event_ids": [900],
                "last_event_at": "2026-10-21T12:00:00+00:00",
            },
        ],
        "caps": [
            {"scope": "rule", "name": "rfq", "cap": 60, "removed": 20.0},
            {"scope": "group", "name": "web", "cap": 4, "removed": 1.0},
        ],
        "fast_track": {"kind": "quote_request", "event_id": 812},
    }
    assert result.fit_score == 20
    assert result.engagement_score == 64.0


def test_breakdown_lists_ten_newest_event_ids():
    events = [event(event_id, age_days=event_id) for event_id in range(1, 15)]

    result = _engagement([engagement_rule("page_view", 1)], events)

    entry = result.breakdown["engagement"][0]
    assert entry["events"] == 14
    assert entry["event_ids"] == list(range(1, 11))
    assert entry["last_event_at"] == "2026-11-19T12:00:00+00:00"


def test_breakdown_omits_rules_without_points():
    result = _engagement(
        [engagement_rule("page_view", 10, half_life_days=1)], [event(1, age_days=365 * 5)]
    )

    assert result.breakdown["engagement"] == []
    assert result.engagement_score == 0.0


def test_no_events_scores_zero_engagement():
    result = _engagement(
        [engagement_rule("quote_request", 40)], [], fast_track_kinds=["quote_request"]
    )

    assert result.engagement_score == 0.0
    assert result.breakdown["engagement"] == []
    assert result.breakdown["fast_track"] is None
    assert result.fast_track is None


@pytest.mark.parametrize(
    ("age_days", "expected_event_id"),
    [(10, 2), (89.9, 2), (90.5, None)],
)
def test_fast_track_uses_newest_event_in_window(age_days, expected_event_id):
    events = [
        event(1, "demo_request", age_days=age_days + 1),
        event(2, "quote_request", age_days=age_days),
    ]

    result = _engagement(
        [], events, fast_track_kinds=["quote_request", "demo_request"], fast_track_window_days=90
    )

    if expected_event_id is None:
        assert result.fast_track is None
    else:
        assert result.fast_track.event_id == expected_event_id
        assert result.breakdown["fast_track"] == {
            "kind": "quote_request",
            "event_id": expected_event_id,
        }


def test_rule_cap_with_three_decimals_rounds_like_sql():
    rule = engagement_rule("page_view", 10, cap=19.995)

    result = _engagement([rule], [event(1), event(2)])

    assert result.engagement_score == 20.0
    assert result.breakdown["caps"] == []
    assert result.breakdown["engagement"][0]["capped"] is False
