import pytest
from rest_framework.test import APIClient, APIRequestFactory

from integrations.permissions import IsOwnRecord
from leadflow.roles import SALES
from tests.factories import LeadFactory, UserFactory
from tests.integrations.demo_api import DemoLeadViewSet

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.integrations.urls")]


@pytest.fixture
def colleague():
    return UserFactory(username="colleague", roles=[SALES])


@pytest.fixture
def leads(rep, colleague):
    return {
        "own": LeadFactory(owner=rep),
        "colleague": LeadFactory(owner=colleague),
        "unassigned": LeadFactory(owner=None),
    }


def _session(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_rep_lists_only_own_records(rep, leads):
    response = _session(rep).get("/demo/leads/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()] == [leads["own"].pk]


def test_rep_gets_404_for_colleague_record(rep, leads):
    response = _session(rep).get(f"/demo/leads/{leads['colleague'].pk}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_rep_reads_own_record(rep, leads):
    response = _session(rep).get(f"/demo/leads/{leads['own'].pk}/")

    assert response.status_code == 200
    assert response.json()["id"] == leads["own"].pk


def test_sales_key_lists_only_its_user_records(rep, leads, make_api_key, key_client):
    _, key = make_api_key(rep, ["leads:read"])

    response = key_client(key).get("/demo/leads/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()] == [leads["own"].pk]


def test_sales_key_gets_404_for_colleague_record(rep, leads, make_api_key, key_client):
    _, key = make_api_key(rep, ["leads:read"])

    response = key_client(key).get(f"/demo/leads/{leads['colleague'].pk}/")

    assert response.status_code == 404


def test_manager_sees_every_record(sales_manager, leads):
    response = _session(sales_manager).get("/demo/leads/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()] == [
        leads["own"].pk,
        leads["colleague"].pk,
        leads["unassigned"].pk,
    ]


def test_user_without_role_sees_nothing(leads):
    nobody = UserFactory(username="nobody")
    # The factory saves the hashed password only when it adds roles; force_login needs it saved.
    nobody.save()

    response = _session(nobody).get("/demo/leads/")

    assert response.status_code == 200
    assert response.json() == []


def test_object_permission_checks_owner(rep, colleague, sales_manager, leads):
    permission = IsOwnRecord()
    view = DemoLeadViewSet()
    request = APIRequestFactory().get("/")

    request.user = rep
    assert permission.has_object_permission(request, view, leads["own"]) is True
    assert permission.has_object_permission(request, view, leads["colleague"]) is False
    request.user = sales_manager
    assert permission.has_object_permission(request, view, leads["colleague"]) is True
