import datetime as dt
import io
import re
import sys
from collections import Counter

import pytest
import time_machine
from django.core.management import CommandError, call_command

from handoff.context import missing_context
from handoff.demo import RULE_DEMO
from handoff.demo.story import demo_handoff_ids
from handoff.models import (
    Handoff,
    HandoffEvent,
    HandoffSettings,
    HandoffStatus,
    RejectReason,
    Rep,
    RoutingRule,
    Territory,
)
from handoff.services import REJECT_TARGET_STATUS
from handoff.sla import add_business_hours, calendar_for_rep
from leads.models import Lead, StatusChange
from tests.factories import (
    HandoffFactory,
    LeadFactory,
    RepFactory,
    RoutingRuleFactory,
    TerritoryFactory,
)

# Enough leads for every state to occur at least once; the full demo has 2,000.
SMALL = ["--accounts", "40", "--leads", "250", "--events", "2500"]
# A few handoffs, for the tests of running again and resetting.
TINY = ["--accounts", "12", "--leads", "80", "--events", "800"]
# The users and the sales team without any lead.
NO_LEADS = ["--accounts", "0", "--leads", "0", "--events", "0"]
# A Wednesday afternoon, so that the latest handoffs straddle their due times.
NOW = dt.datetime(2026, 11, 18, 15, 0, tzinfo=dt.UTC)
DEMO_REPS = {"rep", "rep.emea", "rep.americas", "rep.apac"}

pytestmark = pytest.mark.django_db


def run(command, *args):
    output = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command(command, *args, stdout=output)
    return output.getvalue()


def seed_demo(*args, size=SMALL):
    return run("seed_demo", *size, *args)


def handoff_line(output):
    return next(line for line in output.splitlines() if line.startswith("Handed off"))


def demo_handoffs():
    return Handoff.objects.filter(pk__in=demo_handoff_ids()).select_related("lead", "rep__user")


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hash the seven demo passwords with a fast hasher; the default takes a few hundred milliseconds each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- the sales team ------------------------------------------------------------------------------


def test_seed_demo_creates_territories_with_calendars():
    seed_demo(size=NO_LEADS)

    territories = {territory.code: territory for territory in Territory.objects.order_by("code")}
    assert {code: territory.timezone for code, territory in territories.items()} == {
        "asia_pacific": "Asia/Singapore",
        "europe": "Europe/Berlin",
        "latin_america": "America/Sao_Paulo",
        "middle_east_africa": "Asia/Dubai",
        "north_america": "America/Chicago",
    }
    assert territories["europe"].day_start == dt.time(8, 0)
    assert territories["europe"].day_end == dt.time(17, 0)
    assert territories["europe"].work_days == [0, 1, 2, 3, 4]
    assert "2026-12-25" in territories["europe"].holidays
    assert "2026-11-26" in territories["north_america"].holidays


def test_seed_demo_creates_reps_of_sales_users():
    seed_demo(size=NO_LEADS)

    reps = {rep.user.username: rep for rep in Rep.objects.select_related("user", "manager")}
    assert set(reps) == DEMO_REPS
    assert {rep.manager.username for rep in reps.values()} == {"manager"}
    assert [name for name, rep in reps.items() if rep.is_technical_expert] == ["rep"]
    assert {
        name: sorted(rep.territories.values_list("code", flat=True)) for name, rep in reps.items()
    } == {
        "rep": ["europe", "latin_america"],
        "rep.emea": ["europe", "middle_east_africa"],
        "rep.americas": ["latin_america", "north_america"],
        "rep.apac": ["asia_pacific"],
    }
    # Out of office until Wednesday of the week after NOW.
    assert {name: rep.out_of_office_until for name, rep in reps.items()} == {
        "rep": None,
        "rep.emea": None,
        "rep.americas": None,
        "rep.apac": dt.date(2026, 11, 25),
    }


def test_seed_demo_creates_ordered_rules_and_settings():
    seed_demo(size=NO_LEADS)

    assert [
        (rule.position, rule.name, rule.strategy, int(rule.sla_hours))
        for rule in RoutingRule.objects.all()
    ] == [
        (10, "Europe, Middle East and Africa: least loaded", "least_loaded", 8),
        (20, "Americas: round robin", "round_robin", 8),
        (30, "Asia Pacific: round robin", "round_robin", 12),
        (40, "Machine vision overflow, any region", "least_loaded", 16),
    ]
    settings_row = HandoffSettings.objects.get(pk=1)
    assert settings_row.required_context_fields == [
        "interests",
        "campaign_source",
        "qualifying_engagement",
    ]
    assert settings_row.required_qualification_fields == [
        "confirmed_need",
        "process_fit",
        "next_step",
        "next_step_date",
    ]
    assert settings_row.auto_handoff_enabled is False


# --- the handoffs --------------------------------------------------------------------------------


