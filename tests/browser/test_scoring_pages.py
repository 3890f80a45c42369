"""The revops pages in Chromium: edit a draft, simulate, publish, watch the rescore, roll back."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.models import Lead, LeadStatus
from scoring import services
from scoring.defaults import DEFAULT_RULESET
from scoring.models import RescoreRun, RuleSet
from tests.factories import AccountFactory, EngagementEventFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def published_default(transactional_db):
    """Version 1, the default rule set; browser tests flush the one the migration published."""
    return RuleSet.objects.filter(version=1).first() or services.ruleset_load(
        document=DEFAULT_RULESET, publish=True
    )


@pytest.fixture
def revops_page(log_in, db):
    return log_in(UserFactory(username="revops", roles=["revops"]))


@pytest.fixture
def leads():
    """Leads scored with the default rules: fit 85, and engagement from quotes and page views."""
    account = AccountFactory(name="Hartmann Gears")
    created = []
    for number, (first, last) in enumerate(
        [("Ines", "Vogel"), ("Jonas", "Meyer"), ("Ana", "Ortiz"), ("Wei", "Chen")]
    ):
        lead = LeadFactory(first_name=first, last_name=last, account=account, seniority="manager")
        for _ in range(number):
            EngagementEventFactory(
                lead=lead,
                kind="page_view",
                url="https://www.example.com/pricing",
                occurred_at=timezone.now() - timedelta(days=2),
            )
        created.append(lead)
    return created


def test_edit_simulate_publish_and_roll_back(revops_page, leads, screenshot):
    page = revops_page
    page.goto("/scoring/rulesets/")
    expect(page.get_by_test_id("status-v1")).to_have_text("Published")

    page.get_by_test_id("new-draft").click()

    expect(page).to_have_url(re.compile(r"/scoring/rulesets/2/$"))
    expect(page.get_by_test_id("ruleset-status")).to_have_text("Draft")
    expect(page.get_by_test_id("revision")).to_have_text("1")

    # An invalid threshold is refused, with the message next to its field.
    page.get_by_test_id("edit-thresholds").click()
    page.get_by_label("Engagement threshold").fill("lots")
    page.get_by_test_id("save-thresholds").click()

    expect(page.get_by_test_id("error-engagement_threshold")).to_have_text(
        '"lots" is not a number of zero or more; give a number such as 40.'
    )
    expect(page.get_by_test_id("revision")).to_have_text("1")
    screenshot(page, "threshold-error")

    # A valid one saves in place and shows up in the history.
    page.get_by_label("Engagement threshold").fill("10")
    page.get_by_test_id("save-thresholds").click()

    expect(page.get_by_test_id("engagement-threshold")).to_have_text("10")
    expect(page.get_by_test_id("revision")).to_have_text("2")
    expect(page.get_by_test_id("history")).to_contain_text("engagement_threshold 40 → 10")
    expect(page).to_have_url(re.compile(r"/scoring/rulesets/2/$"))

    # A rule is edited in its row.
    page.get_by_test_id("edit-rule-pricing-page").click()
    form = page.get_by_test_id("engagement-rule-form")
    form.get_by_label("Points").fill("12")
    form.get_by_test_id("save-engagement-rules").click()

    expect(page.locator('tr[data-rule="pricing-page"]')).to_contain_text("+12")
    expect(page.get_by_test_id("history")).to_contain_text(
        "changed engagement rule pricing-page: points 8 → 12"
    )

    page.get_by_test_id("simulate").click()

    expect(page.get_by_test_id("simulation-status")).to_have_text("Done")
    # Ines has no events; Jonas, Ana and Wei have 12 to 36 points, above the new threshold.
    expect(page.get_by_test_id("sim-enter")).to_have_text("3")
    expect(page.get_by_test_id("sim-leave")).to_have_text("0")
    expect(page.get_by_test_id("movers")).to_contain_text("Wei Chen")
    expect(page.get_by_test_id("movers")).to_contain_text("Pricing page view")
    expect(page.locator("canvas[data-drawn=true]")).to_have_count(2)
    expect(page.get_by_test_id("simulated")).to_have_text("Simulation done")
    assert set(Lead.objects.values_list("status", flat=True)) == {LeadStatus.NEW}
    screenshot(page, "simulated")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("publish").click()

    expect(page).to_have_url(re.compile(r"/scoring/rulesets/#rescore$"))
    expect(page.get_by_test_id("status-v2")).to_have_text("Published")
    expect(page.get_by_test_id("status-v1")).to_have_text("Archived")
    expect(page.get_by_test_id("run-status")).to_have_text("Done")
    expect(page.get_by_test_id("run-percent")).to_have_text("100%")
    expect(page.get_by_test_id("run-entered")).to_have_text("3")
    screenshot(page, "published")

    # Roll back: restore v1 as a new draft and publish it.
    page.get_by_test_id("restore-v1").click()

    expect(page).to_have_url(re.compile(r"/scoring/rulesets/3/$"))
    expect(page.get_by_test_id("engagement-threshold")).to_have_text("40")
    expect(page.get_by_test_id("history")).to_contain_text("restored v1 (archived) as a new draft")
    expect(page.get_by_test_id("history")).to_contain_text(
        "against v2: engagement_threshold 10 → 40"
    )

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("publish").click()

    expect(page.get_by_test_id("status-v3")).to_have_text("Published")
    expect(page.get_by_test_id("status-v2")).to_have_text("Archived")
    screenshot(page, "rolled-back")
    assert RuleSet.objects.get(status="published").engagement_threshold == 40
    # Scores never demote: the three MQLs of v2 stay MQL.
    assert Lead.objects.filter(status=LeadStatus.MQL).count() == 3


def test_rescore_progress_bar_follows_the_run(revops_page, published_default, screenshot):
    run = RescoreRun.objects.create(
        ruleset=published_default,
        status=RescoreRun.Status.RUNNING,
        total_leads=1_000_000,
        done_leads=400_000,
        started_at=timezone.now() - timedelta(seconds=100),
    )
    page = revops_page
    page.goto("/scoring/rulesets/")

    expect(page.get_by_test_id("run-percent")).to_have_text("40%")
    expect(page.get_by_test_id("run-leads")).to_have_text("400,000 of 1,000,000")
    expect(page.get_by_test_id("run-time")).not_to_have_text("—")
    screenshot(page, "running")

    RescoreRun.objects.filter(pk=run.pk).update(
        done_leads=1_000_000, status=RescoreRun.Status.DONE, finished_at=timezone.now()
    )

    expect(page.get_by_test_id("run-status")).to_have_text("Done")
    expect(page.get_by_test_id("run-percent")).to_have_text("100%")
    screenshot(page, "done")


def test_rule_validation_error_appears_next_to_field(revops_page, screenshot):
    page = revops_page
    page.goto("/scoring/rulesets/")
    page.get_by_test_id("new-draft").click()

    page.get_by_test_id("add-fit-rule").click()
    form = page.get_by_test_id("fit-rule-form")
    form.get_by_label("Rule id").fill("big-plant")
    form.get_by_label("Field").select_option("account.employee_count")
    form.get_by_label("Condition").select_option("gte")
    form.get_by_label("Value").fill("many")
    form.get_by_label("Points").fill("10")
    form.get_by_test_id("save-fit-rules").click()

    expect(page.get_by_test_id("error-value")).to_have_text('"gte" needs a number, got "many".')
    screenshot(page, "rule-error")

    page.get_by_test_id("fit-rule-form").get_by_label("Value").fill("1000")
    page.get_by_test_id("fit-rule-form").get_by_test_id("save-fit-rules").click()

    expect(page.locator('tr[data-rule="big-plant"]')).to_contain_text(
        "account.employee_count is at least 1000"
    )
    assert RuleSet.objects.get(version=2).fit_rules[-1]["value"] == 1000


def test_account_page_shows_rollup(revops_page, screenshot):
    account = AccountFactory(name="Skyline Aero", engagement_score=64.5, engaged_contacts=2)
    LeadFactory(account=account, first_name="Ana", last_name="Ortiz", engagement_score=40)
    LeadFactory(account=account, first_name="Wei", last_name="Chen", engagement_score=24.5)
    page = revops_page

    page.goto("/scoring/accounts/")
    page.get_by_role("link", name="Skyline Aero").click()

    expect(page.get_by_test_id("account-engagement")).to_have_text("64.5")
    expect(page.get_by_test_id("account-engaged-contacts")).to_have_text("2")
    expect(page.get_by_test_id("account-leads")).to_contain_text("Ana Ortiz")
    screenshot(page, "account")
