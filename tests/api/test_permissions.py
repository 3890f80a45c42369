"""Who may call which endpoint, and which leads a sales rep can read."""

import pytest
from rest_framework.test import APIClient

from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER
from leads.models import EngagementEvent, Lead, LeadStatus, StatusChange
from tests.api.conftest import event_body
from tests.factories import EngagementEventFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = [MARKETING, REVOPS, SALES_MANAGER, SALES, "superuser", "no_role"]


def call(client, endpoint, lead):
    """Send the request of `endpoint` about `lead`; return the response."""
    method, path, body = ENDPOINTS[endpoint]
    url = path.format(lead=lead.pk, account=lead.account_id)
    return getattr(client, method)(url, body, format="json")


ENDPOINTS = {
    "events-post": ("post", "/api/v1/events/", event_body()),
    "leads-list": ("get", "/api/v1/leads/", None),
    "leads-detail": ("get", "/api/v1/leads/{lead}/", None),
    "leads-create": ("post", "/api/v1/leads/", {"email": "new@precision-parts.example"}),
    "leads-edit": ("patch", "/api/v1/leads/{lead}/", {"city": "Ulm"}),
    "leads-transition": ("post", "/api/v1/leads/{lead}/transition/", {"to_status": "won"}),
    "lead-events": ("get", "/api/v1/leads/{lead}/events/", None),
    "lead-score": ("get", "/api/v1/leads/{lead}/score/", None),
    "lead-by-email": ("put", "/api/v1/leads/by-email/new@precision-parts.example/", {}),
    "events-list": ("get", "/api/v1/events/", None),
    "accounts-list": ("get", "/api/v1/accounts/", None),
    "account-detail": ("get", "/api/v1/accounts/{account}/", None),
    "account-create": ("post", "/api/v1/accounts/", {"name": "Cast Works"}),
    "account-edit": ("patch", "/api/v1/accounts/{account}/", {"city": "Ulm"}),
    "account-link-leads": ("post", "/api/v1/accounts/{account}/link-leads/", None),
    "account-leads": ("get", "/api/v1/accounts/{account}/leads/", None),
    "funnel": ("get", "/api/v1/reports/funnel/", None),
}

# Roles allowed per endpoint, with the status code of success. The rep owns the lead.
ALLOWED = {
    "events-post": ({MARKETING, REVOPS, "superuser"}, 201),
    "leads-list": ({MARKETING, REVOPS, SALES_MANAGER, SALES, "superuser"}, 200),
    "leads-detail": ({MARKETING, REVOPS, SALES_MANAGER, SALES, "superuser"}, 200),
    "leads-create": ({MARKETING, REVOPS, "superuser"}, 201),
    "leads-edit": ({MARKETING, REVOPS, "superuser"}, 200),
    "leads-transition": ({MARKETING, REVOPS, SALES_MANAGER, SALES, "superuser"}, 200),
    "lead-events": ({MARKETING, REVOPS, SALES_MANAGER, SALES, "superuser"}, 200),
    "lead-score": ({MARKETING, REVOPS, SALES_MANAGER, SALES, "superuser"}, 200),
    "lead-by-email": ({MARKETING, REVOPS, "superuser"}, 201),
    "events-list": ({MARKETING, REVOPS, SALES_MANAGER, SALES, "superuser"}, 200),
    "accounts-list": ({MARKETING, REVOPS, SALES_MANAGER, SALES, "superuser"}, 200),
    "account-detail": ({MARKETING, REVOPS, SALES_MANAGER, SALES, "superuser"}, 200),
    "account-create": ({MARKETING, REVOPS, "superuser"}, 201),
    "account-edit": ({MARKETING, REVOPS, "superuser"}, 200),
    "account-link-leads": ({MARKETING, REVOPS, "superuser"}, 200),
    "account-leads": ({MARKETING, REVOPS, SALES_MANAGER, SALES, "superuser"}, 200),
    "funnel": ({MARKETING, REVOPS, SALES_MANAGER, "superuser"}, 200),
}

