"""Fixtures shared by the whole suite: users per role, API clients, database facts."""

import os

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leadflow.celery import app as celery_app
from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"
# Below pytest-timeout's 300 s: a runaway query is cancelled on the server too. Failing the
# test alone left the query running with its locks, and every later test waited behind it.
STATEMENT_TIMEOUT = "240s"


def _limit_statement_time(sender, connection, **kwargs):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")


connection_created.connect(_limit_statement_time)


def pytest_collection_modifyitems(config, items):
    """Skip PostgreSQL-only and worker tests where those servers are not configured."""
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    has_broker = bool(os.environ.get("CELERY_BROKER_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if "celery_worker" in item.keywords and not (has_broker and on_postgres):
            item.add_marker(
                pytest.mark.skip(
                    reason="needs Redis and PostgreSQL: set CELERY_BROKER_URL and DATABASE_URL"
                )
            )


@pytest.fixture(autouse=True)
def eager_celery(request):
    """Run tasks in the test process, even when CELERY_BROKER_URL points at a real broker.

    A failing task raises into the test, although the project's default only logs it, so
    that task errors fail tests. Tests marked celery_worker keep the broker, because they
    check a real worker.
    """
    if request.node.get_closest_marker("celery_worker"):
        yield
        return
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hash test passwords with MD5: the default PBKDF2 costs most of a view test's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def marketer(db):
    return UserFactory(username="marketer", roles=[MARKETING])


@pytest.fixture
def rep(db):
    return UserFactory(username="rep", roles=[SALES])


@pytest.fixture
def sales_manager(db):
    return UserFactory(username="manager", roles=[SALES_MANAGER])


@pytest.fixture
def revops(db):
    return UserFactory(username="revops", roles=[REVOPS])


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def marketer_api(marketer):
    """An API client authenticated with the marketer's token, as another system would be."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=marketer)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def default_ruleset(db):
    """The published default rule set; transactional tests flush the one the migration wrote."""
    from scoring.defaults import DEFAULT_RULESET
    from scoring.models import RuleSet
    from scoring.services import ruleset_load

    published = RuleSet.objects.filter(status=RuleSet.Status.PUBLISHED).first()
    return published or ruleset_load(document=DEFAULT_RULESET, publish=True)
