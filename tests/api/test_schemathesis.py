"""A Schemathesis run over the whole OpenAPI schema, in process, with an API key holding every scope.

Schemathesis loads /api/schema/ from the WSGI application and generates
requests for every operation: valid ones, and invalid ones that must be
rejected. It sends them to the same application and checks each response for
no 5xx, a documented status code and content type, the documented headers, and
a body that matches the response schema. Requests run inside the test's
transaction, so nothing they write outlives the test.

The test runs in the normal suite, on SQLite and on PostgreSQL, with few
examples; they are derandomized, so every run sends the same requests. For a
deeper run, raise the number of examples per operation and generation mode:

    SCHEMATHESIS_MAX_EXAMPLES=200 pytest tests/api/test_schemathesis.py

A failure prints the request to reproduce it with curl.
"""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from handoff.services import (
    handoff_accept,
    handoff_close,
    handoff_reject,
    handoff_send,
    handoff_settings_get,
    handoff_withdraw,
)
from integrations.scopes import SCOPES
from integrations.services import api_key_create, webhook_sending
from leads.models import LeadStatus
from leads.services import lead_transition
from tests.factories import (
    AccountFactory,
    EngagementEventFactory,
    LeadFactory,
    RepFactory,
    RoutingRuleFactory,
    TerritoryFactory,
    WebhookDeliveryFactory,
)

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


# The schema view reads no database rows, so the schema loads at import, as pytest collects,
# and schemathesis makes one test per operation. NOTE: schemathesis 4.32's from_fixture()
# loader cannot be used instead, because it sets Function._nodeid, which pytest 9.2 lacks.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())


@pytest.fixture(autouse=True)
def shared_connection(settings):
    """Let the WSGI requests share the test's database connection and transaction.

    Django closes the connection at the start and end of each request, which
    inside the test transaction would lose the test's rows, so, as Django's test
    client does, the closing is switched off for the test. The throttle counters
    get a cache of their own.
    """
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"schemathesis-{uuid.uuid4()}",
        }
    }
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(revops):
    """A key acting as a revops user, with every scope and a rate limit the run cannot reach."""
    return api_key_create(
        name="Schemathesis", user=revops, scopes=list(SCOPES), rate_limit="1000000/min"
    ).key


@pytest.fixture
def sample_data(revops, rep):
    """A few rows of each resource, so that generated ids sometimes name an existing one."""
    account = AccountFactory(domain="precision-parts.example", owner=rep)
    leads = [
        LeadFactory(account=account, email=f"engineer{number}@precision-parts.example")
        for number in range(3)
    ]
    LeadFactory(account=None, email=None, source_system="crm", external_id="C-1")
    for lead in leads:
        EngagementEventFactory(lead=lead)
    lead_transition(lead_id=leads[0].pk, to_status=LeadStatus.MQL, actor=revops)
    WebhookDeliveryFactory()
    sample_handoffs(revops)


def sample_handoffs(revops):
    """Handoffs in every state, a queued one, reps and a routing rule, made by the services."""
    settings_row = handoff_settings_get()
    settings_row.required_context_fields = []
    settings_row.save()
    territory = TerritoryFactory(code="europe")
    reps = [RepFactory(capacity=20, territories=[territory]) for _ in range(2)]
    rule = RoutingRuleFactory(name="Europe", regions=["europe"], reps=reps)
    mqls = [
        LeadFactory(status=LeadStatus.MQL, region="europe", first_touch_campaign="spring-expo")
        for _ in range(5)
    ]
    sent = handoff_send(lead_ids=[lead.pk for lead in mqls], actor=revops).created
    handoff_accept(
        handoff_id=sent[0].pk,
        actor=sent[0].rep.user,
        qualification={"confirmed_need": "New line"},
        next_step="Demo",
        next_step_date=timezone.localdate(),
    )
    handoff_close(handoff_id=sent[0].pk, actor=revops, outcome="lost", reason="no_budget")
    handoff_reject(handoff_id=sent[1].pk, actor=revops, reason="bad_timing", note="Next year")
    handoff_withdraw(handoff_id=sent[2].pk, actor=revops)
    rule.is_active = False
    rule.save(update_fields=["is_active"])
    queued = LeadFactory(status=LeadStatus.MQL, region="asia_pacific")
    handoff_send(lead_ids=[queued.pk], actor=revops)


@pytest.fixture
def no_webhook_requests(monkeypatch):
    """Fail any attempt to send a webhook: generated endpoints must never be called."""

    def refuse(url, body, headers):
        raise AssertionError(f"The Schemathesis run tried to send a webhook to {url}.")

    monkeypatch.setattr(webhook_sending, "post_to_receiver", refuse)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db
@pytest.mark.usefixtures("sample_data", "no_webhook_requests")
def test_api_conforms_to_schema(case, api_key):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key}"},
        checks=CHECKS,
        excluded_checks=excluded_checks(case),
    )


def excluded_checks(case):
    # A list of events gets 200 and one result per item, so that valid events are stored
    # beside invalid ones. An invalid item is reported in its result, not with a 400.
    is_event_batch = (
        case.operation.method.upper() == "POST"
        and case.operation.path == "/api/v1/events/"
        and isinstance(case.body, list)
    )
    return [negative_data_rejection] if is_event_batch else []
