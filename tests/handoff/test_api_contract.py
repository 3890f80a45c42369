"""The handoff API follows the public contract: strict lists and input, idempotency, scopes.

Each test pins one defect that the handoff API had before it followed
docs/api.md, with the exact status and message it returns now.
"""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from handoff import services
from handoff.models import MAX_RULE_POSITION, Handoff, HandoffEvent, HandoffStatus, RoutingRule
from integrations.services import api_key_create
from leadflow.roles import SALES_MANAGER
from tests.factories import LeadFactory, RepFactory, UserFactory

pytestmark = pytest.mark.usefixtures("handoff_settings")

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def key_client_for(user, scopes):
    key = api_key_create(name="Test key", user=user, scopes=scopes).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def send(lead=None):
    return services.handoff_send(lead_ids=[(lead or LeadFactory(status="mql")).pk]).created[0]


def queued_handoff():
    """A pending handoff without a rep: no routing rule matches when there is none."""
    RoutingRule.objects.update(is_active=False)
    handoff = send()
    assert handoff.rep_id is None
    return handoff


# --- lists: strict filter values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name", "message"),
    [
        (
            "/api/v1/handoffs/?in_queue=AAA",
            "in_queue",
            "'AAA' is not a boolean; send true or false.",
        ),
        (
            "/api/v1/reps/?is_technical_expert=AAA",
            "is_technical_expert",
            "'AAA' is not a boolean; send true or false.",
        ),
        (
            "/api/v1/routing-rules/?is_active=AAA",
            "is_active",
            "'AAA' is not a boolean; send true or false.",
        ),
        ("/api/v1/handoffs/?rep=2.5", "rep", "Enter a whole number."),
        (
            "/api/v1/handoffs/?overdue_before=2026-03-01T14:30:00",
            "overdue_before",
            "'2026-03-01T14:30:00' is not a date or time; send ISO 8601 with a zone, such as "
            "2026-03-01T14:30:00Z, or a date such as 2026-03-01.",
        ),
        (
            "/api/v1/handoffs/?status=open",
            "status",
            "Select a valid choice. open is not one of the available choices.",
        ),
        (
            "/api/v1/routing-rules/?strategy=random",
            "strategy",
            "Select a valid choice. random is not one of the available choices.",
        ),
    ],
    ids=[
        "handoff-in-queue",
        "rep-expert",
        "rule-active",
        "handoff-rep",
        "handoff-time-without-zone",
        "handoff-status",
        "rule-strategy",
    ],
)
def test_list_filter_value_rejected(revops, path, name, message):
    response = client_for(revops).get(path)

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": f"{name}: {message}",
        "fields": {name: [message]},
    }


def test_in_queue_excludes_withdrawn_queued_handoff(revops):
    waiting = queued_handoff()
    withdrawn = queued_handoff()
    services.handoff_withdraw(handoff_id=withdrawn.pk, actor=revops)

    queued = client_for(revops).get("/api/v1/handoffs/?in_queue=true")
    not_queued = client_for(revops).get("/api/v1/handoffs/?in_queue=false")

    assert [row["id"] for row in queued.json()["results"]] == [waiting.pk]
    assert [row["id"] for row in not_queued.json()["results"]] == [withdrawn.pk]
    assert not_queued.json()["results"][0]["in_queue"] is False


def test_handoff_list_pages_by_cursor(team, revops):
    handoffs = [send() for _ in range(3)]
    client = client_for(revops)

    first = client.get("/api/v1/handoffs/?page_size=2&ordering=created_at")
    second = client.get(first.json()["next"])

    assert sorted(first.json()) == ["next", "previous", "results"]
    assert [row["id"] for row in first.json()["results"]] == [handoffs[0].pk, handoffs[1].pk]
    assert [row["id"] for row in second.json()["results"]] == [handoffs[2].pk]
    assert second.json()["next"] is None


def test_handoff_list_rejects_page_number(revops):
    response = client_for(revops).get("/api/v1/handoffs/?page=2")

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_query_parameter"
    assert list(response.json()["fields"]) == ["page"]


def test_rep_list_orders_by_open_handoffs(team, revops):
    reps, _ = team
    send()
    send()

    response = client_for(revops).get("/api/v1/reps/?ordering=-open_handoffs")

    # Equal counts are ordered by id in the same direction.
    assert [(row["id"], row["open_handoffs"]) for row in response.json()["results"]] == [
        (reps[1].pk, 1),
        (reps[0].pk, 1),
        (reps[2].pk, 0),
    ]