REQUIRED_ROLES_TEXT = {
    "events-post": "marketing, revops",
    "leads-list": "marketing, revops, sales_manager, sales",
    "leads-detail": "marketing, revops, sales_manager, sales",
    "leads-create": "marketing, revops",
    "leads-edit": "marketing, revops",
    "leads-transition": "marketing, revops, sales_manager, sales",
    "lead-events": "marketing, revops, sales_manager, sales",
    "lead-score": "marketing, revops, sales_manager, sales",
    "lead-by-email": "marketing, revops",
    "events-list": "marketing, revops, sales_manager, sales",
    "accounts-list": "marketing, revops, sales_manager, sales",
    "account-detail": "marketing, revops, sales_manager, sales",
    "account-create": "marketing, revops",
    "account-edit": "marketing, revops",
    "account-link-leads": "marketing, revops",
    "account-leads": "marketing, revops, sales_manager, sales",
    "funnel": "marketing, revops, sales_manager",
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_permission_matrix(client_for, role_users, endpoint, role):
    lead = LeadFactory(owner=role_users[SALES], status=LeadStatus.SQL)
    allowed, success_status = ALLOWED[endpoint]

    response = call(client_for(role_users[role]), endpoint, lead)

    if role in allowed:
        assert response.status_code == success_status, response.json()
    else:
        assert response.status_code == 403
        assert response.json() == {
            "code": "permission_denied",
            "message": f"This action needs one of the roles {REQUIRED_ROLES_TEXT[endpoint]}; "
            "ask an administrator to add your user to one of these groups.",
            "fields": {},
        }


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_anonymous_gets_401(db, endpoint):
    lead = LeadFactory()

    response = call(APIClient(), endpoint, lead)

    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
        "fields": {},
    }


def test_denied_event_post_stores_nothing(client_for, rep):
    response = client_for(rep).post("/api/v1/events/", event_body(), format="json")

    assert response.status_code == 403
    assert EngagementEvent.objects.count() == 0
    assert Lead.objects.count() == 0


def test_session_login_reads_leads(marketer):
    LeadFactory()
    client = APIClient()
    client.force_login(marketer)

    response = client.get("/api/v1/leads/")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


# Object scoping of sales reps


def test_rep_lists_only_owned_leads(rep_api, rep):
    owned = LeadFactory(owner=rep)
    LeadFactory(owner=UserFactory(username="other-rep", roles=[SALES]))
    LeadFactory(owner=None)

    response = rep_api.get("/api/v1/leads/")

    assert [lead["id"] for lead in response.json()["results"]] == [owned.pk]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/leads/{lead}/", None),
        ("get", "/api/v1/leads/{lead}/events/", None),
        ("post", "/api/v1/leads/{lead}/transition/", {"to_status": "won"}),
    ],
    ids=["detail", "events", "transition"],
)
def test_rep_gets_404_for_colleague_lead(rep_api, method, path, body):
    colleague = UserFactory(username="other-rep", roles=[SALES])
    lead = LeadFactory(owner=colleague, status=LeadStatus.SQL)
    EngagementEventFactory(lead=lead)

    response = getattr(rep_api, method)(path.format(lead=lead.pk), body, format="json")

    assert response.status_code == 404
    assert response.json() == {
        "code": "lead_not_found",
        "message": f"Lead {lead.pk} does not exist.",
        "fields": {},
    }
    lead.refresh_from_db()
    assert lead.status == LeadStatus.SQL
    assert StatusChange.objects.count() == 0


def test_rep_closes_owned_lead(rep_api, rep):
    lead = LeadFactory(owner=rep, status=LeadStatus.SQL)

    response = rep_api.post(
        f"/api/v1/leads/{lead.pk}/transition/",
        {"to_status": "won", "reason": "Signed"},
        format="json",
    )

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.status == LeadStatus.WON
    assert StatusChange.objects.get().actor == rep


def test_sales_manager_sees_every_lead(client_for, sales_manager):
    LeadFactory(owner=UserFactory(username="other-rep", roles=[SALES]))
    LeadFactory(owner=None)

    response = client_for(sales_manager).get("/api/v1/leads/")

    assert len(response.json()["results"]) == 2


def test_rep_with_marketing_role_sees_every_lead(client_for):
    user = UserFactory(username="hybrid", roles=[SALES, MARKETING])
    LeadFactory(owner=None)

    response = client_for(user).get("/api/v1/leads/")

    assert len(response.json()["results"]) == 1


def test_rep_list_queries_bounded(rep_api, rep, django_assert_max_num_queries):
    LeadFactory.create_batch(10, owner=rep)

    with django_assert_max_num_queries(3):
        response = rep_api.get("/api/v1/leads/")

    assert len(response.json()["results"]) == 10
