"""Deeply nested JSON bodies on the handoff API: 400 in the error shape, never a 500."""

import pytest
from rest_framework.test import APIClient

from handoff import services
from handoff.models import Handoff, HandoffStatus, RoutingRule
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.usefixtures("handoff_settings")

TOO_DEEP_MESSAGE = (
    "JSON parse error - the document is nested too deeply to read. Send objects and lists "
    "nested at most a few levels."
)
# Past Python's recursion limit, past orjson's limit of 254 levels, and below both.
DEPTHS = [10_000, 900, 300]


def nested(depth):
    return "[" * depth + "]" * depth


@pytest.fixture
def admin_api(db):
    client = APIClient()
    client.force_authenticate(UserFactory(username="root", is_superuser=True))
    return client


@pytest.fixture
def pending(team):
    return services.handoff_send(lead_ids=[LeadFactory(status="mql").pk]).created[0]


def write_requests(handoff, rep, rule):
    """(method, path, body template) of each write endpoint; %s is the nested value."""
    return [
        ("post", "/api/v1/handoffs/send/", '{"lead_ids": %s}'),
        ("post", f"/api/v1/handoffs/{handoff.pk}/accept/", '{"confirmed_need": %s}'),
        ("post", f"/api/v1/handoffs/{handoff.pk}/reject/", '{"reason": "duplicate", "note": %s}'),
        ("post", f"/api/v1/handoffs/{handoff.pk}/close/", '{"outcome": %s}'),
        ("post", f"/api/v1/handoffs/{handoff.pk}/withdraw/", '{"note": %s}'),
        ("post", f"/api/v1/handoffs/{handoff.pk}/reassign/", '{"to_rep": %s}'),
        ("patch", f"/api/v1/reps/{rep.pk}/", '{"segments": %s}'),
        ("put", f"/api/v1/reps/{rep.pk}/", '{"territories": %s}'),
        ("post", "/api/v1/routing-rules/", '{"name": "Deep", "regions": %s}'),
        ("patch", f"/api/v1/routing-rules/{rule.pk}/", '{"reps": %s}'),
        ("post", "/api/v1/routing-rules/dry-run/", '{"lead_id": %s}'),
    ]


@pytest.mark.parametrize("idempotency_key", [None, "deep-1"], ids=["plain", "idempotent"])
@pytest.mark.parametrize("depth", DEPTHS)
def test_nested_body_is_400_everywhere(admin_api, team, pending, depth, idempotency_key):
    reps, rule = team
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}

    for method, path, template in write_requests(pending, reps[0], rule):
        body = template % nested(depth)
        response = getattr(admin_api, method)(
            path, body, content_type="application/json", **headers
        )

        assert response.status_code == 400, (method, path, response.content[:200])
        payload = response.json()
        assert set(payload) == {"code", "message", "fields"}, (method, path)
        if depth == 10_000:
            assert payload["code"] == "parse_error", (method, path)
            assert payload["message"] == TOO_DEEP_MESSAGE, (method, path)
        else:
            assert payload["code"] == "invalid", (method, path)
            assert payload["fields"], (method, path)

    pending.refresh_from_db()
    assert pending.status == HandoffStatus.PENDING
    assert Handoff.objects.count() == 1
    assert RoutingRule.objects.count() == 1
