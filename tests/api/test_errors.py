"""Every API error, whatever raised it, has the body {"code", "message", "fields"}."""

import pytest
from rest_framework.test import APIClient

from leads.api import leads as lead_api
from leads.models import EngagementEvent, Lead
from tests.factories import AccountFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_401_without_credentials_names_scheme():
    response = APIClient().get("/api/v1/leads/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
        "fields": {},
    }


def test_401_with_unknown_token():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")

    response = client.get("/api/v1/leads/")

    assert response.status_code == 401
    assert response.json() == {
        "code": "authentication_failed",
        "message": "Invalid token.",
        "fields": {},
    }


def test_403_session_post_without_csrf_token(marketer):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(marketer)

    response = client.post("/api/v1/leads/", {"email": "dana@example.com"}, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "message": "CSRF Failed: CSRF cookie not set.",
        "fields": {},
    }
    assert Lead.objects.count() == 0


@pytest.mark.parametrize("path", ["/api/v1/nothing/", "/api/v1/leads/abc/", "/api/v2/leads/"])
def test_404_unknown_api_path(marketer_api, path):
    response = marketer_api.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "not_found",
        "message": f"No API resource at {path}.",
        "fields": {},
    }


def test_404_page_beyond_last(marketer_api):
    AccountFactory()

    response = marketer_api.get("/api/v1/accounts/?page=5")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Invalid page.", "fields": {}}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/leads/{lead}/"),
        ("put", "/api/v1/leads/{lead}/"),
        ("delete", "/api/v1/events/"),
        ("get", "/api/v1/leads/{lead}/transition/"),
    ],
)
def test_405_method_not_allowed(marketer_api, method, path):
    lead = LeadFactory()

    response = getattr(marketer_api, method)(path.format(lead=lead.pk))

    assert response.status_code == 405
    assert response.json() == {
        "code": "method_not_allowed",
        "message": f'Method "{method.upper()}" not allowed.',
        "fields": {},
    }
    assert Lead.objects.filter(pk=lead.pk).exists()


@pytest.mark.parametrize("path", ["/api/v1/events/", "/api/v1/leads/"])
def test_400_malformed_json(marketer_api, path):
    response = marketer_api.post(path, '[{"kind": "page_view",]', content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "parse_error",
        "message": "JSON parse error - Expecting property name enclosed in double quotes: "
        "line 1 column 23 (char 22). "
        "Send a valid JSON document; check quotes, commas and brackets.",
        "fields": {},
    }
    assert EngagementEvent.objects.count() == 0
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [("text/plain", "kind=page_view"), ("application/x-www-form-urlencoded", "kind=page_view")],
)
def test_415_unsupported_media_type(marketer_api, content_type, raw):
    response = marketer_api.post("/api/v1/events/", raw, content_type=content_type)

    assert response.status_code == 415
    assert response.json() == {
        "code": "unsupported_media_type",
        "message": f'Unsupported media type "{content_type}" in request. '
        "Send the body as JSON with Content-Type: application/json.",
        "fields": {},
    }
    assert EngagementEvent.objects.count() == 0


def test_500_unexpected_error(marketer_api, monkeypatch, caplog):
    def broken_selector(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(lead_api, "leads_visible_to", broken_selector)

    response = marketer_api.get("/api/v1/leads/")

    assert response.status_code == 500
    assert response.json() == {
        "code": "server_error",
        "message": "The server failed to process the request; it has been logged.",
        "fields": {},
    }
    assert "Unhandled error in API view LeadViewSet" in caplog.text


@pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
def test_404_unsafe_method_json(marketer, method):
    # A session client with CSRF checks, as a browser; an unknown path is still the JSON 404.
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(marketer)

    response = getattr(client, method)("/api/v1/leads/abc/", {}, format="json")

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "No API resource at /api/v1/leads/abc/.",
        "fields": {},
    }


def test_400_nested_field_errors_flattened_to_paths(marketer_api):
    response = marketer_api.post(
        "/api/v1/accounts/", {"name": "X", "processes": ["cnc", ""]}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "processes.1: This field may not be blank.",
        "fields": {"processes.1": ["This field may not be blank."]},
    }


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/leads/",
        "/api/v1/leads/by-email/dana@precision-parts.example/",
        "/api/v1/accounts/1/link-leads/",
        "/api/v1/webhooks/999999/",
    ],
)
def test_options_describes_view_without_loading_objects(revops_api, path):
    response = revops_api.options(path)

    assert response.status_code == 200
    assert "actions" not in response.json()
