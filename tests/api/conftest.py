"""Fixtures of the API tests: token clients per role and request bodies."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integrations.services import api_key_create
from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER
from tests.factories import UserFactory

OCCURRED_AT = "2026-03-01T14:30:00Z"


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hash test passwords cheaply: the permission matrix creates six users per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client_for():
    """Return an API client that authenticates as `user` with a token, as another system would."""

    def build(user):
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return build


@pytest.fixture
def superuser(db):
    user = UserFactory(username="admin", is_superuser=True, is_staff=True)
    return user


@pytest.fixture
def no_role_user(db):
    return UserFactory(username="visitor")


@pytest.fixture
def rep_api(rep, client_for):
    return client_for(rep)


@pytest.fixture
def revops_api(revops, client_for):
    return client_for(revops)


@pytest.fixture
def role_users(db, marketer, rep, sales_manager, revops, superuser, no_role_user):
    """One user per role, plus a superuser and a user without a role, keyed by a short name."""
    return {
        MARKETING: marketer,
        REVOPS: revops,
        SALES_MANAGER: sales_manager,
        SALES: rep,
        "superuser": superuser,
        "no_role": no_role_user,
    }


def event_body(**overrides):
    """A valid page-view event for a lead named by e-mail; keyword arguments replace fields."""
    body = {
        "external_id": "evt-1",
        "kind": "page_view",
        "email": "dana.keller@precision-parts.example",
        "occurred_at": OCCURRED_AT,
        "url": "https://www.precision-parts.example/products/",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


@pytest.fixture
def key_client_for(db):
    """Return an API client sending a new API key that acts as `user` with `scopes`."""

    def build(user, scopes):
        key = api_key_create(name="Test key", user=user, scopes=scopes).key
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return build