def test_seed_demo_hands_off_in_every_state():
    output = seed_demo()

    handoffs = list(demo_handoffs())
    statuses = Counter(handoff.status for handoff in handoffs)
    assert statuses[HandoffStatus.PENDING] >= 1
    assert statuses[HandoffStatus.WITHDRAWN] >= 1
    assert statuses[HandoffStatus.REASSIGNED] >= 1
    accepted = [handoff for handoff in handoffs if handoff.status == HandoffStatus.ACCEPTED]
    assert Counter(handoff.outcome for handoff in accepted).keys() == {"", "won", "lost"}
    rejected = [handoff for handoff in handoffs if handoff.status == HandoffStatus.REJECTED]
    assert {handoff.reject_reason for handoff in rejected} == set(RejectReason.values)
    assert HandoffEvent.objects.filter(kind="sla_breached").exists()
    assert Lead.objects.filter(status="mql").exclude(handoffs__status="pending").exists()
    assert re.sub(r" in [0-9.]+ s:", " in N s:", handoff_line(output)) == (
        "Handed off 17 of 31 MQLs to 4 reps in N s: 4 pending (1 overdue, 0 in the fallback "
        "queue), 2 open SQLs, 1 won, 2 lost, 7 rejected, 1 withdrawn, 1 reassigned; "
        "15 MQLs wait in the queue."
    )


def test_seed_demo_handoffs_are_dated_in_the_past():
    seed_demo()

    for handoff in demo_handoffs():
        assert NOW - dt.timedelta(days=28) <= handoff.created_at <= NOW
        assert handoff.due_at > handoff.created_at
        if handoff.decided_at:
            assert handoff.created_at <= handoff.decided_at <= NOW
        if handoff.closed_at:
            assert handoff.decided_at < handoff.closed_at <= NOW


def test_seed_demo_handoffs_meet_service_checks():
    seed_demo()

    settings_row = HandoffSettings.objects.get(pk=1)
    for handoff in demo_handoffs():
        assert missing_context(handoff.context, settings_row.required_context_fields) == []
        if handoff.status == HandoffStatus.ACCEPTED:
            assert set(handoff.qualification) >= {"confirmed_need", "process_fit"}
            assert handoff.next_step
            assert handoff.next_step_date >= handoff.decided_at.date()
            assert handoff.lead.owner == handoff.rep.user
            assert handoff.lead.status == (handoff.outcome or "sql")
        elif handoff.status == HandoffStatus.REJECTED:
            assert handoff.reject_note
            assert handoff.lead.status == REJECT_TARGET_STATUS[handoff.reject_reason]
        elif handoff.status == HandoffStatus.PENDING:
            assert handoff.lead.status == "mql"


def test_seed_demo_lead_changes_match_handoff_decisions():
    seed_demo()

    for handoff in demo_handoffs().filter(status=HandoffStatus.ACCEPTED):
        change = StatusChange.objects.get(lead=handoff.lead, to_status="sql")
        assert change.created_at == handoff.decided_at
        assert change.rule == "handoff.accept"
        assert change.actor == handoff.rep.user


def test_seed_demo_leads_qualify_before_their_handoffs():
    seed_demo()

    first_handoffs = demo_handoffs().filter(previous__isnull=True)
    assert first_handoffs.count() == 17
    for handoff in first_handoffs:
        lead = handoff.lead
        changes = list(StatusChange.objects.filter(lead=lead).order_by("created_at", "id"))
        assert changes[0].to_status == "mql"
        assert lead.created_at < changes[0].created_at < handoff.created_at
        # The lifecycle reads in order: every later change comes from the status before it.
        assert [change.from_status for change in changes[1:]] == [
            change.to_status for change in changes[:-1]
        ]


def test_seed_demo_mql_dates_match_lead_status_dates():
    seed_demo()

    mqls = Lead.objects.filter(status="mql")
    # The 15 MQLs that wait in the queue, among them one withdrawn, and the 4 pending handoffs.
    assert mqls.count() == 15 + 4
    for lead in mqls:
        change = StatusChange.objects.get(lead=lead, to_status="mql")
        assert lead.status_changed_at == change.created_at
        assert lead.created_at < change.created_at < NOW


def test_seed_demo_due_times_follow_routing_sla():
    seed_demo()

    settings_row = HandoffSettings.objects.get(pk=1)
    for handoff in demo_handoffs().select_related("routing_rule"):
        sla_hours = (
            handoff.routing_rule.sla_hours
            if handoff.routing_rule
            else settings_row.default_sla_hours
        )
        routed_rep = Rep.objects.filter(pk=handoff.routing["rep_id"]).first()
        assert handoff.due_at == add_business_hours(
            handoff.created_at, sla_hours, calendar_for_rep(routed_rep)
        )


