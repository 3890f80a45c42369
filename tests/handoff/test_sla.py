import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from handoff import services
from handoff.models import Handoff, HandoffEvent, HandoffStatus
from handoff.sla import (
    BusinessCalendar,
    add_business_hours,
    business_hours_between,
    calendar_for_rep,
)
from tests.factories import (
    HandoffFactory,
    LeadFactory,
    RepFactory,
    RoutingRuleFactory,
    TerritoryFactory,
)

CHICAGO = ZoneInfo("America/Chicago")
CENTRAL = BusinessCalendar(timezone="America/Chicago")


def chicago(*args):
    return dt.datetime(*args, tzinfo=CHICAGO)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # Inside the window: plain addition.
        (chicago(2026, 3, 3, 10, 0), 4, chicago(2026, 3, 3, 14, 0)),
        # Runs past 17:00 into the next morning.
        (chicago(2026, 3, 3, 15, 0), 4, chicago(2026, 3, 4, 11, 0)),
        # Before opening: the clock starts at 09:00.
        (chicago(2026, 3, 3, 6, 30), 2, chicago(2026, 3, 3, 11, 0)),
        # Friday afternoon rolls over the weekend to Monday.
        (chicago(2026, 3, 6, 16, 0), 3, chicago(2026, 3, 9, 11, 0)),
        # Saturday: nothing counts until Monday 09:00.
        (chicago(2026, 3, 7, 12, 0), 8, chicago(2026, 3, 9, 17, 0)),
        # A full day of 8 hours ends at 17:00 the same day.
        (chicago(2026, 3, 3, 9, 0), 8, chicago(2026, 3, 3, 17, 0)),
        # Zero hours after closing: the start of the next window.
        (chicago(2026, 3, 3, 18, 0), 0, chicago(2026, 3, 4, 9, 0)),
    ],
)
def test_add_business_hours_table(start, hours, due):
    assert add_business_hours(start, hours, CENTRAL) == due


def test_add_business_hours_skips_holiday():
    calendar = BusinessCalendar(
        timezone="America/Chicago", holidays=frozenset({dt.date(2026, 3, 4)})
    )

    due = add_business_hours(chicago(2026, 3, 3, 16, 0), 2, calendar)

    assert due == chicago(2026, 3, 5, 10, 0)


def test_add_business_hours_across_daylight_saving_change():
    # 2026-03-08 is the US spring-forward Sunday; Friday 16:00 CST plus 2 hours is Monday 10:00 CDT.
    due = add_business_hours(chicago(2026, 3, 6, 16, 0), 2, CENTRAL)

    assert due == chicago(2026, 3, 9, 10, 0)
    assert due.astimezone(dt.UTC) == dt.datetime(2026, 3, 9, 15, 0, tzinfo=dt.UTC)


def test_add_business_hours_no_working_day_raises():
    calendar = BusinessCalendar(work_days=frozenset())

    with pytest.raises(ValueError, match="no business hours within a year"):
        add_business_hours(dt.datetime(2026, 3, 3, tzinfo=dt.UTC), 1, calendar)


def test_business_hours_between_counts_only_windows():
    hours = business_hours_between(chicago(2026, 3, 6, 15, 0), chicago(2026, 3, 9, 10, 30), CENTRAL)

    assert hours == 3.5


@pytest.mark.django_db
def test_calendar_for_rep_uses_home_territory():
    west = TerritoryFactory(code="west", timezone="America/Los_Angeles", holidays=["2026-07-03"])
    rep = RepFactory(home_territory=west)

    calendar = calendar_for_rep(rep)

    assert calendar.timezone == "America/Los_Angeles"
    assert calendar.holidays == frozenset({dt.date(2026, 7, 3)})


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2026, 3, 6, 22, 0, tzinfo=dt.UTC), tick=False)
def test_handoff_due_at_counts_rep_region_business_hours(handoff_settings):
    # 22:00 UTC Friday is 16:00 in Chicago: one hour left today, three more on Monday.
    central = TerritoryFactory(code="central", timezone="America/Chicago")
    rep = RepFactory(territories=[central])
    RoutingRuleFactory(reps=[rep], sla_hours=4)

    result = services.handoff_send(lead_ids=[LeadFactory(status="mql").pk])

    assert result.created[0].due_at == chicago(2026, 3, 9, 12, 0)


