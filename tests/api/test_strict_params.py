"""Lists reject query parameters they do not read, and malformed filter and paging values."""

import pytest

from integrations.checks import check_api_lists_strict
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

INTEGRATION_LISTS = ["/api/v1/api-keys/", "/api/v1/webhooks/", "/api/v1/webhook-deliveries/"]


@pytest.mark.parametrize("path", ["/api/v1/leads/", *INTEGRATION_LISTS])
def test_unknown_parameter_rejected_on_every_list(revops_api, path):
    response = revops_api.get(f"{path}?colour=red&size=2")

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_query_parameter"
    assert sorted(response.json()["fields"]) == ["colour", "size"]


def test_unknown_parameter_names_it_and_lists_accepted(revops_api):
    response = revops_api.get("/api/v1/webhooks/?is_actve=true")

    accepted = "format, is_active, page, page_size"
    assert response.status_code == 400
    assert response.json() == {
        "code": "unknown_query_parameter",
        "message": "Unknown query parameter is_actve for GET /api/v1/webhooks/; it accepts: "
        f"{accepted}.",
        "fields": {"is_actve": [f"Unknown query parameter; use one of: {accepted}."]},
    }


def test_ordering_unknown_where_view_has_none(revops_api):
    response = revops_api.get("/api/v1/webhooks/?ordering=id")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["ordering"]


def test_repeated_single_value_parameter_rejected(revops_api):
    response = revops_api.get("/api/v1/webhooks/?is_active=true&is_active=false")

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_query_parameter",
        "message": "Query parameter is_active is invalid. Sent 2 times; send it once.",
        "fields": {"is_active": ["Sent 2 times; send it once."]},
    }


@pytest.mark.parametrize(
    ("query", "name", "message"),
    [
        ("event_type=", "event_type", "Empty; send a value, or leave the parameter out."),
        ("event_type=lead%00", "event_type", "Contains a NUL character; remove it."),
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
def test_malformed_value_rejected(revops_api, query, name, message):
    response = revops_api.get(f"/api/v1/webhook-deliveries/?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_query_parameter"
    assert response.json()["fields"] == {name: [message]}


@pytest.mark.parametrize("page", ["0", "-1", "two"])
def test_malformed_page_number_rejected(revops_api, page):
    response = revops_api.get(f"/api/v1/api-keys/?page={page}")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "page": [f"page must be a whole number from 1, not {page!r}."]
    }


def test_page_past_last_not_found(revops_api):
    response = revops_api.get("/api/v1/api-keys/?page=2")

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
