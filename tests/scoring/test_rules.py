"""Validation of rule-set documents: errors keyed by path, each naming the value and the fix."""

import pytest

from scoring.defaults import DEFAULT_RULESET
from scoring.errors import InvalidRuleSet
from scoring.patterns import compile_glob, compile_regex
from scoring.rules import compile_document, validate_document
from tests.scoring.helpers import document, engagement_rule, fit_rule

KINDS = (
    "page_view, form_submit, content_download, cad_download, spec_sheet_download, "
    "webinar_attended, email_open, email_click, trade_show_visit, sample_request, quote_request, "
    "demo_request, meeting_request, technical_consultation, chat, phone_call, website_visit, "
    "unsubscribe, other"
)
TEXT_OPS = "eq, ne, in, not_in, is_empty, is_not_empty, matches"

INVALID_CASES = [
    pytest.param(
        [],
        {
            "non_field_errors": [
                "Expected a rule-set object, got list; send a JSON object as described in "
                "docs/scoring.md."
            ]
        },
        id="not-an-object",
    ),
    pytest.param(
        {"colour": "red"},
        {
            "colour": [
                'Unknown field "colour"; remove it or use one of name, notes, icp, fit_rules, '
                "engagement_rules, group_caps, fit_cap, engagement_cap, fit_threshold, "
                "engagement_threshold, fast_track_kinds, fast_track_window_days."
            ],
            "name": ["Missing; give the rule set a name such as 'Manufacturing default'."],
            "fit_threshold": ["Missing; give the fit score a lead needs for MQL, such as 50."],
            "engagement_threshold": [
                "Missing; give the engagement score a lead needs for MQL, such as 40."
            ],
        },
        id="unknown-field-and-missing",
    ),
    pytest.param(
        document(name="  "),
        {"name": ["Empty; write a short descriptive text."]},
        id="blank-name",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("account.employee_count", "between", 5)]),
        {"fit_rules[0].value": ["'between' needs a [low, high] list, got 5."]},
        id="between-not-a-list",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("account.employee_count", "between", [10, 5])]),
        {"fit_rules[0].value": ["'between' needs low <= high, got [10, 5]; write [5, 10]."]},
        id="between-reversed",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("account.segment", "equals", "automotive")]),
        {
            "fit_rules[0].op": [
                '"equals" is not an operator; use one of eq, ne, in, not_in, contains, '
                "contains_any, gte, lte, between, is_true, is_false, is_empty, is_not_empty, "
                "matches."
            ]
        },
        id="unknown-op",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("account.segment", "gte", 5)]),
        {
            "fit_rules[0].op": [
                f'"gte" does not apply to account.segment, a text field; use one of {TEXT_OPS}.'
            ]
        },
        id="op-not-for-field-type",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("lead.segment", "eq", "x")]),
        {
            "fit_rules[0].field": [
                '"lead.segment" is not a lead field; use one of lead.job_function, '
                "lead.seniority, lead.job_title, lead.country, lead.region, "
                "lead.first_touch_source, lead.first_touch_medium, lead.first_touch_campaign, "
                "lead.email_domain, lead.email_is_free_mail, lead.interests, lead.email_opt_out, "
                "lead.call_opt_out."
            ]
        },
        id="unknown-lead-field",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("segment", "eq", "x")]),
        {
            "fit_rules[0].field": [
                '"segment" is not a field; write lead.<name>, account.<name> or custom.<key>, '
                "such as account.segment."
            ]
        },
        id="field-without-scope",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("company.segment", "eq", "x")]),
        {
            "fit_rules[0].field": [
                '"company.segment" does not start with lead., account. or custom.; write a '
                "field such as lead.job_function."
            ]
        },
        id="unknown-scope",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("lead.job_title", "matches", "(engineer")]),
        {
            "fit_rules[0].value": [
                '"(engineer" is not a valid regular expression (missing ), unterminated '
                "subpattern at position 0); fix the pattern."
            ]
        },
        id="regex-does-not-compile",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("lead.job_title", "matches", "(?i)eng")]),
        {
            "fit_rules[0].value": [
                "\"(?i)eng\" uses a group or flag form '(?i)' that PostgreSQL does not share; "
                "use (?:...), (?=...), (?!...), (?<=...) or (?<!...), and no inline flags "
                "because matching is always case-insensitive."
            ]
        },
        id="regex-inline-flag",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("lead.job_title", "matches", r"\x41")]),
        {
            "fit_rules[0].value": [
                '"\\x41" uses the escape \\x, which PostgreSQL reads differently or not at all; '
                "use \\d, \\s, \\w (or \\D, \\S, \\W outside [...]), \\b, \\B, \\A, \\Z or an "
                "escaped punctuation character."
            ]
        },
        id="regex-unsupported-escape",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("lead.job_title", "matches", "c++")]),
        {
            "fit_rules[0].value": [
                '"c++" contains a possessive quantifier ++, which PostgreSQL does not support; '
                "escape a literal plus sign as \\+."
            ]
        },
        id="regex-possessive",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("lead.email_opt_out", "is_true", True)]),
        {"fit_rules[0].value": ['"is_true" takes no value, got true; remove the value.']},
        id="valueless-op-with-value",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("account.segment", "in", [])]),
        {"fit_rules[0].value": ['"in" needs a non-empty list, got [].']},
        id="in-empty-list",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("custom.tier", "in", ["a", 1])]),
        {
            "fit_rules[0].value": [
                '"in" needs a list of texts or a list of numbers, not a mix, got ["a", 1].'
            ]
        },
        id="in-mixed-list",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("account.employee_count", "eq", "800")]),
        {"fit_rules[0].value": ['"eq" needs a number, got "800".']},
        id="eq-text-on-number-field",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("account.segment", "eq", "")]),
        {
            "fit_rules[0].value": [
                '"eq" needs a non-empty text, got ""; use is_empty to test for an empty value.'
            ]
        },
        id="eq-empty-text",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("account.segment", "eq", "x", points="10")]),
        {"fit_rules[0].points": ['"10" is not a number; give the points as a number, such as 10.']},
        id="points-not-a-number",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("account.segment", "eq", "x", points=20000)]),
        {"fit_rules[0].points": ["20000 is outside -10000 to 10000; use a smaller number."]},
        id="points-too-large",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("account.segment", "eq", "x", id="core segment")]),
        {
            "fit_rules[0].id": [
                "\"core segment\" is not a valid rule id; use 1 to 64 letters, digits, '-', '_' "
                "or '.', starting with a letter or digit, such as 'core-segment'."
            ]
        },
        id="bad-rule-id",
    ),
    pytest.param(
        document(fit_rules=[fit_rule("account.segment", "eq", "x", weight=2)]),
        {
            "fit_rules[0].weight": [
                'Unknown field "weight"; a fit rule has id, label, group, field, op, value, points.'
            ]
        },
        id="unknown-rule-field",
    ),
    pytest.param(
        document(
            fit_rules=[fit_rule("account.segment", "eq", "x", id="same")],
            engagement_rules=[engagement_rule(id="same")],
        ),
        {
            "engagement_rules[0].id": [
                'Duplicate rule id "same" (also fit_rules[0]); give each rule its own id.'
            ]
        },
        id="duplicate-rule-id",
    ),
    pytest.param(
        document(engagement_rules=[engagement_rule("rfq")]),
        {"engagement_rules[0].kind": [f'"rfq" is not an event kind; use one of {KINDS}.']},
        id="unknown-event-kind",
    ),
    pytest.param(
        document(engagement_rules=[engagement_rule(["page_view", "rfq", "page_view"])]),
        {
            "engagement_rules[0].kinds[1]": [f'"rfq" is not an event kind; use one of {KINDS}.'],
            "engagement_rules[0].kinds[2]": ['"page_view" is listed twice; remove one.'],
        },
        id="bad-kinds-list",
    ),
    pytest.param(
        document(engagement_rules=[{"id": "no-kind", "points": 5}]),
        {
            "engagement_rules[0].kind": [
                "Give either kind (one event kind) or kinds (a list), not both or neither."
            ]
        },
        id="kind-missing",
    ),
    pytest.param(
        document(engagement_rules=[engagement_rule("page_view", cap=-5)]),
        {
            "engagement_rules[0].cap": [
                "-5 is not positive; a cap limits a total to between -cap and cap, so give a "
                "positive number or null for no cap."
            ]
        },
        id="negative-cap",
    ),
    pytest.param(
        document(engagement_rules=[engagement_rule("page_view", url_pattern="*/pricing[1-3]")]),
        {
            "engagement_rules[0].url_pattern": [
                "\"*/pricing[1-3]\" contains '[', but globs here have no character classes; use ? "
                "for one character or * for any text."
            ]
        },
        id="glob-character-class",
    ),
    pytest.param(
        document(engagement_rules=[engagement_rule("cad_download", asset=" *.step")]),
        {
            "engagement_rules[0].asset": [
                '" *.step" starts or ends with white space; remove it or use * for any text.'
            ]
        },
        id="glob-white-space",
    ),
    pytest.param(
        document(engagement_rules=[engagement_rule("email_click", campaign=5)]),
        {
            "engagement_rules[0].campaign": [
                'Expected a glob as text, got 5; use "" to match anything.'
            ]
        },
        id="glob-not-text",
    ),
    pytest.param(
        document(engagement_rules=[engagement_rule(window_days=0, half_life_days="x")]),
        {
            "engagement_rules[0].window_days": [
                "0 is outside 1 to 3650 days; use a value in that range."
            ],
            "engagement_rules[0].half_life_days": [
                '"x" is not a number of days; give a number of days such as 90, or null.'
            ],
        },
        id="bad-window-and-half-life",
    ),
    pytest.param(
        document(engagement_rules=[engagement_rule(window_days=30.5)]),
        {
            "engagement_rules[0].window_days": [
                "30.5 is not a whole number of days; give a whole number of days such as 90, "
                "or null."
            ]
        },
        id="fractional-window",
    ),
    pytest.param(
        document(group_caps={"web": 10}),
        {"group_caps.web": ['No rule is in group "web"; fix the name (groups: none).']},
        id="group-cap-without-rules",
    ),
    pytest.param(
        document(
            group_caps={"web": 10},
            fit_rules=[fit_rule("lead.region", "eq", "europe", group="web")],
            engagement_rules=[engagement_rule(group="web")],
        ),
        {
            "group_caps.web": [
                'Group "web" has fit and engagement rules, so its cap would mix two scores; give '
                "the fit rules or the engagement rules another group."
            ]
        },
        id="group-cap-on-mixed-group",
    ),
    pytest.param(
        document(fit_threshold=50.5, engagement_threshold=-1),
        {
            "fit_threshold": [
                "50.5 is not a whole number; fit scores are integers, so give an integer such as 50."
            ],
            "engagement_threshold": [
                "-1 is not a number of zero or more; give a number such as 40."
            ],
        },
        id="bad-thresholds",
    ),
    pytest.param(
        document(fit_cap=0, engagement_cap="x"),
        {
            "fit_cap": [
                "0 is not positive; a cap limits a total to between -cap and cap, so give a "
                "positive number or null for no cap."
            ],
            "engagement_cap": [
                '"x" is not a number; give the maximum engagement score or null for no cap.'
            ],
        },
        id="bad-total-caps",
    ),
    pytest.param(
        document(fast_track_kinds=["quote"], fast_track_window_days=0),
        {
            "fast_track_kinds[0]": [f'"quote" is not an event kind; use one of {KINDS}.'],
            "fast_track_window_days": ["0 is outside 1 to 3650 days; use a value in that range."],
        },
        id="bad-fast-track",
    ),
    pytest.param(
        document(icp={"segments": "automotive", "colours": []}),
        {
            "icp.colours": [
                "Unknown ICP field; use one of segments, facility_types, regions, "
                "employee_bands, revenue_bands, processes, technologies, job_functions, "
                "seniorities, evaluation."
            ],
            "icp.segments": ['Expected a list of texts, got "automotive".'],
        },
        id="bad-icp",
    ),
]