@pytest.mark.django_db
def test_sla_breach_reassigns_and_records(handoff_settings, sales_manager):
    first = RepFactory(manager=sales_manager)
    second = RepFactory()
    # Least loaded would pick the first rep again (one open against two); the breach must skip them.
    HandoffFactory.create_batch(2, rep=second)
    RoutingRuleFactory(reps=[first, second], sla_hours=2, strategy="least_loaded")
    with time_machine.travel(dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC), tick=False):
        original = services.handoff_send(lead_ids=[LeadFactory(status="mql").pk]).created[0]
    assert original.rep == first
    assert original.due_at == dt.datetime(2026, 3, 3, 11, 0, tzinfo=dt.UTC)

    with time_machine.travel(dt.datetime(2026, 3, 3, 11, 1, tzinfo=dt.UTC), tick=False):
        created = services.handoffs_escalate_overdue(limit=1)

    original.refresh_from_db()
    successor = Handoff.objects.get(pk=created[0])
    assert created == [successor.pk]
    assert original.status == HandoffStatus.REASSIGNED
    assert original.breach_count == 1
    assert original.escalated_to == sales_manager
    assert successor.status == HandoffStatus.PENDING
    assert successor.rep == second
    assert successor.previous == original
    assert successor.escalated_to == sales_manager
    assert successor.breach_count == 1
    assert successor.context == original.context
    assert successor.due_at == dt.datetime(2026, 3, 3, 13, 1, tzinfo=dt.UTC)
    assert list(original.events.values_list("kind", flat=True)) == [
        "sent",
        "assigned",
        "sla_breached",
        "escalated",
        "reassigned",
    ]
    breach = original.events.get(kind="sla_breached")
    assert breach.rule == "handoff.sla"
    assert breach.data == {"due_at": "2026-03-03T11:00:00+00:00", "overdue_minutes": 1}
    assert original.events.get(kind="escalated").data == {"manager_id": sales_manager.pk}
    assert successor.routing["skipped"][0] == {
        "rep_id": first.pk,
        "rep": first.display_name,
        "rule_id": successor.routing_rule_id,
        "reason": "already had a handoff of this lead",
    }


@pytest.mark.django_db
def test_sla_sweep_leaves_handoffs_not_yet_due(handoff_settings):
    RoutingRuleFactory(reps=[RepFactory(), RepFactory()], sla_hours=2)
    with time_machine.travel(dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC), tick=False):
        handoff = services.handoff_send(lead_ids=[LeadFactory(status="mql").pk]).created[0]

    with time_machine.travel(dt.datetime(2026, 3, 3, 10, 59, tzinfo=dt.UTC), tick=False):
        created = services.handoffs_escalate_overdue()

    assert created == []
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.PENDING
    assert not HandoffEvent.objects.filter(kind="sla_breached").exists()


@pytest.mark.django_db
def test_sla_breach_with_nobody_left_goes_to_queue(handoff_settings):
    only = RepFactory()
    RoutingRuleFactory(reps=[only], sla_hours=1)
    with time_machine.travel(dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC), tick=False):
        services.handoff_send(lead_ids=[LeadFactory(status="mql").pk])

    with time_machine.travel(dt.datetime(2026, 3, 3, 12, 0, tzinfo=dt.UTC), tick=False):
        created = services.handoffs_escalate_overdue()
        # Queue handoffs are not swept again: nobody is left to try.
        again = services.handoffs_escalate_overdue()

    successor = Handoff.objects.get(pk=created[0])
    assert successor.rep is None
    assert successor.routing["step"] == "fallback_queue"
    assert again == []


@pytest.mark.django_db
def test_sla_breach_twice_is_noop(handoff_settings):
    RoutingRuleFactory(reps=[RepFactory(), RepFactory()], sla_hours=1)
    with time_machine.travel(dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC), tick=False):
        handoff = services.handoff_send(lead_ids=[LeadFactory(status="mql").pk]).created[0]

    with time_machine.travel(dt.datetime(2026, 3, 3, 12, 0, tzinfo=dt.UTC), tick=False):
        services.handoff_breach(handoff_id=handoff.pk)
        second = services.handoff_breach(handoff_id=handoff.pk)

    assert second is None
    assert Handoff.objects.count() == 2
    assert HandoffEvent.objects.filter(kind="sla_breached").count() == 1
