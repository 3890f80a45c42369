"""The API key scope each endpoint requires: that scope alone suffices, every other scope does not."""

import pytest

from integrations.scopes import SCOPES
from leads.models import Account, Lead
from tests.factories import AccountFactory, EngagementEventFactory, LeadFactory

pytestmark = pytest.mark.django_db

# (method, path, body, success status, scope). Paths name the fixture's rows.
ENDPOINTS = {
    "leads-list": ("get", "/api/v1/leads/", None, 200, "leads:read"),
    "lead-score": ("get", "/api/v1/leads/{lead}/score/", None, 200, "leads:read"),
    "lead-events": ("get", "/api/v1/leads/{lead}/events/", None, 200, "events:read"),
    "lead-by-email": (
        "put",
        "/api/v1/leads/by-email/dana@cast-works.example/",
        {"city": "Ulm"},
        201,
        "leads:write",
    ),
    "lead-by-external-id": (
        "put",
        "/api/v1/leads/by-external-id/crm/C-1/",
        {"city": "Ulm"},
        201,
        "leads:write",
    ),
    "events-list": ("get", "/api/v1/events/", None, 200, "events:read"),
    "event-detail": ("get", "/api/v1/events/{event}/", None, 200, "events:read"),
    "accounts-list": ("get", "/api/v1/accounts/", None, 200, "accounts:read"),
    "account-detail": ("get", "/api/v1/accounts/{account}/", None, 200, "accounts:read"),
    "account-create": ("post", "/api/v1/accounts/", {"name": "Cast Works"}, 201, "accounts:write"),
    "account-edit": (
        "patch",
        "/api/v1/accounts/{account}/",
        {"city": "Ulm"},
        200,
        "accounts:write",
    ),
    "account-link-leads": (
        "post",
        "/api/v1/accounts/{account}/link-leads/",
        None,
        200,
        "accounts:write",
    ),
    "account-leads": ("get", "/api/v1/accounts/{account}/leads/", None, 200, "leads:read"),
    "funnel": ("get", "/api/v1/reports/funnel/", None, 200, "reports:read"),
}


@pytest.fixture
def event():
    """One event, of one lead, of one account: the rows the paths name."""
    return EngagementEventFactory()


def call(client, endpoint, event):
    method, path, body, _, _ = ENDPOINTS[endpoint]
    url = path.format(lead=event.lead_id, event=event.pk, account=event.lead.account_id)
    return getattr(client, method)(url, body, format="json")


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_scope_alone_suffices(key_client_for, revops, event, endpoint):
    _, _, _, success, scope = ENDPOINTS[endpoint]

    response = call(key_client_for(revops, [scope]), endpoint, event)

    assert response.status_code == success, response.json()


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_every_other_scope_denied(key_client_for, revops, event, endpoint):
    method, _, _, _, scope = ENDPOINTS[endpoint]
    client = key_client_for(revops, [other for other in SCOPES if other != scope])

    response = call(client, endpoint, event)

    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"
    assert f"lacks the scope {scope} required for {method.upper()} " in response.json()["message"]
    assert Account.objects.count() == 1
    assert Lead.objects.count() == 1
    assert Lead.objects.get().city == ""


def test_key_user_roles_still_apply(key_client_for, rep):
    account = AccountFactory()
    LeadFactory(account=account)

    response = key_client_for(rep, list(SCOPES)).post(f"/api/v1/accounts/{account.pk}/link-leads/")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
