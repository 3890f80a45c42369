import datetime as dt

import pytest
from django.urls import reverse

from handoff import services
from handoff.models import Handoff, HandoffStatus, RoutingRule
from tests.factories import LeadFactory, RepFactory, RoutingRuleFactory

pytestmark = pytest.mark.usefixtures("handoff_settings")

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


def send(lead):
    return services.handoff_send(lead_ids=[lead.pk]).created[0]


def test_send_view_bulk_ids(client, marketer, team):
    leads = [LeadFactory(status="mql") for _ in range(3)]
    client.force_login(marketer)

    response = client.post(
        reverse("handoff:send"),
        {"lead_ids": [leads[0].pk, f"{leads[1].pk},{leads[2].pk}"], "next": "/leads/queue/"},
    )

    assert response.status_code == 302
    assert response.url == "/leads/queue/"
    assert Handoff.objects.filter(status=HandoffStatus.PENDING).count() == 3


def test_send_view_single_redirects_to_lead_page(client, marketer, team):
    lead = LeadFactory(status="mql")
    client.force_login(marketer)

    response = client.post(reverse("handoff:send"), {"lead_ids": lead.pk})

    assert response.url == reverse("handoff:lead", args=[lead.pk])


def test_send_view_rejects_garbage_ids(client, marketer):
    client.force_login(marketer)

    response = client.post(reverse("handoff:send"), {"lead_ids": "12x"}, follow=True)

    assert "&#x27;12x&#x27; is not a lead id" in response.content.decode()
    assert Handoff.objects.count() == 0


def test_send_view_ignores_offsite_next(client, marketer, team):
    lead = LeadFactory(status="mql")
    client.force_login(marketer)

    response = client.post(
        reverse("handoff:send"), {"lead_ids": lead.pk, "next": "https://evil.example/"}
    )

    assert response.url == reverse("leads:queue")


def test_send_view_forbidden_for_rep(client, team):
    reps, _ = team
    lead = LeadFactory(status="mql")
    client.force_login(reps[0].user)

    response = client.post(reverse("handoff:send"), {"lead_ids": lead.pk})

    assert response.status_code == 403
    assert Handoff.objects.count() == 0


def test_inbox_lists_only_own_pending(client, team):
    reps, _ = team
    mine = send(LeadFactory(status="mql", last_name="Mine"))
    send(LeadFactory(status="mql", last_name="Theirs"))
    client.force_login(reps[0].user)

    response = client.get(reverse("handoff:inbox"))

    body = response.content.decode()
    assert mine.lead.display_name in body
    assert "Dana Theirs" not in body


def test_detail_of_colleague_handoff_404(client, team):
    reps, _ = team
    send(LeadFactory(status="mql"))
    theirs = send(LeadFactory(status="mql"))
    client.force_login(reps[0].user)

    response = client.get(reverse("handoff:detail", args=[theirs.pk]))

    assert response.status_code == 404


def test_accept_view_missing_fields_shows_errors(client, team):
    handoff = send(LeadFactory(status="mql"))
    client.force_login(handoff.rep.user)

    response = client.post(reverse("handoff:accept", args=[handoff.pk]), {"next_step": "Demo"})

    assert response.status_code == 400
    body = response.content.decode()
    assert "Confirmed need is required to accept." in body
    assert "Next step date is required to accept." in body
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING


def test_accept_view_success(client, team):
    handoff = send(LeadFactory(status="mql"))
    client.force_login(handoff.rep.user)

    response = client.post(
        reverse("handoff:accept", args=[handoff.pk]),
        {"confirmed_need": "Line expansion", "next_step": "Demo", "next_step_date": TOMORROW},
    )

    assert response.status_code == 302
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.ACCEPTED
    assert handoff.lead.status == "sql"


def test_reject_view_requires_reason(client, team):
    handoff = send(LeadFactory(status="mql"))
    client.force_login(handoff.rep.user)

    response = client.post(reverse("handoff:reject", args=[handoff.pk]), {"reason": ""})

    assert response.status_code == 400
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING


def test_manager_page_lists_overdue(client, team, sales_manager):
    handoff = send(LeadFactory(status="mql"))
    Handoff.objects.filter(pk=handoff.pk).update(
        due_at=handoff.created_at - dt.timedelta(minutes=5)
    )
    client.force_login(sales_manager)

    response = client.get(reverse("handoff:manager"))

    assert response.status_code == 200
    assert response.context["overdue_count"] == 1
    assert [row["handoff"].pk for row in response.context["rows"]] == [handoff.pk]


def test_manager_page_forbidden_for_rep(client, team):
    client.force_login(team[0][0].user)

    assert client.get(reverse("handoff:manager")).status_code == 403


def test_feedback_lists_rejection_reason(client, team, marketer):
    handoff = send(LeadFactory(status="mql", first_touch_campaign="expo"))
    services.handoff_reject(
        handoff_id=handoff.pk,
        actor=handoff.rep.user,
        reason="wrong_contact",
        note="Left the company",
    )
    client.force_login(marketer)

    response = client.get(reverse("handoff:feedback"), {"campaign": "expo"})

    assert list(response.context["page"]) == [handoff]
    assert response.context["summary"] == [
        {"kind": "rejected", "reason": "wrong_contact", "count": 1}
    ]
    assert "Left the company" in response.content.decode()


