import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient, APIRequestFactory

from integrations.permissions import required_scopes_for
from integrations.scopes import SCOPES
from leadflow.roles import MARKETING
from tests.factories import UserFactory
from tests.integrations.demo_api import UnknownScopeView

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.integrations.urls")]

ALL_SCOPES = list(SCOPES)


@pytest.fixture
def user():
    return UserFactory(username="integration-user", roles=[MARKETING])


def test_catalogue_lists_every_scope():
    assert ALL_SCOPES == [
        "events:write",
        "events:read",
        "leads:read",
        "leads:write",
        "accounts:read",
        "accounts:write",
        "rulesets:read",
        "rulesets:write",
        "handoffs:read",
        "handoffs:write",
        "reps:read",
        "reps:write",
        "routing:read",
        "routing:write",
        "reports:read",
        "webhooks:read",
        "webhooks:write",
    ]


@pytest.mark.parametrize("scope", ALL_SCOPES)
def test_scope_allows_what_it_names(scope, user, make_api_key, key_client):
    _, key = make_api_key(user, [scope])

    response = key_client(key).get(f"/demo/probe/{scope}/")

    assert response.status_code == 200


@pytest.mark.parametrize("scope", ALL_SCOPES)
def test_every_other_scope_denied(scope, user, make_api_key, key_client):
    _, key = make_api_key(user, [other for other in ALL_SCOPES if other != scope])

    response = key_client(key).get(f"/demo/probe/{scope}/")

    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"
    assert (
        f"lacks the scope {scope} required for GET /demo/probe/{scope}/"
        in (response.json()["message"])
    )


def test_read_scope_does_not_allow_write(user, make_api_key, key_client):
    _, key = make_api_key(user, ["leads:read"])
    client = key_client(key)

    assert client.get("/demo/leads-rw/").status_code == 200
    assert client.post("/demo/leads-rw/", {}, format="json").status_code == 403


def test_write_scope_does_not_allow_read(user, make_api_key, key_client):
    _, key = make_api_key(user, ["leads:write"])
    client = key_client(key)

    assert client.post("/demo/leads-rw/", {}, format="json").status_code == 201
    assert client.get("/demo/leads-rw/").status_code == 403


def test_view_without_scopes_rejects_keys(user, make_api_key, key_client):
    _, key = make_api_key(user, ALL_SCOPES)

    response = key_client(key).get("/demo/no-scopes/")

    assert response.status_code == 403
    assert response.json()["code"] == "api_key_not_accepted"
    assert response.json()["message"].startswith("GET /demo/no-scopes/ does not accept API keys")


def test_token_user_not_scope_limited(user):
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert client.get("/demo/leads-rw/").status_code == 200
    assert client.post("/demo/leads-rw/", {}, format="json").status_code == 201
    assert client.get("/demo/no-scopes/").status_code == 200


def test_session_user_not_scope_limited(user):
    client = APIClient()
    client.force_login(user)

    assert client.get("/demo/leads-rw/").status_code == 200
    assert client.post("/demo/leads-rw/", {}, format="json").status_code == 201
    assert client.get("/demo/no-scopes/").status_code == 200


def test_head_and_options_use_get_scope(user, make_api_key, key_client):
    _, key = make_api_key(user, ["leads:read"])
    client = key_client(key)

    assert client.head("/demo/leads-rw/").status_code == 200
    assert client.options("/demo/leads-rw/").status_code == 200


def test_unknown_declared_scope_is_configuration_error(user):
    view = UnknownScopeView()
    request = APIRequestFactory().get("/demo/unknown-scope/")

    with pytest.raises(ImproperlyConfigured, match="unknown scope leads:readall"):
        required_scopes_for(view, request)
