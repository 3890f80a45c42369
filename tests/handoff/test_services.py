import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from handoff import services
from handoff.errors import (
    HandoffNotPending,
    InvalidHandoffInput,
    NotAllowed,
    QualificationMissing,
    RoutingRuleNotFound,
)
from handoff.models import Handoff, HandoffEvent, HandoffStatus, RoutingRule
from leadflow.roles import MARKETING
from leads.models import Lead, StatusChange
from tests.factories import (
    EngagementEventFactory,
    LeadFactory,
    RepFactory,
    RoutingRuleFactory,
    UserFactory,
)

pytestmark = pytest.mark.usefixtures("handoff_settings")

TOMORROW = dt.date.today() + dt.timedelta(days=1)
QUALIFICATION = {"confirmed_need": "Replacing two CNC cells in Q3", "process_fit": "5-axis milling"}


def send_one(lead, **kwargs):
    result = services.handoff_send(lead_ids=[lead.pk], **kwargs)
    assert result.errors == []
    return result.created[0]


def accept(handoff, rep, **overrides):
    arguments = {
        "handoff_id": handoff.pk,
        "actor": rep.user,
        "qualification": QUALIFICATION,
        "next_step": "Site visit",
        "next_step_date": TOMORROW,
    }
    arguments.update(overrides)
    return services.handoff_accept(**arguments)


# --- send ------------------------------------------------------------------------------------


def test_send_snapshots_context(team, mql, marketer):
    mql.marketing_notes = "Met at the spring expo."
    mql.score_breakdown = {"fit": [{"rule": "core-segment", "points": 20}], "engagement": []}
    mql.save()

    handoff = send_one(mql, actor=marketer, marketing_notes="Wants a quote for 3 machines.")

    assert handoff.sent_by == marketer
    assert handoff.context["interests"] == ["cnc_machines"]
    assert handoff.context["campaign_source"]["first_touch_campaign"] == "spring-expo"
    assert handoff.context["fit"] == {
        "score": 70,
        "rules": [{"rule": "core-segment", "points": 20}],
    }
    assert handoff.context["account"]["segment"] == "automotive"
    assert (
        handoff.context["marketing_notes"]
        == "Met at the spring expo.\n\nWants a quote for 3 machines."
    )


def test_send_context_lists_qualifying_events_from_breakdown(team, mql):
    quote = EngagementEventFactory(lead=mql, kind="quote_request")
    EngagementEventFactory(lead=mql, kind="page_view")
    mql.score_breakdown = {"fast_track": {"kind": "quote_request", "event_id": quote.pk}}
    mql.save()

    handoff = send_one(mql)

    assert [event["id"] for event in handoff.context["qualifying_events"]] == [quote.pk]


def test_send_rejects_lead_not_mql(team):
    lead = LeadFactory(status="new")

    result = services.handoff_send(lead_ids=[lead.pk])

    assert result.created == []
    assert result.errors == [
        {
            "lead_id": lead.pk,
            "code": "lead_not_qualified",
            "message": f"Lead {lead.pk} is new; only MQLs can be sent to sales.",
        }
    ]
    assert Handoff.objects.count() == 0


def test_send_twice_reports_open_handoff(team, mql):
    send_one(mql)

    result = services.handoff_send(lead_ids=[mql.pk])

    assert result.errors[0]["code"] == "handoff_already_open"
    assert Handoff.objects.filter(lead=mql).count() == 1


def test_send_requires_configured_context(team, handoff_settings):
    handoff_settings.required_context_fields = ["interests", "marketing_notes"]
    handoff_settings.save()
    lead = LeadFactory(status="mql", interests=[])

    result = services.handoff_send(lead_ids=[lead.pk])

    assert result.errors == [
        {
            "lead_id": lead.pk,
            "code": "handoff_context_missing",
            "message": f"Lead {lead.pk} is missing product interests, marketing notes; "
            "fill them in before handing it to sales.",
        }
    ]
    assert Handoff.objects.count() == 0
    assert HandoffEvent.objects.count() == 0


def test_send_note_satisfies_required_marketing_notes(team, handoff_settings, mql):
    handoff_settings.required_context_fields = ["marketing_notes"]
    handoff_settings.save()

    result = services.handoff_send(lead_ids=[mql.pk], marketing_notes="Budget approved.")

    assert len(result.created) == 1


def test_send_bulk_keeps_valid_leads(team):
    good = [LeadFactory(status="mql") for _ in range(2)]
    bad = LeadFactory(status="nurture")

    result = services.handoff_send(lead_ids=[good[0].pk, bad.pk, good[1].pk, 999_999])

    assert [handoff.lead_id for handoff in result.created] == [good[0].pk, good[1].pk]
    assert [error["lead_id"] for error in result.errors] == [bad.pk, 999_999]
    assert result.errors[1]["message"] == "Lead 999999 does not exist."


