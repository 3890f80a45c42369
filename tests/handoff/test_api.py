import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from handoff import services
from handoff.models import Handoff, HandoffStatus, RoutingRule
from tests.factories import LeadFactory, RepFactory, UserFactory

pytestmark = pytest.mark.usefixtures("handoff_settings")

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def send(lead):
    return services.handoff_send(lead_ids=[lead.pk]).created[0]


def test_send_endpoint_reports_created_and_errors(team, marketer):
    good = LeadFactory(status="mql")
    bad = LeadFactory(status="new")

    response = client_for(marketer).post(
        "/api/v1/handoffs/send/", {"lead_ids": [good.pk, bad.pk]}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert [row["lead_id"] for row in body["created"]] == [good.pk]
    assert body["errors"] == [
        {
            "lead_id": bad.pk,
            "code": "lead_not_qualified",
            "message": f"Lead {bad.pk} is new; only MQLs can be sent to sales.",
        }
    ]


def test_send_endpoint_rejects_empty_list(marketer):
    response = client_for(marketer).post("/api/v1/handoffs/send/", {"lead_ids": []}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "lead_ids" in response.json()["fields"]


def test_send_endpoint_forbidden_for_rep(team):
    reps, _ = team
    lead = LeadFactory(status="mql")

    response = client_for(reps[0].user).post(
        "/api/v1/handoffs/send/", {"lead_ids": [lead.pk]}, format="json"
    )

    assert response.status_code == 403
    assert Handoff.objects.count() == 0


def test_rep_lists_only_own_handoffs(team):
    reps, _ = team
    mine = send(LeadFactory(status="mql"))
    send(LeadFactory(status="mql"))

    response = client_for(reps[0].user).get("/api/v1/handoffs/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_rep_cannot_read_colleague_handoff(team):
    reps, _ = team
    send(LeadFactory(status="mql"))
    theirs = send(LeadFactory(status="mql"))

    response = client_for(reps[0].user).get(f"/api/v1/handoffs/{theirs.pk}/")

    assert response.status_code == 404
    assert response.json() == {
        "code": "handoff_not_found",
        "message": f"Handoff {theirs.pk} does not exist.",
        "fields": {},
    }


def test_manager_lists_all_handoffs(team, sales_manager):
    for _ in range(3):
        send(LeadFactory(status="mql"))

    response = client_for(sales_manager).get("/api/v1/handoffs/")

    assert len(response.json()["results"]) == 3


def test_handoff_list_query_count_constant(team, sales_manager):
    for _ in range(3):
        send(LeadFactory(status="mql"))
    client = client_for(sales_manager)
    client.get("/api/v1/handoffs/")  # the first request caches the user's roles
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/handoffs/")
    for _ in range(5):
        send(LeadFactory(status="mql"))

    with CaptureQueriesContext(connection) as many:
        client.get("/api/v1/handoffs/")

    assert len(many) == len(few)


def test_accept_action(team):
    handoff = send(LeadFactory(status="mql"))

    response = client_for(handoff.rep.user).post(
        f"/api/v1/handoffs/{handoff.pk}/accept/",
        {"confirmed_need": "New line", "next_step": "Demo", "next_step_date": TOMORROW},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    assert response.json()["lead"]["status"] == "sql"


def test_accept_action_missing_fields_names_them(team):
    handoff = send(LeadFactory(status="mql"))

    response = client_for(handoff.rep.user).post(
        f"/api/v1/handoffs/{handoff.pk}/accept/", {}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "qualification_missing"
    assert body["message"] == "Fill in confirmed need, next step, next step date."
    assert sorted(body["fields"]) == ["confirmed_need", "next_step", "next_step_date"]
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING


def test_reject_action(team):
    handoff = send(LeadFactory(status="mql"))

    response = client_for(handoff.rep.user).post(
        f"/api/v1/handoffs/{handoff.pk}/reject/",
        {"reason": "bad_timing", "note": "Budget next year"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["reject_reason"] == "bad_timing"
    assert response.json()["lead"]["status"] == "nurture"


def test_reject_action_unknown_reason(team):
    handoff = send(LeadFactory(status="mql"))

    response = client_for(handoff.rep.user).post(
        f"/api/v1/handoffs/{handoff.pk}/reject/", {"reason": "meh"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"]["reason"] == [
        '"meh" is not one of the choices; use one of not_a_fit, no_active_need, wrong_contact, '
        "duplicate, bad_timing."
    ]
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING


def test_accept_twice_returns_409(team):
    handoff = send(LeadFactory(status="mql"))
    client = client_for(handoff.rep.user)
    payload = {"confirmed_need": "x", "next_step": "Demo", "next_step_date": TOMORROW}
    client.post(f"/api/v1/handoffs/{handoff.pk}/accept/", payload, format="json")

    response = client.post(f"/api/v1/handoffs/{handoff.pk}/accept/", payload, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "handoff_not_pending"


def test_reassign_action_returns_new_handoff(team, sales_manager):
    reps, _ = team
    handoff = send(LeadFactory(status="mql"))

    response = client_for(sales_manager).post(
        f"/api/v1/handoffs/{handoff.pk}/reassign/", {"to_rep": reps[1].pk}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["rep"]["id"] == reps[1].pk
    assert response.json()["previous"] == handoff.pk


def test_events_action_lists_audit_trail(team, sales_manager):
    handoff = send(LeadFactory(status="mql"))

    response = client_for(sales_manager).get(f"/api/v1/handoffs/{handoff.pk}/events/")

    assert [event["kind"] for event in response.json()] == ["sent", "assigned"]


def test_reps_endpoint_shows_open_count(team, sales_manager):
    reps, _ = team
    send(LeadFactory(status="mql"))

    response = client_for(sales_manager).get("/api/v1/reps/")

    counts = {row["id"]: row["open_handoffs"] for row in response.json()["results"]}
    assert counts == {reps[0].pk: 1, reps[1].pk: 0, reps[2].pk: 0}


def test_rep_update_by_revops(team, revops):
    reps, _ = team

    response = client_for(revops).patch(
        f"/api/v1/reps/{reps[0].pk}/",
        {"capacity": 3, "out_of_office_until": "2030-01-31"},
        format="json",
    )

    assert response.status_code == 200
    reps[0].refresh_from_db()
    assert reps[0].capacity == 3
    assert reps[0].out_of_office_until == dt.date(2030, 1, 31)


def test_rep_update_forbidden_for_rep(team):
    reps, _ = team

    response = client_for(reps[0].user).patch(
        f"/api/v1/reps/{reps[0].pk}/", {"capacity": 99}, format="json"
    )

    assert response.status_code == 403
    reps[0].refresh_from_db()
    assert reps[0].capacity == 5


def test_routing_rule_create_goes_last(team, revops):
    _, existing = team
    rep = RepFactory()

    response = client_for(revops).post(
        "/api/v1/routing-rules/",
        {
            "name": "Aerospace",
            "segments": ["aerospace"],
            "reps": [rep.pk],
            "strategy": "least_loaded",
        },
        format="json",
    )

    assert response.status_code == 201
    rule = RoutingRule.objects.get(name="Aerospace")
    assert rule.position == existing.position + 10
    assert list(rule.reps.all()) == [rep]


def test_routing_rule_write_forbidden_for_marketer(marketer):
    response = client_for(marketer).post("/api/v1/routing-rules/", {"name": "Mine"}, format="json")

    assert response.status_code == 403
    assert RoutingRule.objects.count() == 0


def test_dry_run_shows_route_without_writing(team, marketer):
    reps, rule = team
    lead = LeadFactory(status="mql")

    response = client_for(marketer).post(
        "/api/v1/routing-rules/dry-run/", {"lead_id": lead.pk}, format="json"
    )

    assert response.status_code == 200
    routing = response.json()["routing"]
    assert routing["step"] == "rule"
    assert routing["rep_id"] == reps[0].pk
    assert routing["rule_id"] == rule.pk
    assert Handoff.objects.count() == 0


def test_dry_run_unknown_lead(revops):
    response = client_for(revops).post(
        "/api/v1/routing-rules/dry-run/", {"lead_id": 424242}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == {
        "code": "lead_not_found",
        "message": "Lead 424242 does not exist.",
        "fields": {},
    }


def test_anonymous_gets_401():
    response = APIClient().get("/api/v1/handoffs/")

    assert response.status_code == 401


def test_user_without_role_gets_403(db):
    response = client_for(UserFactory()).get("/api/v1/handoffs/")

    assert response.status_code == 403


def test_schema_documents_handoff_errors(db, tmp_path):
    import json

    from django.core.management import call_command

    path = tmp_path / "schema.json"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(path),
    )
    schema = json.loads(path.read_text())

    handoff_paths = [
        path
        for path in schema["paths"]
        if path.startswith(("/api/v1/handoffs", "/api/v1/reps", "/api/v1/routing-rules"))
    ]
    assert "/api/v1/routing-rules/dry-run/" in handoff_paths
    for path in handoff_paths:
        for method, operation in schema["paths"][path].items():
            responses = operation["responses"]
            assert "401" in responses, (path, method)
            assert "403" in responses, (path, method)
            for code, response in responses.items():
                if int(code) >= 400:
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"
                    }, (path, method, code)