def test_feedback_orders_by_close_or_rejection(client, team, marketer):
    monday = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    won = send(LeadFactory(status="mql"))
    services.handoff_accept(
        handoff_id=won.pk,
        actor=won.rep.user,
        qualification={"confirmed_need": "Two new cells"},
        next_step="Quote",
        next_step_date=monday.date(),
        now=monday,
    )
    rejected = send(LeadFactory(status="mql"))
    services.handoff_reject(
        handoff_id=rejected.pk,
        actor=rejected.rep.user,
        reason="bad_timing",
        now=monday + dt.timedelta(days=1),
    )
    services.handoff_close(
        handoff_id=won.pk,
        actor=won.rep.user,
        outcome="won",
        reason="product_fit",
        now=monday + dt.timedelta(days=2),
    )
    client.force_login(marketer)

    response = client.get(reverse("handoff:feedback"))

    assert list(response.context["page"]) == [won, rejected]


def test_lead_page_shows_reasons_and_send_button(client, team, marketer):
    lead = LeadFactory(status="mql")
    client.force_login(marketer)

    response = client.get(reverse("handoff:lead", args=[lead.pk]))

    assert response.context["can_send"] is True
    assert 'data-testid="send-to-sales"' in response.content.decode()


def test_routing_dry_run_page(client, team, revops):
    reps, _ = team
    lead = LeadFactory(status="mql")
    client.force_login(revops)

    response = client.get(reverse("handoff:routing"), {"lead_id": lead.pk})

    assert response.context["dry_run"]["trace"]["rep_id"] == reps[0].pk
    assert Handoff.objects.count() == 0


def test_rule_create_and_move(client, revops):
    first = RoutingRuleFactory(name="First", position=10)
    client.force_login(revops)

    client.post(
        reverse("handoff:rule_create"),
        {
            "name": "Europe",
            "regions": "europe, middle_east_africa",
            "strategy": "round_robin",
            "sla_hours": "4",
        },
    )
    created = RoutingRule.objects.get(name="Europe")
    client.post(reverse("handoff:rule_move", args=[created.pk]), {"direction": "up"})

    assert created.regions == ["europe", "middle_east_africa"]
    assert list(RoutingRule.objects.order_by("position").values_list("name", flat=True)) == [
        "Europe",
        "First",
    ]
    first.refresh_from_db()
    assert first.position == 20


def test_rep_edit_sets_out_of_office(client, revops):
    rep = RepFactory()
    client.force_login(revops)

    client.post(
        reverse("handoff:rep_edit", args=[rep.pk]),
        {"capacity": 7, "is_active": "on", "out_of_office_until": "2030-05-01"},
    )

    rep.refresh_from_db()
    assert rep.capacity == 7
    assert rep.out_of_office_until == dt.date(2030, 5, 1)


def test_rep_edit_rejects_capacity_over_maximum(client, revops):
    rep = RepFactory(capacity=5)
    client.force_login(revops)

    response = client.post(
        reverse("handoff:rep_edit", args=[rep.pk]), {"capacity": 2**40, "is_active": "on"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "capacity": ["Ensure this value is less than or equal to 1000."]
    }
    rep.refresh_from_db()
    assert rep.capacity == 5


def test_settings_page_saves_required_fields(client, revops, handoff_settings):
    client.force_login(revops)

    client.post(
        reverse("handoff:settings"),
        {
            "required_context_fields": ["interests", "phone"],
            "required_qualification_fields": ["next_step"],
            "default_sla_hours": "6",
            "auto_fit_threshold": "55",
            "auto_event_kinds": ["quote_request"],
            "auto_window_days": "14",
        },
    )

    handoff_settings.refresh_from_db()
    assert handoff_settings.required_context_fields == ["interests", "phone"]
    assert handoff_settings.required_qualification_fields == ["next_step"]
    assert handoff_settings.auto_window_days == 14


def test_manager_page_query_count_constant(client, team, sales_manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    send(LeadFactory(status="mql"))
    client.force_login(sales_manager)
    client.get(reverse("handoff:manager"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("handoff:manager"))
    for _ in range(4):
        send(LeadFactory(status="mql"))

    with CaptureQueriesContext(connection) as many:
        client.get(reverse("handoff:manager"))

    assert len(many) == len(few)


def test_manager_page_age_counts_from_first_send(client, team, sales_manager):
    handoff = send(LeadFactory(status="mql"))
    successor = services.handoff_reassign(
        handoff_id=handoff.pk, actor=sales_manager, to_rep_id=team[0][1].pk
    )
    client.force_login(sales_manager)

    response = client.get(reverse("handoff:manager"))

    row = response.context["rows"][0]
    assert row["handoff"] == successor
    assert row["sent_at"] == handoff.events.get(kind="sent").created_at


def test_feedback_tag_renders_loss_reason(team, marketer):
    from django.template import Context, Template

    handoff = send(LeadFactory(status="mql"))
    services.handoff_accept(
        handoff_id=handoff.pk,
        actor=handoff.rep.user,
        qualification={"confirmed_need": "New line"},
        next_step="Demo",
        next_step_date=dt.date.today() + dt.timedelta(days=1),
    )
    services.handoff_close(
        handoff_id=handoff.pk,
        actor=handoff.rep.user,
        outcome="lost",
        reason="lost_to_competitor",
        note="Chose a local supplier",
    )

    html = Template("{% load handoff_tags %}{% handoff_feedback lead %}").render(
        Context({"lead": handoff.lead})
    )

    assert "Lost to a competitor" in html
    assert "Chose a local supplier" in html
