"""The lifecycle guard handoff registers: no generic status change strands a handoff."""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from handoff import services
from handoff.models import Handoff, HandoffStatus
from leads import services as lead_services
from leads.errors import IllegalTransition
from leads.models import Lead, LeadStatus, StatusChange
from tests.factories import LeadFactory, RepFactory, RoutingRuleFactory

pytestmark = pytest.mark.usefixtures("handoff_settings")

TOMORROW = dt.date.today() + dt.timedelta(days=1)


def api_client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def send(lead):
    result = services.handoff_send(lead_ids=[lead.pk])
    assert result.errors == []
    return result.created[0]


def accepted_sql(rep):
    handoff = send(LeadFactory(status=LeadStatus.MQL))
    services.handoff_accept(
        handoff_id=handoff.pk,
        actor=rep.user,
        qualification={"confirmed_need": "New line", "process_fit": "Milling"},
        next_step="Site visit",
        next_step_date=TOMORROW,
    )
    handoff.refresh_from_db()
    return handoff


def pending_message(handoff):
    return (
        f"Lead {handoff.lead_id} waits for {handoff.rep.display_name} to decide on handoff "
        f"{handoff.pk}, so its status cannot change here; withdraw the handoff or let the rep "
        "decide."
    )


def accepted_message(handoff):
    return (
        f"Lead {handoff.lead_id} is the open SQL of accepted handoff {handoff.pk}; close it "
        "through the handoff so the outcome reason is recorded."
    )


@pytest.fixture
def single_rep(db):
    rep = RepFactory(capacity=5)
    RoutingRuleFactory(name="Everyone", reps=[rep])
    return rep


@pytest.mark.parametrize("target", [LeadStatus.NURTURE, LeadStatus.DISQUALIFIED, LeadStatus.SQL])
def test_api_transition_of_pending_handoff_lead_rejected(single_rep, marketer, target):
    handoff = send(LeadFactory(status=LeadStatus.MQL))

    response = api_client(marketer).post(
        f"/api/v1/leads/{handoff.lead_id}/transition/", {"to_status": target}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "code": "handoff_pending",
        "message": pending_message(handoff),
        "fields": {},
        "lead_id": handoff.lead_id,
        "from_status": "mql",
        "to_status": target,
        "handoff_id": handoff.pk,
    }
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING
    assert Lead.objects.get(pk=handoff.lead_id).status == LeadStatus.MQL
    assert StatusChange.objects.filter(lead_id=handoff.lead_id).count() == 0


def test_pending_handoff_in_fallback_queue_named(marketer):
    handoff = send(LeadFactory(status=LeadStatus.MQL))
    assert handoff.rep_id is None

    with pytest.raises(IllegalTransition) as raised:
        lead_services.lead_transition(
            lead_id=handoff.lead_id, to_status=LeadStatus.NURTURE, actor=marketer
        )

    assert raised.value.message == (
        f"Lead {handoff.lead_id} waits in the fallback queue with handoff {handoff.pk}, so its "
        "status cannot change here; withdraw the handoff or let a rep decide."
    )
    assert Lead.objects.get(pk=handoff.lead_id).status == LeadStatus.MQL


