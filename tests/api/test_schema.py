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


def test_schema_every_post_takes_idempotency_key(schema):
    for path, method, operation in operations(schema):
        if method == "post":
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            assert "Idempotency-Key" in names, (path, method)
            assert {"409", "422"} <= set(operation["responses"]), (path, method)