def test_one_open_handoff_per_lead_enforced_by_database(team, mql):
    from django.db import IntegrityError, transaction

    send_one(mql)

    with pytest.raises(IntegrityError), transaction.atomic():
        Handoff.objects.create(lead=mql, status=HandoffStatus.PENDING)


# --- accept -----------------------------------------------------------------------------------


def test_accept_makes_lead_sql_owned_by_rep(team, mql):
    handoff = send_one(mql)
    rep = handoff.rep

    accepted = accept(handoff, rep)

    mql.refresh_from_db()
    assert accepted.status == HandoffStatus.ACCEPTED
    assert accepted.next_step == "Site visit"
    assert accepted.next_step_date == TOMORROW
    assert accepted.qualification == {**QUALIFICATION, "next_step": "Site visit"}
    assert mql.status == "sql"
    assert mql.owner == rep.user
    change = StatusChange.objects.get(lead=mql)
    assert change.rule == "handoff.accept"
    assert change.actor == rep.user


def test_accept_missing_required_fields_changes_nothing(team, mql):
    handoff = send_one(mql)

    with pytest.raises(QualificationMissing) as raised:
        accept(handoff, handoff.rep, qualification={}, next_step="", next_step_date=None)

    assert raised.value.message == "Fill in confirmed need, next step, next step date."
    assert set(raised.value.extra["fields"]) == {"confirmed_need", "next_step", "next_step_date"}
    handoff.refresh_from_db()
    mql.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING
    assert mql.status == "mql"
    assert mql.owner is None


def test_accept_honours_configured_fields(team, mql, handoff_settings):
    handoff_settings.required_qualification_fields = ["technical_requirements"]
    handoff_settings.save()
    handoff = send_one(mql)

    with pytest.raises(QualificationMissing, match=r"Fill in technical requirements\."):
        accept(handoff, handoff.rep)


def test_accept_rejects_past_next_step_date(team, mql):
    handoff = send_one(mql)

    with pytest.raises(QualificationMissing) as raised:
        accept(handoff, handoff.rep, next_step_date=dt.date(2020, 1, 1))

    assert raised.value.extra["fields"]["next_step_date"] == [
        "2020-01-01 is in the past; give the date the next step happens."
    ]


def test_accept_by_other_rep_not_allowed(team, mql):
    reps, _ = team
    handoff = send_one(mql)

    with pytest.raises(NotAllowed, match="assigned to another rep"):
        accept(handoff, reps[1])

    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING


def test_accept_twice_conflicts(team, mql):
    handoff = send_one(mql)
    accept(handoff, handoff.rep)

    with pytest.raises(HandoffNotPending, match="is already accepted"):
        accept(handoff, handoff.rep)

    assert StatusChange.objects.filter(lead=mql).count() == 1


def test_queue_handoff_claimed_by_available_rep(mql):
    handoff = send_one(mql)
    claimer = RepFactory()
    assert handoff.rep is None

    accepted = accept(handoff, claimer)

    assert accepted.rep == claimer
    mql.refresh_from_db()
    assert mql.owner == claimer.user


# --- reject -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "lead_status"),
    [
        ("not_a_fit", "disqualified"),
        ("no_active_need", "nurture"),
        ("wrong_contact", "disqualified"),
        ("duplicate", "disqualified"),
        ("bad_timing", "nurture"),
    ],
)
def test_reject_moves_lead_by_reason(team, mql, reason, lead_status):
    handoff = send_one(mql)

    rejected = services.handoff_reject(
        handoff_id=handoff.pk, actor=handoff.rep.user, reason=reason, note="Spoke to them."
    )

    mql.refresh_from_db()
    assert rejected.status == HandoffStatus.REJECTED
    assert rejected.reject_reason == reason
    assert rejected.reject_note == "Spoke to them."
    assert mql.status == lead_status
    event = rejected.events.get(kind="rejected")
    assert event.data == {"reason": reason, "lead_status": lead_status}


def test_reject_unknown_reason_changes_nothing(team, mql):
    handoff = send_one(mql)

    with pytest.raises(InvalidHandoffInput, match="'meh' is not a rejection reason"):
        services.handoff_reject(handoff_id=handoff.pk, actor=handoff.rep.user, reason="meh")

    handoff.refresh_from_db()
    mql.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING
    assert mql.status == "mql"


