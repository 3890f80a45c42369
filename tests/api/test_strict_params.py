"""Every list rejects query parameters it does not read, bad orderings and malformed paging."""

import pytest

from integrations.checks import check_api_lists_strict
from leads.models import Lead
from tests.factories import AccountFactory, EngagementEventFactory, LeadFactory

pytestmark = pytest.mark.django_db

LEAD_LIST_PARAMS = (
    "account, campaign, created_after, created_before, cursor, engagement_score_max, "
    "engagement_score_min, first_touch_source, fit_score_max, fit_score_min, format, "
    "has_email, has_owner, ordering, owner, page_size, region, score_stale, segment, source, "
    "status, updated_after, updated_before"
)
LIST_PATHS = [
    "/api/v1/leads/",
    "/api/v1/leads/{lead}/events/",
    "/api/v1/events/",
    "/api/v1/accounts/",
    "/api/v1/accounts/{account}/leads/",
    "/api/v1/api-keys/",
    "/api/v1/webhooks/",
    "/api/v1/webhook-deliveries/",
    "/api/v1/reports/funnel/",
    "/api/v1/reports/handoff-feedback/",
    "/api/v1/handoffs/",
    "/api/v1/reps/",
    "/api/v1/routing-rules/",
]


@pytest.fixture
def lead():
    return LeadFactory()


def path_for(template, lead):
    return template.format(lead=lead.pk, account=lead.account_id)


def test_unknown_parameter_names_it_and_lists_accepted(marketer_api):
    response = marketer_api.get("/api/v1/leads/?stauts=mql")

    assert response.status_code == 400
    assert response.json() == {
        "code": "unknown_query_parameter",
        "message": "Unknown query parameter stauts for GET /api/v1/leads/; it accepts: "
        f"{LEAD_LIST_PARAMS}.",
        "fields": {"stauts": [f"Unknown query parameter; use one of: {LEAD_LIST_PARAMS}."]},
    }


@pytest.mark.parametrize("template", LIST_PATHS)
def test_unknown_parameter_rejected_on_every_list(revops_api, lead, template):
    response = revops_api.get(path_for(template, lead) + "?colour=red&size=2")

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_query_parameter"
    assert sorted(response.json()["fields"]) == ["colour", "size"]


@pytest.mark.parametrize(
    ("template", "param"),
    [
        ("/api/v1/leads/", "page"),
        ("/api/v1/events/", "page"),
        ("/api/v1/leads/{lead}/events/", "page"),
        ("/api/v1/accounts/", "cursor"),
        ("/api/v1/api-keys/", "cursor"),
        ("/api/v1/handoffs/", "page"),
        ("/api/v1/reps/", "cursor"),
        ("/api/v1/routing-rules/", "cursor"),
    ],
    ids=[
        "leads-page",
        "events-page",
        "lead-events-page",
        "accounts-cursor",
        "keys-cursor",
        "handoffs-page",
        "reps-cursor",
        "rules-cursor",
    ],
)
def test_pagination_parameter_of_other_kind_rejected(revops_api, lead, template, param):
    response = revops_api.get(f"{path_for(template, lead)}?{param}=1")

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_query_parameter"
    assert list(response.json()["fields"]) == [param]


def test_search_unknown_where_view_has_no_search(revops_api):
    response = revops_api.get("/api/v1/leads/?search=dana")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["search"]


def test_lead_filter_rejected_on_lead_events(marketer_api, lead):
    response = marketer_api.get(f"/api/v1/leads/{lead.pk}/events/?status=mql")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["status"]


def test_event_lead_filter_known_only_on_event_list(marketer_api, lead):
    across = marketer_api.get(f"/api/v1/events/?lead={lead.pk}")
    of_lead = marketer_api.get(f"/api/v1/leads/{lead.pk}/events/?lead={lead.pk}")

    assert across.status_code == 200
    assert of_lead.status_code == 400
    assert list(of_lead.json()["fields"]) == ["lead"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "ordering=email",
            "Unknown ordering field 'email'. Use one of: created_at, -created_at, updated_at, "
            "-updated_at, fit_score, -fit_score, engagement_score, -engagement_score, id, -id.",
        ),
        (
            "ordering=-status_changed_at",
            "Unknown ordering field '-status_changed_at'. Use one of: created_at, -created_at, "
            "updated_at, -updated_at, fit_score, -fit_score, engagement_score, "
            "-engagement_score, id, -id.",
        ),
        (
            "ordering=fit_score,id",
            "Sort by one field only; ties are broken by id. Use one of: created_at, "
            "-created_at, updated_at, -updated_at, fit_score, -fit_score, engagement_score, "
            "-engagement_score, id, -id.",
        ),
    ],
    ids=["unknown", "nullable", "two-fields"],
)
def test_bad_ordering_rejected_naming_it(marketer_api, query, message):
    response = marketer_api.get(f"/api/v1/leads/?{query}")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_ordering",
        "message": message,
        "fields": {"ordering": [message]},
    }