@pytest.mark.parametrize(("doc", "expected"), INVALID_CASES)
def test_invalid_document_errors_by_path(doc, expected):
    _, errors = validate_document(doc)

    assert errors == expected


def test_errors_from_several_rules_are_all_reported():
    doc = document(
        fit_rules=[
            fit_rule("account.segment", "eq", "automotive", id="ok"),
            fit_rule("account.segment", "between", 5, id="bad-one"),
            fit_rule("account.employee_count", "between", 5, id="bad-two"),
        ]
    )

    _, errors = validate_document(doc)

    assert list(errors) == ["fit_rules[1].op", "fit_rules[2].value"]


def test_window_and_half_life_both_missing_is_valid():
    _, errors = validate_document(document(engagement_rules=[engagement_rule("page_view", 1)]))

    assert errors == {}


def test_normalised_document_fills_defaults():
    normalised, errors = validate_document(
        document(
            fit_rules=[fit_rule("lead.email_opt_out", "is_true", id="opt-out")],
            engagement_rules=[engagement_rule("page_view", 1, id="pages")],
        )
    )

    assert errors == {}
    assert normalised["fit_rules"] == [
        {
            "id": "opt-out",
            "label": "opt-out",
            "group": "",
            "field": "lead.email_opt_out",
            "op": "is_true",
            "value": None,
            "points": 10,
        }
    ]
    assert normalised["engagement_rules"] == [
        {
            "id": "pages",
            "label": "pages",
            "group": "",
            "kind": "page_view",
            "url_pattern": "",
            "asset": "",
            "campaign": "",
            "points": 1,
            "cap": None,
            "window_days": None,
            "half_life_days": None,
        }
    ]
    assert normalised["icp"]["segments"] == []
    assert normalised["fast_track_window_days"] == 90
    assert normalised["notes"] == ""


