import datetime as dt
from collections import Counter

import pytest
import time_machine

from handoff import services
from handoff.models import Handoff, HandoffStatus, RoutingStrategy
from handoff.routing import STEP_ACCOUNT_OWNER, STEP_FALLBACK, STEP_RULE, route_lead
from tests.factories import (
    EngagementEventFactory,
    HandoffFactory,
    LeadFactory,
    RepFactory,
    RoutingRuleFactory,
    TerritoryFactory,
)

pytestmark = pytest.mark.usefixtures("handoff_settings")


def send(lead):
    result = services.handoff_send(lead_ids=[lead.pk])
    assert result.errors == []
    return result.created[0]


def test_round_robin_rotates_through_pool(team):
    reps, _ = team

    handoffs = [send(LeadFactory(status="mql")) for _ in range(6)]

    assert [handoff.rep_id for handoff in handoffs] == [rep.pk for rep in reps] * 2


def test_round_robin_skips_rep_at_capacity(team):
    reps, _ = team
    reps[0].capacity = 1
    reps[0].save()
    HandoffFactory(rep=reps[0])

    handoff = send(LeadFactory(status="mql"))

    assert handoff.rep_id == reps[1].pk
    assert handoff.routing["skipped"] == [
        {
            "rep_id": reps[0].pk,
            "rep": reps[0].display_name,
            "rule_id": handoff.routing_rule_id,
            "reason": "at capacity (1 of 1 open)",
        }
    ]


def test_capacity_never_exceeded_overflow_goes_to_queue():
    reps = [RepFactory(capacity=2) for _ in range(2)]
    RoutingRuleFactory(reps=reps)

    handoffs = [send(LeadFactory(status="mql")) for _ in range(5)]

    counts = Counter(handoff.rep_id for handoff in handoffs)
    assert counts == {reps[0].pk: 2, reps[1].pk: 2, None: 1}
    assert handoffs[-1].routing["step"] == STEP_FALLBACK


@time_machine.travel(dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC), tick=False)
def test_out_of_office_rep_skipped_until_return():
    away = RepFactory(out_of_office_until=dt.date(2026, 3, 10))
    present = RepFactory()
    RoutingRuleFactory(reps=[away, present])
    lead = LeadFactory(status="mql")

    decision = route_lead(lead)

    assert decision.rep == present
    assert decision.skipped[0]["rep_id"] == away.pk
    assert decision.skipped[0]["reason"] == "out of office until 2026-03-10"


@time_machine.travel(dt.datetime(2026, 3, 11, 12, 0, tzinfo=dt.UTC), tick=False)
def test_out_of_office_rep_routed_after_return():
    back = RepFactory(out_of_office_until=dt.date(2026, 3, 10))
    RoutingRuleFactory(reps=[back])

    decision = route_lead(LeadFactory(status="mql"))

    assert decision.rep == back


def test_inactive_rep_skipped():
    inactive = RepFactory(is_active=False)
    active = RepFactory()
    RoutingRuleFactory(reps=[inactive, active])

    decision = route_lead(LeadFactory(status="mql"))

    assert decision.rep == active
    assert decision.skipped[0]["reason"] == "inactive"


def test_deactivated_user_skipped():
    rep = RepFactory()
    rep.user.is_active = False
    rep.user.save()
    RoutingRuleFactory(reps=[rep])

    decision = route_lead(LeadFactory(status="mql"))

    assert decision.rep is None
    assert decision.skipped[0]["reason"] == "user account inactive"


def test_fallback_queue_when_no_rule_matches():
    RoutingRuleFactory(regions=["asia_pacific"], reps=[RepFactory()])
    lead = LeadFactory(status="mql", region="europe")

    handoff = send(lead)

    assert handoff.rep is None
    assert handoff.status == HandoffStatus.PENDING
    assert handoff.routing["step"] == STEP_FALLBACK
    assert handoff.routing["rules"][0]["why"] == "region europe not in asia_pacific"
    assert list(handoff.events.values_list("kind", flat=True)) == ["sent", "queued"]


def test_fallback_queue_when_no_rules_exist():
    decision = route_lead(LeadFactory(status="mql"))

    assert decision.step == STEP_FALLBACK
    assert decision.rep is None


def test_rules_tried_in_position_order():
    first = RepFactory()
    second = RepFactory()
    RoutingRuleFactory(name="Later", position=20, reps=[second])
    RoutingRuleFactory(name="Earlier", position=10, reps=[first])

    decision = route_lead(LeadFactory(status="mql"))

    assert decision.rep == first
    assert decision.rule.name == "Earlier"


