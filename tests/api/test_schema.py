"""The OpenAPI schema: generated without warnings, valid, and documenting every error response."""

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    # Generated once for the module: each generation takes about a second.
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    # --fail-on-warn raises on any warning of drf-spectacular; --validate checks OpenAPI 3.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_schema_documents_endpoints(schema):
    found = {
        (path, method) for path, method, _ in operations(schema) if path.startswith("/api/v1/")
    }

    assert {
        ("/api/v1/events/", "post"),
        ("/api/v1/leads/", "get"),
        ("/api/v1/leads/", "post"),
        ("/api/v1/leads/{id}/", "get"),
        ("/api/v1/leads/{id}/", "patch"),
        ("/api/v1/leads/{id}/transition/", "post"),
        ("/api/v1/leads/{id}/events/", "get"),
        ("/api/v1/leads/{id}/score/", "get"),
        ("/api/v1/leads/by-email/{email}/", "put"),
        ("/api/v1/leads/by-external-id/{source_system}/{external_id}/", "put"),
        ("/api/v1/events/", "get"),
        ("/api/v1/events/{id}/", "get"),
        ("/api/v1/accounts/", "get"),
        ("/api/v1/accounts/", "post"),
        ("/api/v1/accounts/{id}/", "get"),
        ("/api/v1/accounts/{id}/", "patch"),
        ("/api/v1/accounts/{id}/leads/", "get"),
        ("/api/v1/accounts/{id}/link-leads/", "post"),
        ("/api/v1/reports/funnel/", "get"),
        ("/api/v1/reports/handoff-feedback/", "get"),
        ("/api/v1/handoffs/", "get"),
        ("/api/v1/handoffs/{id}/", "get"),
        ("/api/v1/handoffs/{id}/events/", "get"),
        ("/api/v1/handoffs/send/", "post"),
        ("/api/v1/handoffs/{id}/accept/", "post"),
        ("/api/v1/handoffs/{id}/reject/", "post"),
        ("/api/v1/handoffs/{id}/close/", "post"),
        ("/api/v1/handoffs/{id}/withdraw/", "post"),
        ("/api/v1/handoffs/{id}/reassign/", "post"),
        ("/api/v1/reps/", "get"),
        ("/api/v1/reps/{id}/", "patch"),
        ("/api/v1/routing-rules/", "post"),
        ("/api/v1/routing-rules/{id}/", "delete"),
        ("/api/v1/routing-rules/dry-run/", "post"),
    } <= found


def test_schema_every_error_uses_error_shape(schema):
    for path, method, operation in operations(schema):
        if not path.startswith("/api/v1/"):
            continue
        responses = operation["responses"]
        assert "401" in responses, (path, method)
        assert "403" in responses, (path, method)
        for code, response in responses.items():
            if int(code) >= 400:
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }, (path, method, code)


def test_schema_event_ingest_status_codes(schema):
    responses = schema["paths"]["/api/v1/events/"]["post"]["responses"]

    assert sorted(responses) == [
        "200",
        "201",
        "400",
        "401",
        "403",
        "409",
        "413",
        "415",
        "422",
        "429",
    ]


def test_schema_transition_documents_conflict(schema):
    responses = schema["paths"]["/api/v1/leads/{id}/transition/"]["post"]["responses"]

    assert "409" in responses


def list_operations(schema):
    for path, method, operation in operations(schema):
        if method == "get" and "200" in operation["responses"]:
            body = operation["responses"]["200"]["content"]["application/json"]["schema"]
            if body.get("$ref", "").split("/")[-1].startswith("Paginated"):
                yield path, operation


def test_schema_every_list_documents_400(schema):
    lists = dict(list_operations(schema))

    assert sorted(lists) == [
        "/api/v1/accounts/",
        "/api/v1/accounts/{id}/leads/",
        "/api/v1/api-keys/",
        "/api/v1/events/",
        "/api/v1/handoffs/",
        "/api/v1/leads/",
        "/api/v1/leads/{id}/events/",
        "/api/v1/reps/",
        "/api/v1/routing-rules/",
        "/api/v1/rulesets/",
        "/api/v1/webhook-deliveries/",
        "/api/v1/webhooks/",
    ]
    for path, operation in lists.items():
        assert "400" in operation["responses"], path


@pytest.mark.parametrize(
    ("path", "parameters"),
    [
        ("/api/v1/leads/", {"cursor", "page_size", "ordering"}),
        ("/api/v1/events/", {"cursor", "page_size", "ordering"}),
        ("/api/v1/leads/{id}/events/", {"cursor", "page_size", "ordering"}),
        ("/api/v1/accounts/", {"page", "page_size", "ordering", "search"}),
        ("/api/v1/handoffs/", {"cursor", "page_size", "ordering"}),
        ("/api/v1/reps/", {"page", "page_size", "ordering"}),
        ("/api/v1/routing-rules/", {"page", "page_size", "ordering"}),
    ],
)
def test_schema_pagination_parameters(schema, path, parameters):
    names = {parameter["name"] for parameter in schema["paths"][path]["get"]["parameters"]}

    assert parameters <= names
    assert not {"page", "cursor"} - parameters & names


def test_schema_lead_ordering_is_cursor_orderings(schema):
    parameters = schema["paths"]["/api/v1/leads/"]["get"]["parameters"]
    ordering = next(parameter for parameter in parameters if parameter["name"] == "ordering")

    assert ordering["schema"]["enum"] == [
        "created_at",
        "-created_at",
        "updated_at",
        "-updated_at",
        "fit_score",
        "-fit_score",
        "engagement_score",
        "-engagement_score",
        "id",
        "-id",
    ]


def test_schema_every_post_and_upsert_takes_idempotency_key(schema):
    for path, method, operation in operations(schema):
        if method == "post" or (method == "put" and "/by-" in path):
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            assert "Idempotency-Key" in names, (path, method)
            assert {"409", "422"} <= set(operation["responses"]), (path, method)


def test_schema_text_query_parameters_non_empty(schema):
    parameters = schema["paths"]["/api/v1/leads/"]["get"]["parameters"]
    region = next(parameter for parameter in parameters if parameter["name"] == "region")

    assert region["schema"] == {"type": "string", "minLength": 1}


def test_schema_handoff_allows_queue_and_blank_reasons(schema):
    handoff = schema["components"]["schemas"]["Handoff"]["properties"]
    blank = {"$ref": "#/components/schemas/BlankEnum"}

    assert handoff["rep"]["nullable"] is True
    assert handoff["technical_expert"]["nullable"] is True
    assert handoff["routing_rule"]["nullable"] is True
    assert handoff["reject_reason"]["oneOf"][1] == blank
    assert handoff["outcome"]["oneOf"][1] == blank
    assert handoff["outcome_reason"]["oneOf"][1] == blank
    assert schema["components"]["schemas"]["BlankEnum"] == {"enum": [""]}


def test_schema_handoff_trail_is_one_array(schema):
    operation = schema["paths"]["/api/v1/handoffs/{id}/events/"]["get"]
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]

    assert body == {"type": "array", "items": {"$ref": "#/components/schemas/HandoffEvent"}}
    assert [parameter["name"] for parameter in operation["parameters"]] == ["id"]
    assert "400" in operation["responses"]