def test_reject_by_marketer_not_allowed(team, mql):
    handoff = send_one(mql)
    marketer = UserFactory(roles=[MARKETING])

    with pytest.raises(NotAllowed):
        services.handoff_reject(handoff_id=handoff.pk, actor=marketer, reason="duplicate")


# --- withdraw, reassign -------------------------------------------------------------------------


def test_withdraw_keeps_lead_mql_and_frees_it(team, mql, marketer):
    handoff = send_one(mql)

    services.handoff_withdraw(handoff_id=handoff.pk, actor=marketer, note="Sent too early.")

    handoff.refresh_from_db()
    mql.refresh_from_db()
    assert handoff.status == HandoffStatus.WITHDRAWN
    assert mql.status == "mql"
    assert len(services.handoff_send(lead_ids=[mql.pk]).created) == 1


def test_manager_reassigns_to_chosen_rep(team, mql, sales_manager):
    reps, _ = team
    handoff = send_one(mql)

    successor = services.handoff_reassign(
        handoff_id=handoff.pk, actor=sales_manager, to_rep_id=reps[2].pk, note="Knows the plant."
    )

    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.REASSIGNED
    assert successor.rep == reps[2]
    assert successor.previous == handoff
    assert successor.routing["step"] == "manual"
    assert successor.routing["reason"] == "Knows the plant."
    event = handoff.events.get(kind="reassigned")
    assert event.actor == sales_manager
    assert event.data["to_rep_id"] == reps[2].pk


def test_reassign_to_rep_at_capacity_rejected(team, mql, sales_manager):
    reps, _ = team
    reps[1].capacity = 0
    reps[1].save()
    handoff = send_one(mql)

    with pytest.raises(InvalidHandoffInput, match="at capacity"):
        services.handoff_reassign(handoff_id=handoff.pk, actor=sales_manager, to_rep_id=reps[1].pk)

    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING
    assert Handoff.objects.count() == 1


def test_reassign_by_rep_not_allowed(team, mql):
    reps, _ = team
    handoff = send_one(mql)

    with pytest.raises(NotAllowed):
        services.handoff_reassign(handoff_id=handoff.pk, actor=reps[0].user, to_rep_id=reps[1].pk)


# --- close -----------------------------------------------------------------------------------


def test_close_won_moves_lead_and_records_reason(team, mql):
    handoff = accept(send_one(mql), team[0][0])

    closed = services.handoff_close(
        handoff_id=handoff.pk, actor=handoff.rep.user, outcome="won", reason="product_fit"
    )

    mql.refresh_from_db()
    assert closed.outcome == "won"
    assert closed.outcome_reason == "product_fit"
    assert closed.closed_at is not None
    assert mql.status == "won"


def test_close_lost_with_won_reason_rejected(team, mql):
    handoff = accept(send_one(mql), team[0][0])

    with pytest.raises(InvalidHandoffInput, match="'product_fit' is not a reason for lost"):
        services.handoff_close(
            handoff_id=handoff.pk, actor=handoff.rep.user, outcome="lost", reason="product_fit"
        )

    mql.refresh_from_db()
    assert mql.status == "sql"


def test_close_pending_handoff_conflicts(team, mql):
    handoff = send_one(mql)

    with pytest.raises(HandoffNotPending, match="is not an open SQL"):
        services.handoff_close(
            handoff_id=handoff.pk, actor=handoff.rep.user, outcome="lost", reason="no_budget"
        )


# --- automatic handoff --------------------------------------------------------------------------


def test_auto_handoff_sends_fit_lead_with_intent(team, auto_enabled):
    ready = LeadFactory(status="mql", fit_score=65)
    EngagementEventFactory(lead=ready, kind="quote_request")

    result = services.handoff_auto_for_leads(lead_ids=[ready.pk])

    assert [handoff.lead_id for handoff in result.created] == [ready.pk]
    assert result.created[0].sent_rule == "handoff.auto"
    assert result.created[0].sent_by is None


@pytest.mark.parametrize(
    ("fit_score", "kind", "days_ago", "status"),
    [
        (59, "quote_request", 1, "mql"),  # fit below threshold
        (65, "page_view", 1, "mql"),  # no high-intent event
        (65, "quote_request", 31, "mql"),  # intent too old
        (65, "quote_request", 1, "new"),  # not an MQL
    ],
)
def test_auto_handoff_skips_unready_leads(team, auto_enabled, fit_score, kind, days_ago, status):
    from django.utils import timezone

    lead = LeadFactory(status=status, fit_score=fit_score)
    EngagementEventFactory(
        lead=lead, kind=kind, occurred_at=timezone.now() - dt.timedelta(days=days_ago)
    )

    result = services.handoff_auto_for_leads(lead_ids=[lead.pk])

    assert result.created == []
    assert Handoff.objects.count() == 0