@pytest.mark.parametrize(
    ("rule_fields", "matches"),
    [
        ({"regions": ["europe"]}, True),
        ({"regions": ["north_america"]}, False),
        ({"segments": ["automotive"]}, True),
        ({"segments": ["aerospace"]}, False),
        ({"product_interests": ["cnc_machines", "lasers"]}, True),
        ({"product_interests": ["lasers"]}, False),
        ({"regions": ["europe"], "segments": ["aerospace"]}, False),
        ({}, True),
    ],
)
def test_rule_conditions_match_region_segment_interest(rule_fields, matches):
    rep = RepFactory()
    RoutingRuleFactory(reps=[rep], **rule_fields)
    lead = LeadFactory(status="mql", region="europe", interests=["cnc_machines"])

    decision = route_lead(lead)

    assert (decision.rep == rep) is matches


def test_account_owner_first():
    owner = RepFactory()
    other = RepFactory()
    RoutingRuleFactory(reps=[other])
    lead = LeadFactory(status="mql")
    lead.account.owner = owner.user
    lead.account.save()

    handoff = send(lead)

    assert handoff.rep == owner
    assert handoff.routing["step"] == STEP_ACCOUNT_OWNER
    assert handoff.routing["reason"] == "Owner of the lead's account."


def test_account_owner_at_capacity_falls_through_to_rules():
    owner = RepFactory(capacity=1)
    HandoffFactory(rep=owner)
    other = RepFactory()
    RoutingRuleFactory(reps=[other])
    lead = LeadFactory(status="mql")
    lead.account.owner = owner.user
    lead.account.save()

    decision = route_lead(lead)

    assert decision.step == STEP_RULE
    assert decision.rep == other
    assert decision.skipped[0]["reason"] == "account owner at capacity (1 of 1 open)"


def test_least_loaded_picks_rep_with_fewest_open():
    busy = RepFactory()
    idle = RepFactory()
    HandoffFactory(rep=busy)
    RoutingRuleFactory(reps=[busy, idle], strategy=RoutingStrategy.LEAST_LOADED)

    decision = route_lead(LeadFactory(status="mql"))

    assert decision.rep == idle


def test_territory_pool_includes_territory_reps():
    central = TerritoryFactory(code="central")
    rep = RepFactory(territories=[central])
    RoutingRuleFactory(territories=[central])

    decision = route_lead(LeadFactory(status="mql"))

    assert decision.rep == rep


def test_rep_segment_coverage_skips_rep():
    aerospace_only = RepFactory(segments=["aerospace"])
    anyone = RepFactory()
    RoutingRuleFactory(reps=[aerospace_only, anyone])

    decision = route_lead(LeadFactory(status="mql"))

    assert decision.rep == anyone
    assert decision.skipped[0]["reason"] == "does not cover segment automotive"


def test_technical_expert_added_for_consultation_request():
    RoutingRuleFactory(reps=[RepFactory()])
    busy_expert = RepFactory(is_technical_expert=True)
    HandoffFactory(rep=busy_expert)
    free_expert = RepFactory(is_technical_expert=True)
    lead = LeadFactory(status="mql")
    EngagementEventFactory(lead=lead, kind="technical_consultation")

    handoff = send(lead)

    assert handoff.technical_expert == free_expert
    assert handoff.routing["technical_expert"]["rep_id"] == free_expert.pk
    assert "technical_expert_assigned" in handoff.events.values_list("kind", flat=True)


def test_technical_expert_out_of_office_skipped():
    RoutingRuleFactory(reps=[RepFactory()])
    RepFactory(is_technical_expert=True, out_of_office_until=dt.date.today() + dt.timedelta(days=3))
    lead = LeadFactory(status="mql", custom_attributes={"technical_consultation": True})

    handoff = send(lead)

    assert handoff.technical_expert is None
    assert handoff.routing["technical_expert"]["reason"] == "No technical expert is available."
    assert handoff.routing["technical_expert"]["skipped"][0]["reason"].startswith("out of office")


def test_no_technical_expert_without_request():
    RoutingRuleFactory(reps=[RepFactory()])
    RepFactory(is_technical_expert=True)

    handoff = send(LeadFactory(status="mql"))

    assert handoff.technical_expert is None
    assert handoff.routing["technical_expert"] is None


def test_dry_run_writes_nothing(team):
    reps, rule = team
    lead = LeadFactory(status="mql")

    decision = route_lead(lead)

    assert decision.rep == reps[0]
    assert Handoff.objects.count() == 0
    rule.refresh_from_db()
    assert rule.last_assigned_rep is None