def test_seed_demo_writes_handoffs_only_through_services(monkeypatch):
    writers = Counter()

    def spy(save):
        def wrapped(self, *args, **kwargs):
            frame = sys._getframe(1)
            while frame.f_globals.get("__name__", "").startswith("django."):
                frame = frame.f_back
            writers[(type(self).__name__, frame.f_globals["__name__"])] += 1
            return save(self, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(Handoff, "save", spy(Handoff.save))
    monkeypatch.setattr(HandoffEvent, "save", spy(HandoffEvent.save))

    seed_demo()

    assert {module for _, module in writers} == {"handoff.services"}
    assert writers[("Handoff", "handoff.services")] >= Handoff.objects.count()


# --- running again, reset ------------------------------------------------------------------------


def test_seed_demo_handoff_second_run_changes_nothing():
    seed_demo(size=TINY)
    before = sorted(Handoff.objects.values_list("pk", "status", "rep_id"))

    output = run("seed_demo_handoff")

    assert output == "Demo handoffs already exist; use --reset to rebuild them.\n"
    assert sorted(Handoff.objects.values_list("pk", "status", "rep_id")) == before
    assert Rep.objects.count() == 4
    assert RoutingRule.objects.count() == 4


def test_seed_demo_second_run_leaves_handoffs():
    seed_demo(size=TINY)
    count = Handoff.objects.count()

    output = seed_demo(size=TINY)

    assert output.startswith(
        "Demo data already exists; use --reset to rebuild it.\n"
        "Demo handoffs already exist; use --reset to rebuild them.\n"
    )
    assert Handoff.objects.count() == count


def test_seed_demo_handoff_reset_keeps_other_data():
    seed_demo(size=TINY)
    other_territory = TerritoryFactory(code="benelux")
    other_rep = RepFactory(territories=[other_territory])
    other_rule = RoutingRuleFactory(name="Benelux", territories=[other_territory], position=90)
    other_handoff = HandoffFactory(rep=other_rep)
    demo_count = len(demo_handoff_ids())

    output = run("seed_demo_handoff", "--reset")

    assert output.splitlines()[0] == (
        f"Deleted {demo_count} demo handoffs, 4 reps, 4 routing rules and 5 territories."
    )
    assert Handoff.objects.filter(pk=other_handoff.pk).exists()
    assert Rep.objects.filter(pk=other_rep.pk).exists()
    assert RoutingRule.objects.filter(pk=other_rule.pk).exists()
    assert Territory.objects.filter(code="benelux").exists()
    assert set(Rep.objects.values_list("user__username", flat=True)) == {
        *DEMO_REPS,
        other_rep.user.username,
    }
    assert Handoff.objects.filter(sent_rule=RULE_DEMO).exists()


def test_seed_demo_reset_rebuilds_same_handoffs():
    first = handoff_line(seed_demo(size=TINY))
    statuses = sorted(Handoff.objects.values_list("status", flat=True))

    output = seed_demo("--reset", size=TINY)

    # Deleting the demo leads took their handoffs along.
    assert "Deleted 0 demo handoffs, 4 reps, 4 routing rules and 5 territories." in output
    assert output.startswith("Deleted 80 demo leads")
    assert handoff_line(output).split(": ", 1)[1] == first.split(": ", 1)[1]
    assert sorted(Handoff.objects.values_list("status", flat=True)) == statuses
    assert Rep.objects.count() == 4
    assert Territory.objects.count() == 5


def test_reset_stops_when_demo_rep_holds_other_handoff():
    seed_demo(size=TINY)
    demo_rep = Rep.objects.get(user__username="rep.emea")
    HandoffFactory(rep=demo_rep, lead=LeadFactory(status="mql"))
    handoffs = Handoff.objects.count()

    with pytest.raises(CommandError) as raised:
        run("seed_demo_handoff", "--reset")

    assert str(raised.value) == (
        "The demo reps hold 1 handoffs that the demo did not create; "
        "reassign or delete them before the reset."
    )
    assert Handoff.objects.count() == handoffs
    assert Rep.objects.count() == 4


# --- input checks --------------------------------------------------------------------------------


def test_seed_demo_handoff_needs_demo_users():
    with pytest.raises(CommandError) as raised:
        run("seed_demo_handoff")

    assert str(raised.value) == (
        "Demo users rep, rep.emea, rep.americas, rep.apac, manager, marketer do not exist; "
        "run `manage.py seed_demo` first."
    )
    assert Territory.objects.count() == 0
    assert Rep.objects.count() == 0


@pytest.mark.parametrize("share", ["-0.1", "1.5"])
def test_seed_demo_handoff_rejects_share_outside_range(share):
    with pytest.raises(CommandError) as raised:
        run("seed_demo_handoff", "--share", share)

    assert str(raised.value) == f"--share {float(share)} is invalid; use a number from 0 to 1."
    assert Territory.objects.count() == 0