def test_auto_handoff_disabled_sends_nothing(team, handoff_settings):
    lead = LeadFactory(status="mql", fit_score=90)
    EngagementEventFactory(lead=lead, kind="quote_request")

    assert services.handoff_auto_for_leads(lead_ids=[lead.pk]).created == []


def test_auto_handoff_task_by_name(team, auto_enabled):
    from leadflow.celery import app

    lead = LeadFactory(status="mql", fit_score=70)
    EngagementEventFactory(lead=lead, kind="quote_request")

    # apply() runs the task in this process whether or not a broker is configured.
    outcome = app.signature("handoff.auto_handoff", args=[[lead.pk]]).apply().get()

    assert outcome == {"created": 1, "errors": 0}

    assert Handoff.objects.filter(lead=lead, status="pending").count() == 1


# --- concurrency ---------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reps_accepting_at_once_leave_one_owner(monkeypatch):
    """Two reps claim the same queued handoff at once; the row lock lets exactly one own the lead."""
    services.handoff_settings_update(actor=None, required_context_fields=[])
    lead = LeadFactory(status="mql")
    handoff = services.handoff_send(lead_ids=[lead.pk]).created[0]
    assert handoff.rep is None
    reps = [RepFactory(), RepFactory()]
    real_transition = services.lead_transition

    def slow_transition(**kwargs):
        # Widen the window between locking the handoff and writing the decision.
        time.sleep(0.3)
        return real_transition(**kwargs)

    monkeypatch.setattr(services, "lead_transition", slow_transition)
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def claim(rep):
        barrier.wait()
        try:
            accept(handoff, rep)
            outcomes[rep.pk] = "accepted"
        except HandoffNotPending:
            outcomes[rep.pk] = "conflict"
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(rep,)) for rep in reps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["accepted", "conflict"]
    winner = next(rep for rep in reps if outcomes[rep.pk] == "accepted")
    lead.refresh_from_db()
    handoff.refresh_from_db()
    assert lead.status == "sql"
    assert lead.owner_id == winner.user_id
    assert handoff.rep_id == winner.pk
    assert StatusChange.objects.filter(lead=lead).count() == 1
    assert HandoffEvent.objects.filter(handoff=handoff, kind="accepted").count() == 1


def test_lead_owner_not_set_for_reassigned_handoff(team, mql, sales_manager):
    reps, _ = team
    handoff = send_one(mql)
    services.handoff_reassign(handoff_id=handoff.pk, actor=sales_manager, to_rep_id=reps[2].pk)

    with pytest.raises(HandoffNotPending, match="is already reassigned"):
        accept(handoff, handoff.rep)

    assert Lead.objects.get(pk=mql.pk).owner is None


def test_beat_schedules_sla_sweep():
    from django.conf import settings

    from leadflow.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["handoff-escalate-overdue"]
    assert entry["task"] == "handoff.escalate_overdue"
    assert "handoff.escalate_overdue" in app.tasks


# --- dated actions (the `now` parameter) ---------------------------------------------------------

# A Monday; the test reps have no territory, so their SLA counts 09:00-17:00 UTC on weekdays.
SENT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def test_send_dated_dates_handoff_and_trail(team, mql):
    handoff = send_one(mql, now=SENT)

    handoff.refresh_from_db()
    handoff.rep.refresh_from_db()
    assert handoff.created_at == SENT
    assert handoff.due_at == dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)
    assert handoff.rep.last_assigned_at == SENT
    assert [(event.kind, event.created_at) for event in handoff.events.all()] == [
        ("sent", SENT),
        ("assigned", SENT),
    ]


def test_send_dated_skips_later_events(team, mql):
    earlier = EngagementEventFactory(
        lead=mql, kind="demo_request", occurred_at=SENT - dt.timedelta(days=1)
    )
    EngagementEventFactory(lead=mql, kind="quote_request", occurred_at=SENT + dt.timedelta(days=1))

    handoff = send_one(mql, now=SENT)

    assert [event["id"] for event in handoff.context["qualifying_events"]] == [earlier.pk]


def test_send_undated_keeps_future_events(team, mql):
    # Ingestion accepts events a little in the future from a sender whose clock runs ahead.
    ahead = EngagementEventFactory(
        lead=mql, kind="quote_request", occurred_at=timezone.now() + dt.timedelta(minutes=2)
    )

    handoff = send_one(mql)

    assert [event["id"] for event in handoff.context["qualifying_events"]] == [ahead.pk]