@pytest.mark.parametrize(
    "target", [LeadStatus.WON, LeadStatus.LOST, LeadStatus.NURTURE, LeadStatus.DISQUALIFIED]
)
def test_api_rep_move_of_accepted_sql_rejected(single_rep, target):
    handoff = accepted_sql(single_rep)
    changes_before = StatusChange.objects.filter(lead_id=handoff.lead_id).count()

    response = api_client(single_rep.user).post(
        f"/api/v1/leads/{handoff.lead_id}/transition/", {"to_status": target}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "handoff_accepted"
    assert response.json()["message"] == accepted_message(handoff)
    assert response.json()["handoff_id"] == handoff.pk
    handoff.refresh_from_db()
    assert (handoff.status, handoff.outcome) == (HandoffStatus.ACCEPTED, "")
    assert Lead.objects.get(pk=handoff.lead_id).status == LeadStatus.SQL
    assert StatusChange.objects.filter(lead_id=handoff.lead_id).count() == changes_before


def test_handoff_close_still_moves_accepted_sql(single_rep):
    handoff = accepted_sql(single_rep)

    services.handoff_close(
        handoff_id=handoff.pk, actor=single_rep.user, outcome="won", reason="product_fit"
    )

    assert Lead.objects.get(pk=handoff.lead_id).status == LeadStatus.WON
    assert StatusChange.objects.filter(lead_id=handoff.lead_id).first().rule == "handoff.close"


def test_handoff_reject_still_moves_pending_lead(single_rep):
    handoff = send(LeadFactory(status=LeadStatus.MQL))

    services.handoff_reject(handoff_id=handoff.pk, actor=single_rep.user, reason="bad_timing")

    assert Lead.objects.get(pk=handoff.lead_id).status == LeadStatus.NURTURE


def test_closed_sql_may_be_recycled(single_rep, marketer):
    handoff = accepted_sql(single_rep)
    services.handoff_close(
        handoff_id=handoff.pk, actor=single_rep.user, outcome="lost", reason="no_budget"
    )

    lead_services.lead_transition(
        lead_id=handoff.lead_id, to_status=LeadStatus.NURTURE, actor=marketer
    )

    assert Lead.objects.get(pk=handoff.lead_id).status == LeadStatus.NURTURE


def test_withdrawn_handoff_no_longer_blocks(single_rep, marketer):
    handoff = send(LeadFactory(status=LeadStatus.MQL))
    services.handoff_withdraw(handoff_id=handoff.pk, actor=marketer)

    lead_services.lead_transition(
        lead_id=handoff.lead_id, to_status=LeadStatus.DISQUALIFIED, actor=marketer
    )

    assert Lead.objects.get(pk=handoff.lead_id).status == LeadStatus.DISQUALIFIED


# --- Lead page ----------------------------------------------------------------------------------


def test_lead_page_hides_moves_of_pending_handoff_lead(client, single_rep, marketer):
    handoff = send(LeadFactory(status=LeadStatus.MQL))
    client.force_login(marketer)

    response = client.get(reverse("leads:detail", args=[handoff.lead_id]))

    page = response.content.decode()
    assert response.context["transition_actions"] == []
    assert 'data-testid="move-nurture"' not in page
    assert 'data-testid="move-disqualified"' not in page
    assert 'data-testid="send-to-sales"' not in page
    link = f'<a href="{reverse("handoff:detail", args=[handoff.pk])}">Open handoff {handoff.pk}</a>'
    assert link in page
    assert [blocked_move.message for blocked_move in response.context["blocked_moves"]] == [
        pending_message(handoff)
    ]


def test_lead_page_hides_moves_of_accepted_sql(client, single_rep, marketer):
    handoff = accepted_sql(single_rep)
    client.force_login(marketer)

    response = client.get(reverse("leads:detail", args=[handoff.lead_id]))

    assert response.context["transition_actions"] == []
    assert [blocked_move.message for blocked_move in response.context["blocked_moves"]] == [
        accepted_message(handoff)
    ]
    assert 'data-testid="move-disqualified"' not in response.content.decode()


def test_lead_page_disqualify_of_accepted_sql_rejected(client, single_rep, marketer):
    handoff = accepted_sql(single_rep)
    changes_before = StatusChange.objects.filter(lead_id=handoff.lead_id).count()
    client.force_login(marketer)

    response = client.post(
        reverse("leads:transition", args=[handoff.lead_id]),
        {"to_status": "disqualified", "reason": "Stale", "expected_from": "sql"},
    )

    assert response.status_code == 409
    assert response.context["transition_error"] == accepted_message(handoff)
    assert Lead.objects.get(pk=handoff.lead_id).status == LeadStatus.SQL
    assert StatusChange.objects.filter(lead_id=handoff.lead_id).count() == changes_before
    assert Handoff.objects.get(pk=handoff.pk).outcome == ""