def test_routing_rules_listed_by_position(revops):
    later = RoutingRule.objects.create(name="Later", position=20)
    earlier = RoutingRule.objects.create(name="Earlier", position=10)

    response = client_for(revops).get("/api/v1/routing-rules/")

    assert response.json()["count"] == 2
    assert [row["id"] for row in response.json()["results"]] == [earlier.pk, later.pk]


# --- detail and audit trail -------------------------------------------------------------------


def test_events_reject_list_filters(team, revops):
    handoff = send()

    response = client_for(revops).get(
        f"/api/v1/handoffs/{handoff.pk}/events/?rep=3.402823466e%2B38&page_size=3"
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "unknown_query_parameter",
        "message": f"Unknown query parameter page_size, rep for GET /api/v1/handoffs/{handoff.pk}"
        "/events/; it accepts: format.",
        "fields": {
            "page_size": ["Unknown query parameter; use one of: format."],
            "rep": ["Unknown query parameter; use one of: format."],
        },
    }


def test_detail_not_narrowed_by_list_filters(team, revops):
    handoff = send()

    response = client_for(revops).get(f"/api/v1/handoffs/{handoff.pk}/?status=accepted")

    assert response.status_code == 200
    assert response.json()["id"] == handoff.pk


def test_queued_handoff_shows_null_rep_and_blank_reasons(revops):
    handoff = queued_handoff()

    body = client_for(revops).get(f"/api/v1/handoffs/{handoff.pk}/").json()

    assert body["rep"] is None
    assert body["in_queue"] is True
    assert body["routing_rule"] is None
    assert (body["reject_reason"], body["outcome"], body["outcome_reason"]) == ("", "", "")


# --- strict input ------------------------------------------------------------------------------


def test_send_rejects_number_as_notes(marketer):
    lead = LeadFactory(status="mql")

    response = client_for(marketer).post(
        "/api/v1/handoffs/send/", {"lead_ids": [lead.pk], "marketing_notes": 0}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "marketing_notes: Send a string; 0 is a number.",
        "fields": {"marketing_notes": ["Send a string; 0 is a number."]},
    }
    assert Handoff.objects.count() == 0