def test_ordering_unknown_where_view_has_none(revops_api):
    response = revops_api.get("/api/v1/webhooks/?ordering=id")

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_query_parameter"
    assert list(response.json()["fields"]) == ["ordering"]


def test_ordering_on_page_list(marketer_api):
    small = AccountFactory(employee_count=10)
    large = AccountFactory(employee_count=5000)

    response = marketer_api.get("/api/v1/accounts/?ordering=-employee_count")

    assert [row["id"] for row in response.json()["results"]] == [large.pk, small.pk]


def test_repeated_single_value_parameter_rejected(marketer_api):
    response = marketer_api.get("/api/v1/leads/?region=europe&region=asia")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_query_parameter",
        "message": "Query parameter region is invalid. Sent 2 times; send it once.",
        "fields": {"region": ["Sent 2 times; send it once."]},
    }


def test_repeated_multiple_choice_parameter_accepted(marketer_api):
    new = LeadFactory(status=Lead.Status.NEW)
    mql = LeadFactory(status=Lead.Status.MQL)
    LeadFactory(status=Lead.Status.SQL)

    response = marketer_api.get("/api/v1/leads/?status=new&status=mql&ordering=id")

    assert [row["id"] for row in response.json()["results"]] == [new.pk, mql.pk]


@pytest.mark.parametrize(
    ("query", "name", "message"),
    [
        ("region=", "region", "Empty; send a value, or leave the parameter out."),
        ("region=%00eu", "region", "Contains a NUL character; remove it."),
        ("page_size=0", "page_size", "page_size must be a whole number from 1 to 200, not '0'."),
        (
            "page_size=201",
            "page_size",
            "page_size must be a whole number from 1 to 200, not '201'.",
        ),
        (
            "page_size=ten",
            "page_size",
            "page_size must be a whole number from 1 to 200, not 'ten'.",
        ),
    ],
    ids=["empty", "nul", "page-size-zero", "page-size-over", "page-size-text"],
)
def test_malformed_value_rejected(marketer_api, query, name, message):
    response = marketer_api.get(f"/api/v1/leads/?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_query_parameter"
    assert response.json()["fields"] == {name: [message]}


@pytest.mark.parametrize("page", ["0", "-1", "two"])
def test_malformed_page_number_rejected(marketer_api, page):
    response = marketer_api.get(f"/api/v1/accounts/?page={page}")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "page": [f"page must be a whole number from 1, not {page!r}."]
    }


def test_page_past_last_not_found(marketer_api):
    AccountFactory()

    response = marketer_api.get("/api/v1/accounts/?page=2")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("revoked=maybe", {"revoked": ["'maybe' is not a boolean; send true or false."]}),
        (
            "user=1.5",
            {"user": ["Select a valid choice. That choice is not one of the available choices."]},
        ),
    ],
    ids=["boolean", "user"],
)
def test_integration_list_filter_values_strict(revops_api, query, fields):
    response = revops_api.get(f"/api/v1/api-keys/?{query}")

    assert response.status_code == 400
    assert response.json()["fields"] == fields


def test_delivery_event_id_must_be_canonical_uuid(revops_api):
    response = revops_api.get(
        "/api/v1/webhook-deliveries/?event_id=0b8c6f0e3f5e4d4e9a554c2b0f0d7a11"
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["event_id"]


def test_format_parameter_accepted(marketer_api):
    EngagementEventFactory()

    response = marketer_api.get("/api/v1/events/?format=json")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


@pytest.mark.urls("tests.api.strict_urls")
def test_extra_query_param_declared_by_view_accepted(marketer_api):
    LeadFactory()

    accepted = marketer_api.get("/extra/?include_archived=true")
    unknown = marketer_api.get("/extra/?include_deleted=true")

    assert accepted.status_code == 200
    assert unknown.status_code == 400
    assert unknown.json()["fields"] == {
        "include_deleted": [
            "Unknown query parameter; use one of: format, include_archived, page, page_size."
        ]
    }


def test_project_lists_pass_strict_check():
    assert check_api_lists_strict() == []


def test_list_without_strict_backend_reported():
    errors = check_api_lists_strict(urlconf="tests.api.strict_urls")

    assert [(error.id, error.msg) for error in errors] == [
        (
            "integrations.E003",
            "LooseLeadList at /loose/ lists rows but does not reject unknown query parameters.",
        )
    ]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/events/?occurred_after=%25Y", "occurred_after"),
        ("/api/v1/leads/?has_email=100%25", "has_email"),
        ("/api/v1/webhook-deliveries/?event_id=%25s", "event_id"),
    ],
    ids=["time", "boolean", "uuid"],
)
def test_invalid_value_with_percent_sign_rejected(revops_api, path, name):
    response = revops_api.get(path)

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [name]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/leads/", "owner"),
        ("/api/v1/leads/", "account"),
        ("/api/v1/events/", "lead"),
        ("/api/v1/accounts/", "owner"),
    ],
)
@pytest.mark.parametrize("value", [str(2**63), str(-(2**63) - 1), "9" * 30])
def test_id_filter_beyond_bigint_rejected(marketer_api, path, name, value):
    response = marketer_api.get(path, {name: value})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [name]
