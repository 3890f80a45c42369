"""The rule-set API under /api/v1/rulesets/: roles, scopes, drafts, simulate, publish, restore."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integrations.services import api_key_create
from scoring import rulesets
from scoring.defaults import DEFAULT_RULESET
from scoring.models import RescoreRun, RuleSet, Simulation
from scoring.rules import document_from_ruleset
from tests.factories import EngagementEventFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/rulesets/"


@pytest.fixture
def admin():
    return UserFactory(username="ops", roles=["revops"])


@pytest.fixture
def admin_api(admin):
    client = APIClient()
    client.force_authenticate(admin)
    return client


@pytest.fixture
def draft(admin):
    return rulesets.ruleset_draft_create(actor=admin)


def test_list_versions_newest_first(admin_api, draft):
    response = admin_api.get(BASE)

    assert response.status_code == 200
    assert [item["version"] for item in response.json()["results"]] == [2, 1]
    assert response.json()["results"][0] | {"created_at": None, "updated_at": None} == {
        "version": 2,
        "name": "Manufacturing default",
        "status": "draft",
        "revision": 1,
        "based_on_version": 1,
        "fit_threshold": 50,
        "engagement_threshold": 40.0,
        "fit_rule_count": 12,
        "engagement_rule_count": 16,
        "created_by": "ops",
        "created_at": None,
        "updated_by": "ops",
        "updated_at": None,
        "published_by": None,
        "published_at": None,
    }


def test_list_filters_by_status(admin_api, draft):
    response = admin_api.get(BASE, {"status": "published"})

    assert [item["version"] for item in response.json()["results"]] == [1]


def test_retrieve_has_document_history_and_etag(admin_api, draft):
    response = admin_api.get(f"{BASE}2/")

    body = response.json()
    assert response.status_code == 200
    assert response["ETag"] == '"v2r1"'
    assert body["document"] == DEFAULT_RULESET
    assert [change["details"] for change in body["changes"]] == [["new draft from v1 (published)"]]
    assert body["changes"][0]["actor"] == "ops"


def test_retrieve_unknown_version_is_404_in_error_shape(admin_api):
    response = admin_api.get(f"{BASE}9/")

    assert response.status_code == 404
    assert response.json() == {
        "code": "ruleset_not_found",
        "message": "Rule set version 9 does not exist.",
        "fields": {},
    }


def test_create_copies_published_version(admin_api):
    response = admin_api.post(BASE, {}, format="json")

    assert response.status_code == 201
    assert response["Location"] == f"{BASE}2/"
    assert response.json()["based_on_version"] == 1
    assert response.json()["changes"][0]["details"] == ["new draft from v1 (published)"]


def test_create_from_document_imports_it(admin_api):
    document = {**DEFAULT_RULESET, "name": "From CI", "fit_threshold": 60}

    response = admin_api.post(BASE, {"document": document}, format="json")

    assert response.status_code == 201
    assert response.json()["document"] == document
    assert response.json()["changes"][0]["action"] == "imported"


def test_create_invalid_document_lists_errors_by_path(admin_api):
    document = {
        "name": "Shoes",
        "fit_threshold": 50,
        "engagement_threshold": 40,
        "fit_rules": [{"id": "x", "field": "lead.shoe_size", "op": "eq", "value": "a"}],
    }

    response = admin_api.post(BASE, {"document": document}, format="json")

    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "invalid_ruleset"
    assert sorted(body["fields"]) == ["fit_rules[0].field", "fit_rules[0].points"]
    assert body["fields"]["fit_rules[0].points"] == [
        "null is not a number; give the points as a number, such as 10."
    ]
    assert RuleSet.objects.count() == 1


def test_create_rejects_unknown_fields(admin_api):
    response = admin_api.post(BASE, {"version": 7}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "version": ["Unknown field; send from_version, document, or an empty object."]
    }


def test_create_from_unknown_version_is_400(admin_api):
    response = admin_api.post(BASE, {"from_version": 53400}, format="json")

    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "invalid_ruleset"
    assert body["fields"] == {
        "from_version": ["Rule set version 53400 does not exist; existing versions: 1."]
    }
    assert RuleSet.objects.count() == 1


def test_list_rejects_unknown_query_parameter(admin_api):
    response = admin_api.get(BASE, {"state": "draft"})

    assert response.status_code == 400
    assert "state" in response.json()["message"]


def test_patch_draft_records_change(admin_api, draft):
    response = admin_api.patch(
        f"{BASE}2/", {"fit_threshold": 55}, format="json", HTTP_IF_MATCH='"v2r1"'
    )

    assert response.status_code == 200
    assert response["ETag"] == '"v2r2"'
    assert response.json()["document"]["fit_threshold"] == 55
    assert response.json()["changes"][0]["details"] == ["fit_threshold 50 → 55"]


def test_patch_with_stale_etag_is_412(admin_api, draft, admin):
    rulesets.ruleset_draft_update(version=2, changes={"fit_threshold": 60}, actor=admin)

    response = admin_api.patch(
        f"{BASE}2/", {"fit_threshold": 55}, format="json", HTTP_IF_MATCH='"v2r1"'
    )

    assert response.status_code == 412
    assert response.json()["code"] == "ruleset_changed"
    assert response.json()["revision"] == 2
    assert RuleSet.objects.get(version=2).fit_threshold == 60


def test_put_replaces_whole_document(admin_api, draft):
    document = {"name": "Minimal", "fit_threshold": 10, "engagement_threshold": 5}

    response = admin_api.put(f"{BASE}2/", document, format="json")

    ruleset = RuleSet.objects.get(version=2)
    assert response.status_code == 200
    assert ruleset.fit_rules == []
    assert ruleset.name == "Minimal"


def test_patch_published_version_is_409(admin_api):
    response = admin_api.patch(f"{BASE}1/", {"fit_threshold": 55}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "ruleset_not_draft"
    assert RuleSet.objects.get(version=1).fit_threshold == 50


def test_patch_invalid_field_is_400_with_path(admin_api, draft):
    response = admin_api.patch(f"{BASE}2/", {"group_caps": {"nowhere": 5}}, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["group_caps.nowhere"]


def test_simulate_returns_result_and_location(admin_api, draft):
    lead = LeadFactory()
    EngagementEventFactory(lead=lead, kind="quote_request")

    response = admin_api.post(f"{BASE}2/simulate/")

    simulation = Simulation.objects.get()
    assert response.status_code == 201
    assert response["Location"] == f"{BASE}2/simulations/{simulation.pk}/"
    assert response.json()["status"] == "done"
    assert response.json()["result"]["enter"] == 1
    assert response.json()["result"]["movers"][0]["lead_id"] == lead.pk
    assert admin_api.get(response["Location"]).json()["id"] == simulation.pk


def test_simulation_of_other_version_is_404(admin_api, draft):
    simulation = Simulation.objects.create(ruleset=draft, ruleset_revision=1)

    response = admin_api.get(f"{BASE}1/simulations/{simulation.pk}/")

    assert response.status_code == 404
    assert response.json()["code"] == "simulation_not_found"


def test_publish_returns_run_and_rescores(admin_api, draft, django_capture_on_commit_callbacks):
    LeadFactory.create_batch(2)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(f"{BASE}2/publish/")

    run = RescoreRun.objects.get()
    assert response.status_code == 202
    assert response["Location"] == f"{BASE}2/rescore-runs/{run.pk}/"
    assert response.json()["status"] == "queued"
    progress = admin_api.get(response["Location"]).json()
    assert (progress["status"], progress["done_leads"], progress["percent"]) == ("done", 2, 100.0)


def test_publish_of_published_version_is_409(admin_api):
    response = admin_api.post(f"{BASE}1/publish/")

    assert response.status_code == 409
    assert RescoreRun.objects.count() == 0


def test_restore_creates_draft(admin_api):
    response = admin_api.post(f"{BASE}1/restore/")

    assert response.status_code == 201
    assert response.json()["status"] == "draft"
    assert response.json()["changes"][0]["action"] == "restored"


def test_export_round_trips_through_create(admin_api):
    exported = admin_api.get(f"{BASE}1/export/")

    created = admin_api.post(BASE, {"document": exported.json()}, format="json")

    assert exported["Content-Disposition"] == 'attachment; filename="ruleset-v1.json"'
    assert admin_api.get(f"{BASE}{created.json()['version']}/export/").json() == exported.json()
    assert exported.json() == document_from_ruleset(RuleSet.objects.get(version=1))


def test_marketing_reads_but_cannot_write(marketer, draft):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=marketer).key}")

    assert client.get(BASE).status_code == 200
    response = client.post(f"{BASE}2/publish/")

    assert response.status_code == 403
    assert RuleSet.objects.get(version=2).status == RuleSet.Status.DRAFT


def test_sales_rep_cannot_read(rep):
    client = APIClient()
    client.force_authenticate(rep)

    assert client.get(BASE).status_code == 403


def test_api_key_needs_write_scope_to_publish(admin, draft):
    key = api_key_create(name="CI", user=admin, scopes=["rulesets:read"]).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert client.get(f"{BASE}2/export/").status_code == 200
    response = client.post(f"{BASE}2/publish/")

    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


def test_idempotent_restore_runs_once(admin_api):
    first = admin_api.post(f"{BASE}1/restore/", HTTP_IDEMPOTENCY_KEY="restore-1")
    second = admin_api.post(f"{BASE}1/restore/", HTTP_IDEMPOTENCY_KEY="restore-1")

    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert RuleSet.objects.count() == 2
