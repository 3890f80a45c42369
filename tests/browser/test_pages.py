"""The lead pages in Chromium: login, the MQL queue with htmx filters and sort, the lead page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.models import LeadStatus, StatusChange
from tests.conftest import PASSWORD
from tests.factories import AccountFactory, EngagementEventFactory
from tests.leads.page_data import make_breakdown, scored_lead

pytestmark = pytest.mark.browser


@pytest.fixture
def queue_leads():
    """Four MQL leads in two regions and two segments with distinct scores."""
    gears = AccountFactory(name="Hartmann Gears", segment="automotive", region="europe")
    wings = AccountFactory(name="Skyline Aero", segment="aerospace", region="north_america")
    return {
        "vogel": scored_lead(
            first_name="Ines",
            last_name="Vogel",
            job_title="Head of Production",
            account=gears,
            region="europe",
            fit=82,
            engagement=41.5,
            first_touch_source="google",
        ),
        "meyer": scored_lead(
            first_name="Jonas",
            last_name="Meyer",
            job_title="Process Engineer",
            account=gears,
            region="europe",
            fit=64,
            engagement=88,
            first_touch_source="linkedin",
        ),
        "ortiz": scored_lead(
            first_name="Ana",
            last_name="Ortiz",
            job_title="Plant Manager",
            account=wings,
            region="north_america",
            fit=91,
            engagement=73,
            first_touch_source="trade_show",
        ),
        "chen": scored_lead(
            first_name="Wei",
            last_name="Chen",
            job_title="Quality Director",
            account=wings,
            region="north_america",
            fit=55,
            engagement=52,
            first_touch_source="google",
        ),
    }


def lead_names(page):
    return page.locator("table.queue a.lead-name").all_inner_texts()


def test_login_wrong_password_then_queue(page, marketer, screenshot):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("marketer")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_test_id("login-error")).to_have_text(
        "The username and password do not match. Check both and try again; "
        "passwords are case-sensitive."
    )
    screenshot(page, "wrong-password")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/leads/queue/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("MQL queue")
    expect(page.get_by_test_id("current-user")).to_have_text("marketer")


def test_queue_filter_and_sort_swap_table(marketer_page, queue_leads, screenshot):
    page = marketer_page
    page.goto("/leads/queue/")

    expect(page.get_by_test_id("result-count")).to_contain_text("4 matching leads")
    # Default sort: fit, highest first.
    assert lead_names(page) == ["Ana Ortiz", "Ines Vogel", "Jonas Meyer", "Wei Chen"]
    screenshot(page, "all")

    page.get_by_label("Region").select_option("europe")

    expect(page.get_by_test_id("result-count")).to_contain_text("2 matching leads")
    expect(page).to_have_url(re.compile(r"/leads/queue/\?region=europe&sort=-fit$"))
    assert lead_names(page) == ["Ines Vogel", "Jonas Meyer"]

    page.get_by_test_id("sort-engagement").click()

    expect(page).to_have_url(re.compile(r"\?region=europe&sort=-engagement$"))
    expect(page.locator("table.queue a.lead-name").first).to_have_text("Jonas Meyer")
    assert lead_names(page) == ["Jonas Meyer", "Ines Vogel"]
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Engagement")
    screenshot(page, "europe-by-engagement")

    # The sort chosen by the heading travels with the next filter change.
    page.get_by_label("Source").select_option("google")

    expect(page).to_have_url(re.compile(r"\?region=europe&source=google&sort=-engagement$"))
    expect(page.get_by_test_id("result-count")).to_contain_text("1 matching lead")
    assert lead_names(page) == ["Ines Vogel"]

    # A reload renders the whole page from the pushed URL, with the filters still set.
    page.reload()
    expect(page.get_by_label("Region")).to_have_value("europe")
    expect(page.get_by_label("Source")).to_have_value("google")
    assert lead_names(page) == ["Ines Vogel"]

    # Going back restores the previous filters in the form as well as in the table.
    page.go_back()
    expect(page).to_have_url(re.compile(r"\?region=europe&sort=-engagement$"))
    expect(page.get_by_label("Source")).to_have_value("")
    expect(page.get_by_test_id("result-count")).to_contain_text("2 matching leads")


def test_queue_pages_keep_filter_and_sort(marketer_page, screenshot):
    for score in range(30):
        scored_lead(fit=40 + score, engagement=90 - score, region="europe")
    scored_lead(fit=99, region="asia_pacific")
    page = marketer_page
    page.goto("/leads/queue/?region=europe&sort=engagement")

    expect(page.get_by_test_id("result-count")).to_contain_text("30 matching leads")
    expect(page.get_by_test_id("result-count")).to_contain_text("showing 1\u201325")
    screenshot(page, "first")

    page.get_by_role("link", name="Next →").click()

    expect(page).to_have_url(re.compile(r"\?region=europe&sort=engagement&after=[\w-]+$"))
    expect(page.get_by_test_id("result-count")).to_contain_text("showing 26\u201330")
    # Engagement lowest first: the five highest engagement scores are on page 2.
    expect(page.get_by_test_id("engagement-score")).to_have_text(
        ["86.0", "87.0", "88.0", "89.0", "90.0"]
    )
    expect(page.get_by_label("Region")).to_have_value("europe")

    page.get_by_role("link", name="← Previous").click()

    expect(page).to_have_url(re.compile(r"\?region=europe&sort=engagement&before=[\w-]+$"))
    expect(page.get_by_test_id("result-count")).to_contain_text("showing 1\u201325")
    expect(page.get_by_test_id("engagement-score").first).to_have_text("61.0")

    page.get_by_test_id("sort-fit").click()

    expect(page).to_have_url(re.compile(r"\?region=europe&sort=-fit$"))
    expect(page.get_by_test_id("fit-score").first).to_have_text("69")


def test_queue_search_and_empty_state(marketer_page, queue_leads, screenshot):
    page = marketer_page
    page.goto("/leads/queue/")

    page.get_by_label("Search").fill("skyline")

    expect(page.get_by_test_id("result-count")).to_contain_text("2 matching leads")
    assert sorted(lead_names(page)) == ["Ana Ortiz", "Wei Chen"]

    page.get_by_label("Search").fill("no such company")

    expect(page.get_by_test_id("queue-empty")).to_contain_text("No lead matches these filters")
    screenshot(page, "empty")


def test_lead_page_move_to_nurture(marketer_page, marketer, screenshot):
    lead = scored_lead(
        first_name="Ines",
        last_name="Vogel",
        job_title="Head of Production",
        account=AccountFactory(name="Hartmann Gears", processes=["cnc_machining", "gear_cutting"]),
        fit=72,
        engagement=52.5,
        interests=["gear_units", "servo_drives"],
        first_touch_campaign="gearbox-2026",
    )
    rfq = EngagementEventFactory(
        lead=lead,
        kind="quote_request",
        asset="RFQ gearbox GX-40",
        occurred_at=timezone.now() - timedelta(days=1),
    )
    EngagementEventFactory(
        lead=lead,
        url="https://www.example.com/products/gearboxes/pricing",
        occurred_at=timezone.now() - timedelta(days=3),
    )
    lead.score_breakdown = make_breakdown(
        event_ids=[rfq.pk],
        caps=[{"scope": "group", "name": "web", "cap": 30, "removed": 5.0}],
        fast_track={"kind": "quote_request", "event_id": rfq.pk},
    )
    lead.save()
    page = marketer_page

    page.goto(f"/leads/{lead.pk}/")

    expect(page.get_by_test_id("lead-status")).to_have_text("MQL")
    expect(page.get_by_test_id("fit-table")).to_contain_text("Core industry segment")
    expect(page.get_by_test_id("fit-table")).to_contain_text("\u221210")
    expect(page.get_by_test_id("engagement-table")).to_contain_text("Quote or RFQ request")
    expect(page.get_by_test_id("engagement-table")).to_contain_text("capped")
    expect(page.get_by_test_id("caps-table")).to_be_visible()
    expect(page.get_by_test_id("account-panel")).to_contain_text("Hartmann Gears")
    screenshot(page, "before")

    page.get_by_label("Reason").fill("Project budget approved for next year only")
    page.get_by_test_id("move-nurture").click()

    expect(page.get_by_test_id("lead-status")).to_have_text("Nurture")
    expect(page.get_by_role("status").first).to_have_text("Ines Vogel moved from MQL to Nurture.")
    first_status = page.get_by_test_id("timeline-status").first
    expect(first_status).to_contain_text("MQL")
    expect(first_status).to_contain_text("Nurture")
    expect(first_status).to_contain_text("Project budget approved for next year only")
    expect(first_status).to_contain_text("by marketer")
    # Nurture leads may still be disqualified, and no longer moved to nurture.
    expect(page.get_by_test_id("move-disqualified")).to_be_visible()
    expect(page.get_by_test_id("move-nurture")).to_have_count(0)
    screenshot(page, "after")

    change = StatusChange.objects.get(lead=lead)
    assert (change.from_status, change.to_status, change.actor) == (
        LeadStatus.MQL,
        LeadStatus.NURTURE,
        marketer,
    )


def test_lead_timeline_shows_more(marketer_page):
    lead = scored_lead()
    for days in range(25):
        EngagementEventFactory(lead=lead, occurred_at=timezone.now() - timedelta(days=days + 1))
    page = marketer_page
    page.goto(f"/leads/{lead.pk}/")

    expect(page.locator(".tl-event")).to_have_count(20)

    page.get_by_test_id("timeline-more").click()

    expect(page.locator(".tl-event")).to_have_count(25)
    expect(page.get_by_test_id("timeline-more")).to_have_count(0)
    # htmx replaced the timeline in place; the address stays the lead page.
    expect(page).to_have_url(re.compile(rf"/leads/{lead.pk}/$"))


def test_rep_sees_own_lead_read_only(log_in, rep, screenshot):
    own = scored_lead(first_name="Ines", last_name="Vogel", owner=rep)
    colleagues = scored_lead(owner=None)
    page = log_in(rep)

    page.goto(f"/leads/{own.pk}/")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Ines Vogel")
    expect(page.get_by_test_id("breakdown")).to_be_visible()
    expect(page.get_by_test_id("transition-form")).to_have_count(0)
    expect(page.get_by_role("link", name="MQL queue")).to_have_count(0)
    screenshot(page, "own-lead")

    response = page.goto(f"/leads/{colleagues.pk}/")

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")

    response = page.goto("/leads/queue/")

    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You have no access to this page")
    screenshot(page, "queue-forbidden")