def test_accept_dated_dates_lead_change(team, mql):
    handoff = send_one(mql, now=SENT)
    decided = SENT + dt.timedelta(hours=2)

    accepted = accept(handoff, handoff.rep, next_step_date=dt.date(2026, 3, 5), now=decided)

    mql.refresh_from_db()
    assert accepted.decided_at == decided
    assert accepted.events.get(kind="accepted").created_at == decided
    assert StatusChange.objects.get(lead=mql, to_status="sql").created_at == decided
    assert mql.status_changed_at == decided


def test_accept_dated_rejects_earlier_next_step(team, mql):
    handoff = send_one(mql, now=SENT)

    with pytest.raises(QualificationMissing) as raised:
        accept(handoff, handoff.rep, next_step_date=dt.date(2026, 3, 1), now=SENT)

    assert raised.value.extra["fields"] == {
        "next_step_date": ["2026-03-01 is in the past; give the date the next step happens."]
    }
    handoff.refresh_from_db()
    mql.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING
    assert mql.status == "mql"


def test_reject_dated_dates_lead_change(team, mql):
    handoff = send_one(mql, now=SENT)
    decided = SENT + dt.timedelta(hours=3)

    rejected = services.handoff_reject(
        handoff_id=handoff.pk, actor=handoff.rep.user, reason="bad_timing", now=decided
    )

    assert rejected.decided_at == decided
    assert rejected.events.get(kind="rejected").created_at == decided
    assert StatusChange.objects.get(lead=mql, to_status="nurture").created_at == decided


def test_withdraw_dated_records_time(team, mql, marketer):
    handoff = send_one(mql, now=SENT)
    withdrawn_at = SENT + dt.timedelta(minutes=20)

    withdrawn = services.handoff_withdraw(handoff_id=handoff.pk, actor=marketer, now=withdrawn_at)

    assert withdrawn.decided_at == withdrawn_at
    assert withdrawn.events.get(kind="withdrawn").created_at == withdrawn_at


def test_reassign_dated_counts_sla_from_then(team, mql, sales_manager):
    reps, _ = team
    handoff = send_one(mql, now=SENT)
    moved = SENT + dt.timedelta(hours=1)
    to_rep = next(rep for rep in reps if rep.pk != handoff.rep_id)

    successor = services.handoff_reassign(
        handoff_id=handoff.pk, actor=sales_manager, to_rep_id=to_rep.pk, now=moved
    )

    assert successor.created_at == moved
    assert successor.due_at == dt.datetime(2026, 3, 3, 11, 0, tzinfo=dt.UTC)
    assert handoff.events.get(kind="reassigned").created_at == moved


def test_breach_dates_successor_and_trail(team, mql):
    handoff = send_one(mql, now=SENT)
    swept = dt.datetime(2026, 3, 3, 10, 30, tzinfo=dt.UTC)

    successor = services.handoff_breach(handoff_id=handoff.pk, now=swept)

    assert successor is not None
    assert successor.created_at == swept
    assert [
        (event.kind, event.created_at)
        for event in HandoffEvent.objects.filter(handoff=handoff).order_by("id")
    ][2:] == [("sla_breached", swept), ("escalated", swept), ("reassigned", swept)]


def test_close_dated_dates_lead_change(team, mql):
    handoff = accept(send_one(mql, now=SENT), team[0][0], now=SENT, next_step_date=SENT.date())
    closed_at = SENT + dt.timedelta(days=4)

    closed = services.handoff_close(
        handoff_id=handoff.pk,
        actor=handoff.rep.user,
        outcome="lost",
        reason="no_budget",
        now=closed_at,
    )

    assert closed.closed_at == closed_at
    assert closed.events.get(kind="lost").created_at == closed_at
    assert StatusChange.objects.get(lead=mql, to_status="lost").created_at == closed_at


def test_update_of_missing_rule_not_found(revops):
    with pytest.raises(RoutingRuleNotFound) as raised:
        services.routing_rule_update(rule_id=424242, actor=revops, fields={"name": "Gone"})

    assert raised.value.message == "Routing rule 424242 does not exist."
    assert raised.value.status_code == 404
    assert RoutingRule.objects.count() == 0


def test_delete_of_missing_rule_not_found(revops):
    remaining_rule = RoutingRuleFactory()

    with pytest.raises(RoutingRuleNotFound) as raised:
        services.routing_rule_delete(rule_id=424242, actor=revops)

    assert raised.value.message == "Routing rule 424242 does not exist."
    assert list(RoutingRule.objects.all()) == [remaining_rule]