def test_send_rejects_lead_id_as_text(marketer):
    lead = LeadFactory(status="mql")

    response = client_for(marketer).post(
        "/api/v1/handoffs/send/", {"lead_ids": [str(lead.pk)]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "lead_ids.0": [f'Send a whole number; "{lead.pk}" is a string.']
    }
    assert Handoff.objects.count() == 0


def test_accept_rejects_unknown_field(team):
    handoff = send()

    response = client_for(handoff.rep.user).post(
        f"/api/v1/handoffs/{handoff.pk}/accept/",
        {"confirmed_need": "New line", "next_step": "Demo", "next_step_dat": TOMORROW},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "next_step_dat": [
            "Unknown field; use one of: acceptance_criteria, confirmed_need, "
            "integration_constraints, next_step, next_step_date, process_fit, "
            "technical_requirements."
        ]
    }
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING


def test_accept_rejects_compact_date(team):
    handoff = send()

    response = client_for(handoff.rep.user).post(
        f"/api/v1/handoffs/{handoff.pk}/accept/",
        {"confirmed_need": "New line", "next_step": "Demo", "next_step_date": "20300101"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "next_step_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]
    }
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING


def test_reassign_to_unknown_rep_rejected(team, sales_manager):
    handoff = send()

    response = client_for(sales_manager).post(
        f"/api/v1/handoffs/{handoff.pk}/reassign/", {"to_rep": 424242}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "to_rep: Rep 424242 does not exist; send the id of an existing one.",
        "fields": {"to_rep": ["Rep 424242 does not exist; send the id of an existing one."]},
    }
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING


def test_reassign_returns_location_of_new_handoff(team, sales_manager):
    reps, _ = team
    handoff = send()

    response = client_for(sales_manager).post(
        f"/api/v1/handoffs/{handoff.pk}/reassign/", {"to_rep": reps[1].pk}, format="json"
    )

    assert response.status_code == 201
    assert response["Location"] == f"http://testserver/api/v1/handoffs/{response.json()['id']}/"


def test_rep_update_returns_new_values(team, revops):
    reps, _ = team

    response = client_for(revops).patch(
        f"/api/v1/reps/{reps[0].pk}/", {"capacity": 3, "is_active": False}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["capacity"] == 3
    assert response.json()["is_active"] is False


def test_rep_capacity_over_maximum_rejected(team, revops):
    reps, _ = team

    response = client_for(revops).patch(
        f"/api/v1/reps/{reps[0].pk}/", {"capacity": 2**40}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "capacity": ["Ensure this value is less than or equal to 1000."]
    }
    reps[0].refresh_from_db()
    assert reps[0].capacity == 5


def test_rep_boolean_as_text_rejected(team, revops):
    reps, _ = team

    response = client_for(revops).patch(
        f"/api/v1/reps/{reps[0].pk}/", {"is_active": "false"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"is_active": ['Send true or false; "false" is a string.']}
    reps[0].refresh_from_db()
    assert reps[0].is_active is True


def test_rule_sla_hours_is_a_json_number(revops):
    response = client_for(revops).post(
        "/api/v1/routing-rules/", {"name": "Aerospace", "sla_hours": 12.5}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["sla_hours"] == 12.5
    assert (
        response["Location"] == f"http://testserver/api/v1/routing-rules/{response.json()['id']}/"
    )


def test_rule_sla_hours_as_text_rejected(revops):
    response = client_for(revops).post(
        "/api/v1/routing-rules/", {"name": "Aerospace", "sla_hours": "12.5"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"sla_hours": ['Send a number; "12.5" is a string.']}
    assert RoutingRule.objects.count() == 0


def test_rule_after_last_position_stays_in_range(revops):
    highest = RoutingRule.objects.create(name="Catch-all", position=MAX_RULE_POSITION)

    response = client_for(revops).post(
        "/api/v1/routing-rules/", {"name": "Aerospace"}, format="json"
    )
    listed = client_for(revops).get("/api/v1/routing-rules/")

    assert response.status_code == 201
    assert response.json()["position"] == 1_000_000
    assert [row["id"] for row in listed.json()["results"]] == [highest.pk, response.json()["id"]]


def test_rule_unknown_rep_rejected(revops):
    response = client_for(revops).post(
        "/api/v1/routing-rules/", {"name": "Aerospace", "reps": [424242]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "reps": ["Rep 424242 does not exist; send the id of an existing one."]
    }
    assert RoutingRule.objects.count() == 0


# --- the public API contract ------------------------------------------------------------------


def test_accept_replayed_with_idempotency_key(team):
    handoff = send()
    client = client_for(handoff.rep.user)
    body = {"confirmed_need": "New line", "next_step": "Demo", "next_step_date": TOMORROW}
    path = f"/api/v1/handoffs/{handoff.pk}/accept/"

    first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="accept-1")
    retry = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="accept-1")

    assert first.status_code == 200
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert HandoffEvent.objects.filter(handoff=handoff, kind="accepted").count() == 1


def test_handoff_list_sends_rate_limit_headers(revops):
    response = client_for(revops).get("/api/v1/handoffs/")

    assert response.status_code == 200
    assert response["X-RateLimit-Limit"] == "1200"
    assert int(response["X-RateLimit-Remaining"]) < 1200


def test_rep_key_lists_only_own_handoffs(team):
    reps, _ = team
    mine = send()
    theirs = send()
    client = key_client_for(reps[0].user, ["handoffs:read"])

    listed = client.get("/api/v1/handoffs/")
    other = client.get(f"/api/v1/handoffs/{theirs.pk}/")

    assert [row["id"] for row in listed.json()["results"]] == [mine.pk]
    assert other.status_code == 404
    assert other.json()["code"] == "handoff_not_found"


def test_key_without_write_scope_cannot_reject(team):
    handoff = send()
    manager = UserFactory(roles=[SALES_MANAGER])
    client = key_client_for(manager, ["handoffs:read"])

    response = client.post(
        f"/api/v1/handoffs/{handoff.pk}/reject/", {"reason": "bad_timing"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING


def test_accept_needs_sales_role(team, marketer):
    handoff = send()

    response = client_for(marketer).post(
        f"/api/v1/handoffs/{handoff.pk}/accept/", {}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "message": "This action needs one of the roles sales; ask an administrator to add your "
        "user to one of these groups.",
        "fields": {},
    }
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING


def test_rep_profile_edit_needs_manager_role(team):
    reps, _ = team
    other = RepFactory()

    response = client_for(reps[0].user).patch(
        f"/api/v1/reps/{other.pk}/", {"capacity": 99}, format="json"
    )

    assert response.status_code == 403
    other.refresh_from_db()
    assert other.capacity == 10
