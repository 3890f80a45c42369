"""Handoff in the browser: send, accept, reject, reassign, close as won or lost, sales feedback."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from handoff import services
from handoff.models import Handoff, HandoffSettings, HandoffStatus
from leads.models import Lead
from tests.browser.handoff_fixtures import *  # noqa: F403
from tests.browser.handoff_fixtures import screenshot
from tests.factories import (
    AccountFactory,
    EngagementEventFactory,
    LeadFactory,
    RepFactory,
    RoutingRuleFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sales_team():
    HandoffSettings.objects.update_or_create(
        pk=1,
        defaults={
            "required_context_fields": ["interests", "campaign_source"],
            "required_qualification_fields": ["confirmed_need", "next_step", "next_step_date"],
        },
    )
    manager = UserFactory(
        username="mara.manager", first_name="Mara", last_name="Quist", roles=["sales_manager"]
    )
    reps = [
        RepFactory(user__first_name="Avery", user__last_name="Laine", manager=manager, capacity=5),
        RepFactory(user__first_name="Noor", user__last_name="Ward", manager=manager, capacity=5),
    ]
    RoutingRuleFactory(name="Europe", regions=["europe"], reps=reps, sla_hours=4)
    return manager, reps


@pytest.fixture
def ready_mql():
    account = AccountFactory(
        name="Kessler Zerspanung GmbH",
        segment="automotive",
        processes=["cnc_machining", "injection_moulding"],
        technologies=["erp", "mes"],
    )
    lead = LeadFactory(
        status="mql",
        first_name="Jonas",
        last_name="Brandt",
        job_title="Head of Production Engineering",
        seniority="director",
        account=account,
        interests=["5-axis machining centres"],
        first_touch_source="linkedin",
        first_touch_campaign="emo-hannover-2026",
        fit_score=72,
        engagement_score=64.5,
        marketing_notes="Visited our EMO booth twice; evaluating two suppliers.",
    )
    quote = EngagementEventFactory(lead=lead, kind="quote_request", asset="rfq-5axis-cell")
    lead.score_breakdown = {
        "fit": [
            {"rule": "core-segment", "label": "Core industry segment", "points": 20},
            {"rule": "director", "label": "Director or above", "points": 15},
        ],
        "engagement": [
            {
                "rule": "rfq",
                "label": "Quote or RFQ request",
                "points": 40.0,
                "events": 1,
                "event_ids": [quote.pk],
            }
        ],
        "fast_track": {"kind": "quote_request", "event_id": quote.pk},
    }
    lead.save()
    return lead


def send(lead):
    return services.handoff_send(lead_ids=[lead.pk]).created[0]


def test_handoff_send_to_sales(browser_page, sales_team, ready_mql):
    page = browser_page
    marketer = UserFactory(username="mia.marketer", roles=["marketing"])
    page.login(marketer)

    page.goto(f"/handoff/leads/{ready_mql.pk}/")
    page.get_by_text("Add a note for the rep").click()
    page.get_by_label("Note for the rep").fill("Budget approved for Q3; wants a call this week.")
    screenshot(page, "handoff_send_before")
    page.get_by_role("button", name="Send to sales").click()

    expect(page.get_by_role("status")).to_contain_text(
        "Sent 1 lead to sales: assigned to Avery Laine"
    )
    expect(page.get_by_test_id("assigned-rep")).to_have_text("Avery Laine")
    screenshot(page, "handoff_send_after")
    handoff = Handoff.objects.get(lead=ready_mql)
    assert handoff.status == HandoffStatus.PENDING
    assert handoff.sent_by == marketer
    assert handoff.context["marketing_notes"].endswith(
        "Budget approved for Q3; wants a call this week."
    )


def test_handoff_send_missing_context_shows_reason(browser_page, sales_team):
    page = browser_page
    lead = LeadFactory(status="mql", interests=[], first_touch_source="", first_touch_campaign="")
    page.login(UserFactory(username="mia.marketer", roles=["marketing"]))

    page.goto(f"/handoff/leads/{lead.pk}/")
    page.get_by_role("button", name="Send to sales").click()

    expect(page.locator(".message.error")).to_contain_text(
        f"Lead {lead.pk} is missing product interests, campaign source"
    )
    assert not Handoff.objects.filter(lead=lead).exists()


def test_handoff_accept_requires_fields(browser_page, sales_team, ready_mql):
    page = browser_page
    _, reps = sales_team
    handoff = send(ready_mql)
    page.login(reps[0].user)

    page.goto("/handoff/inbox/")
    expect(page.get_by_test_id("pending-handoffs")).to_contain_text("Jonas Brandt")
    screenshot(page, "handoff_inbox")
    page.get_by_role("link", name="Review").click()
    expect(page.get_by_test_id("handoff-context")).to_contain_text("emo-hannover-2026")
    expect(page.get_by_test_id("handoff-context")).to_contain_text("Quote/RFQ request")
    screenshot(page, "handoff_detail_pending")

    accept_form = page.get_by_test_id("accept-form")
    accept_form.get_by_label("Next step *", exact=True).fill("On-site visit with the plant manager")
    accept_form.get_by_role("button", name="Accept").click()

    expect(page.get_by_text("Confirmed need is required to accept.")).to_be_visible()
    expect(page.get_by_text("Next step date is required to accept.")).to_be_visible()
    screenshot(page, "handoff_accept_errors")
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.PENDING

    accept_form = page.get_by_test_id("accept-form")
    accept_form.get_by_label("Confirmed need *").fill(
        "Replacing two 3-axis cells with a 5-axis line in Q3"
    )
    accept_form.get_by_label("Next step date *").fill(
        (dt.date.today() + dt.timedelta(days=3)).isoformat()
    )
    accept_form.get_by_label("Process fit").fill("Aluminium housings, 5-axis")
    accept_form.get_by_role("button", name="Accept").click()

    expect(page.get_by_test_id("handoff-status")).to_have_text("Accepted")
    expect(page.get_by_test_id("lead-status")).to_have_text("SQL")
    screenshot(page, "handoff_accepted")
    lead = Lead.objects.get(pk=ready_mql.pk)
    assert lead.status == "sql"
    assert lead.owner == reps[0].user
    assert Handoff.objects.get(pk=handoff.pk).next_step == "On-site visit with the plant manager"


def test_handoff_trail_text_clears_timeline_rail(browser_page, sales_team, ready_mql):
    page = browser_page
    _, reps = sales_team
    handoff = send(ready_mql)
    page.login(reps[0].user)

    page.goto(f"/handoff/{handoff.pk}/")

    # Offsets of each time stamp from its list's left edge, where the 7 px wide rail runs.
    offsets = page.evaluate(
        """() => [...document.querySelectorAll("ul.timeline > li .when")].map((when) =>
            when.getBoundingClientRect().left - when.closest("ul").getBoundingClientRect().left)"""
    )
    assert len(offsets) == 3
    assert min(offsets) >= 12


def test_handoff_reject_with_reason(browser_page, sales_team, ready_mql):
    page = browser_page
    _, reps = sales_team
    handoff = send(ready_mql)
    page.login(reps[0].user)

    page.goto(f"/handoff/{handoff.pk}/")
    reject_form = page.get_by_test_id("reject-form")
    reject_form.get_by_label("Reason").select_option(label="Bad timing")
    reject_form.get_by_label("Note for marketing").fill("Budget frozen until next fiscal year.")
    screenshot(page, "handoff_reject_before")
    reject_form.get_by_role("button", name="Reject").click()

    expect(page).to_have_url(re.compile(r"/handoff/inbox/$"))
    expect(page.get_by_role("status")).to_contain_text("Rejected as “Bad timing”")
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.REJECTED
    assert handoff.reject_reason == "bad_timing"
    assert Lead.objects.get(pk=ready_mql.pk).status == "nurture"

    page.login(UserFactory(username="mia.marketer", roles=["marketing"]))
    page.goto("/handoff/feedback/")
    expect(page.get_by_test_id("feedback")).to_contain_text("Budget frozen until next fiscal year.")
    screenshot(page, "handoff_feedback")


def test_handoff_manager_reassigns(browser_page, sales_team, ready_mql):
    page = browser_page
    manager, reps = sales_team
    handoff = send(ready_mql)
    Handoff.objects.filter(pk=handoff.pk).update(due_at=handoff.created_at - dt.timedelta(hours=1))
    page.login(manager)

    page.goto("/handoff/manager/")
    row = page.locator(f"tr[data-handoff='{handoff.pk}']")
    expect(row).to_contain_text("overdue")
    screenshot(page, "handoff_manager_before")
    row.get_by_label("Reassign to").select_option(label="Noor Ward (0 of 5 open)")
    row.get_by_role("button", name="Reassign").click()

    expect(page.get_by_role("status")).to_contain_text("Reassigned Jonas Brandt to Noor Ward.")
    screenshot(page, "handoff_manager_after")
    handoff.refresh_from_db()
    successor = handoff.next
    assert handoff.status == HandoffStatus.REASSIGNED
    assert successor.rep == reps[1]
    assert successor.events.filter(kind="assigned").count() == 1
    assert handoff.events.get(kind="reassigned").actor == manager


def test_routing_page_dry_run(browser_page, sales_team, ready_mql):
    page = browser_page
    page.login(UserFactory(username="rosa.revops", roles=["revops"]))

    page.goto("/handoff/routing/")
    page.get_by_label("Lead id").fill(str(ready_mql.pk))
    page.get_by_role("button", name="Show where it would go").click()

    expect(page.get_by_test_id("routing-trace")).to_contain_text("Avery Laine")
    expect(page.get_by_test_id("routing-trace")).to_contain_text("Rule 'Europe' matched")
    screenshot(page, "handoff_routing_dry_run")
    assert Handoff.objects.count() == 0


def accept(handoff, rep):
    return services.handoff_accept(
        handoff_id=handoff.pk,
        actor=rep.user,
        qualification={"confirmed_need": "New 5-axis line in Q3"},
        next_step="On-site visit",
        next_step_date=dt.date.today() + dt.timedelta(days=3),
    )


def other_mql(last_name, campaign):
    return LeadFactory(
        status="mql",
        first_name="Lea",
        last_name=last_name,
        interests=["injection moulding cells"],
        first_touch_campaign=campaign,
    )


def test_handoff_accept_rejects_far_next_step_date(browser_page, sales_team, ready_mql):
    page = browser_page
    _, reps = sales_team
    handoff = send(ready_mql)
    page.login(reps[0].user)
    far = (dt.date.today() + dt.timedelta(days=20 * 365)).isoformat()

    page.goto(f"/handoff/{handoff.pk}/")
    accept_form = page.get_by_test_id("accept-form")
    accept_form.get_by_label("Confirmed need *").fill("New 5-axis line")
    accept_form.get_by_label("Next step *", exact=True).fill("On-site visit")
    accept_form.get_by_label("Next step date *").fill(far)
    accept_form.get_by_role("button", name="Accept").click()

    expect(page.locator(".message.error")).to_contain_text(
        f"Next step date {far} is more than 2 years ahead"
    )
    expect(page.get_by_test_id("accept-form").locator(".errorlist")).to_contain_text(
        "at the latest."
    )
    expect(page.get_by_test_id("accept-form").get_by_label("Confirmed need *")).to_have_value(
        "New 5-axis line"
    )
    screenshot(page, "handoff_accept_far_date")
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.PENDING


def test_handoff_close_as_won(browser_page, sales_team, ready_mql):
    page = browser_page
    _, reps = sales_team
    handoff = accept(send(ready_mql), reps[0])
    page.login(reps[0].user)

    page.goto("/handoff/inbox/")
    expect(page.get_by_test_id("open-sqls")).to_contain_text("On-site visit")
    page.get_by_test_id("open-sqls").get_by_role("link", name="Close as won or lost").click()
    close_form = page.get_by_test_id("close-form")
    close_form.get_by_label("Won", exact=True).check()
    close_form.get_by_label("Reason").select_option(label="Product fit")
    close_form.get_by_label("Note").fill("Ordered the 5-axis cell after the site visit.")
    screenshot(page, "handoff_close_before")
    close_form.get_by_role("button", name="Close").click()

    expect(page.get_by_role("status")).to_have_text("Closed as won (Product fit).")
    expect(page.get_by_test_id("lead-status")).to_have_text("Won")
    expect(page.get_by_test_id("close-form")).to_have_count(0)
    screenshot(page, "handoff_closed_won")
    handoff.refresh_from_db()
    assert handoff.outcome == "won"
    assert handoff.outcome_reason == "product_fit"
    assert handoff.outcome_note == "Ordered the 5-axis cell after the site visit."
    assert Lead.objects.get(pk=ready_mql.pk).status == "won"


def test_handoff_close_lost_needs_loss_reason(browser_page, sales_team, ready_mql):
    page = browser_page
    _, reps = sales_team
    handoff = accept(send(ready_mql), reps[0])
    page.login(reps[0].user)

    page.goto(f"/handoff/{handoff.pk}/")
    close_form = page.get_by_test_id("close-form")
    close_form.get_by_label("Lost", exact=True).check()
    close_form.get_by_label("Reason").select_option(label="Product fit")
    close_form.get_by_role("button", name="Close").click()

    expect(page.locator(".message.error")).to_contain_text("'product_fit' is not a reason for lost")
    screenshot(page, "handoff_close_wrong_reason")
    assert Lead.objects.get(pk=ready_mql.pk).status == "sql"

    close_form = page.get_by_test_id("close-form")
    expect(close_form.get_by_label("Lost", exact=True)).to_be_checked()
    close_form.get_by_label("Reason").select_option(label="Lost to a competitor")
    close_form.get_by_label("Note").fill("Went with the incumbent's offer.")
    close_form.get_by_role("button", name="Close").click()

    expect(page.get_by_role("status")).to_have_text("Closed as lost (Lost to a competitor).")
    expect(page.get_by_test_id("lead-status")).to_have_text("Lost")
    handoff.refresh_from_db()
    assert handoff.outcome == "lost"
    assert handoff.outcome_reason == "lost_to_competitor"


def test_feedback_lists_rejection_and_loss_reasons(browser_page, sales_team, ready_mql):
    page = browser_page
    _, reps = sales_team
    lost = accept(send(ready_mql), reps[0])
    services.handoff_close(
        handoff_id=lost.pk,
        actor=reps[0].user,
        outcome="lost",
        reason="too_expensive",
        note="Quote 30% above the competitor's.",
    )
    rejected = send(other_mql("Rejected", "spring-webinar"))
    services.handoff_reject(
        handoff_id=rejected.pk,
        actor=rejected.rep.user,
        reason="wrong_contact",
        note="Works in purchasing, not engineering; ask for the plant manager.",
    )
    won = send(other_mql("Won", "trade-fair"))
    accept(won, won.rep)
    services.handoff_close(
        handoff_id=won.pk, actor=won.rep.user, outcome="won", reason="relationship", note=""
    )
    page.login(UserFactory(username="mia.marketer", roles=["marketing"]))

    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sales feedback").click()

    feedback = page.get_by_test_id("feedback")
    expect(feedback.locator("tbody tr")).to_have_count(3)
    lost_row = feedback.locator("tbody tr", has_text="Jonas Brandt")
    expect(lost_row).to_contain_text("Lost")
    expect(lost_row).to_contain_text("Too expensive")
    expect(lost_row).to_contain_text("Quote 30% above the competitor's.")
    rejected_row = feedback.locator("tbody tr", has_text="Lea Rejected")
    expect(rejected_row).to_contain_text("Rejected")
    expect(rejected_row).to_contain_text("Wrong contact")
    expect(rejected_row).to_contain_text("ask for the plant manager")
    expect(feedback.locator("tbody tr", has_text="Lea Won")).to_contain_text("Relationship")
    screenshot(page, "feedback_all")

    page.locator("select[name=kind]").select_option(label="Lost")
    page.get_by_role("button", name="Filter").click()

    expect(feedback.locator("tbody tr")).to_have_count(1)
    expect(feedback).to_contain_text("Too expensive")
    screenshot(page, "feedback_lost")
