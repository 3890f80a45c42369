"""The lead edit page in Chromium: marketing edits a lead's interests and sees them on its page."""

import pytest
from playwright.sync_api import expect

from leads.models import Lead
from tests.factories import LeadFactory
from tests.leads.page_data import scored_lead

pytestmark = pytest.mark.browser


def test_edit_interests_shown_on_lead_page(marketer_page, screenshot):
    LeadFactory(interests=["linear_actuators", "cad_cam"])
    lead = scored_lead(first_name="Ines", last_name="Vogel", interests=["servo_drives"])
    page = marketer_page

    page.goto(f"/leads/{lead.pk}/")
    page.get_by_test_id("edit-lead").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Edit Ines Vogel")
    inputs = page.get_by_test_id("interest-input")
    expect(inputs).to_have_count(4)
    expect(inputs.first).to_have_value("servo_drives")
    inputs.nth(1).fill("Linear actuators")
    inputs.nth(2).fill("cad_cam")
    page.get_by_label("City").fill("Ulm")
    screenshot(page, "form")
    page.get_by_test_id("save-lead").click()

    expect(page.get_by_role("status").first).to_have_text("Saved Ines Vogel: city, interests.")
    contact = page.get_by_role("definition").filter(has_text="Servo Drives")
    expect(contact.locator(".chip")).to_have_text(["CAD/CAM", "Linear Actuators", "Servo Drives"])
    screenshot(page, "saved")

    lead.refresh_from_db()
    assert lead.interests == ["cad_cam", "linear_actuators", "servo_drives"]
    assert lead.city == "Ulm"


def test_edit_error_shown_next_to_field(marketer_page, screenshot):
    lead = scored_lead(first_name="Ines", last_name="Vogel", interests=["servo_drives"])
    page = marketer_page

    page.goto(f"/leads/{lead.pk}/edit/")
    page.get_by_test_id("interest-input").nth(1).fill("--")
    page.get_by_test_id("save-lead").click()

    expect(page.get_by_test_id("interests-error")).to_have_text(
        "“--” has no letters or digits; name a product category, such as servo drives."
    )
    expect(page.get_by_test_id("interest-input").nth(1)).to_have_value("--")
    screenshot(page, "error")
    assert Lead.objects.get(pk=lead.pk).interests == ["servo_drives"]