def test_default_ruleset_is_valid():
    normalised, errors = validate_document(DEFAULT_RULESET)

    assert errors == {}
    assert normalised == DEFAULT_RULESET


def test_compile_invalid_document_raises_with_errors():
    with pytest.raises(InvalidRuleSet) as raised:
        compile_document(document(fit_threshold="high"), version=1)

    assert raised.value.errors == {
        "fit_threshold": [
            '"high" is not a whole number; fit scores are integers, so give an integer such as 50.'
        ]
    }
    assert raised.value.code == "invalid_ruleset"
    assert raised.value.message == (
        'The rule set has 1 error; first, fit_threshold: "high" is not a whole number; fit '
        "scores are integers, so give an integer such as 50."
    )


@pytest.mark.parametrize(
    ("pattern", "python", "postgres"),
    [
        (r"\bvp\b", r"\bvp\b", r"\yvp\y"),
        (r"engineer$", r"engineer\Z", r"engineer$"),
        (r"[$]x", r"[$]x", r"[$]x"),
        (r"\Bing", r"\Bing", r"\Ying"),
        (r"(?:senior|lead) \w+", r"(?:senior|lead) \w+", r"(?:senior|lead) \w+"),
        (r"[]a]", r"[]a]", r"[]a]"),
    ],
)
def test_regex_translation(pattern, python, postgres):
    compiled = compile_regex(pattern)

    assert compiled.regex.pattern == python
    assert compiled.postgres == postgres


@pytest.mark.parametrize(
    ("glob", "like"),
    [("*/pricing*", "%/pricing%"), ("v?/spec", "v_/spec"), ("50%_off", "50\\%\\_off")],
)
def test_glob_translation_to_like(glob, like):
    assert compile_glob(glob).like == like
