"""The lead edit page: fields, interests with suggestions, validation and roles."""

import pytest
from django.urls import reverse

from handoff.models import Handoff, HandoffSettings
from leads import services
from leads.inputs import LeadInput
from leads.models import Lead
from leads.views import UNSENT_NOTE_SESSION_KEY
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def edit_url(lead):
    return reverse("leads:edit", args=[lead.pk])


def form_data(lead, **changes):
    """The form as the page posts it for `lead`, with `changes` applied."""
    data = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "job_title": lead.job_title,
        "job_function": lead.job_function,
        "seniority": lead.seniority,
        "phone": lead.phone,
        "company_name": lead.company_name,
        "country": lead.country,
        "city": lead.city,
        "interests": [*lead.interests, "", "", ""],
        "marketing_notes": lead.marketing_notes,
    }
    if lead.email_opt_out:
        data["email_opt_out"] = "on"
    if lead.call_opt_out:
        data["call_opt_out"] = "on"
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


@pytest.fixture
def lead(db):
    return LeadFactory(
        first_name="Ines",
        last_name="Vogel",
        job_title="Head of Production",
        job_function="operations",
        seniority="director",
        country="Germany",
        region="europe",
        interests=["servo_drives"],
    )


@pytest.fixture
def marketer_client(client, marketer):
    client.force_login(marketer)
    return client


@pytest.mark.parametrize(
    ("user_fixture", "status"),
    # A rep cannot see a lead they do not own; a manager sees it but may not edit it.
    [("rep", 404), ("sales_manager", 403)],
)
def test_edit_page_forbidden_to_sales(client, request, lead, user_fixture, status):
    client.force_login(request.getfixturevalue(user_fixture))

    get = client.get(edit_url(lead))
    post = client.post(edit_url(lead), form_data(lead, city="Ulm"))

    assert get.status_code == status
    assert post.status_code == status
    assert Lead.objects.get(pk=lead.pk).city == ""


def test_edit_page_shows_values_and_suggestions(marketer_client, lead):
    LeadFactory(interests=["linear_actuators", "cad_cam"])

    response = marketer_client.get(edit_url(lead))

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"]["first_name"].value() == "Ines"
    assert response.context["interest_values"] == ["servo_drives", "", "", ""]
    assert response.context["interest_suggestions"] == [
        ("cad_cam", "CAD/CAM"),
        ("linear_actuators", "Linear Actuators"),
        ("servo_drives", "Servo Drives"),
    ]
    assert '<option value="cad_cam">CAD/CAM</option>' in page
    assert 'value="servo_drives" list="interest-suggestions"' in page


def test_lead_page_links_to_edit(marketer_client, lead):
    page = marketer_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()

    assert f'href="{edit_url(lead)}" data-testid="edit-lead"' in page


def test_lead_page_hides_edit_link_from_manager(client, sales_manager, lead):
    client.force_login(sales_manager)

    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()

    assert 'data-testid="edit-lead"' not in page


def test_edit_saves_interests_as_codes(marketer_client, lead):
    response = marketer_client.post(
        edit_url(lead),
        form_data(
            lead,
            interests=["servo_drives", "Linear actuators", " CAD/CAM ", "linear_actuators", ""],
        ),
        follow=True,
    )

    lead.refresh_from_db()
    assert response.redirect_chain == [(reverse("leads:detail", args=[lead.pk]), 302)]
    assert lead.interests == ["cad_cam", "linear_actuators", "servo_drives"]
    assert lead.score_stale is True
    assert "Saved Ines Vogel: interests." in response.content.decode()


def test_edit_saves_fields_and_consent(marketer_client, lead):
    marketer_client.post(
        edit_url(lead),
        form_data(
            lead,
            phone="+49 731 555 0101",
            city="Ulm",
            marketing_notes="Met at the Hannover fair.",
            email_opt_out="on",
        ),
    )

    lead.refresh_from_db()
    assert (lead.phone, lead.city) == ("+49 731 555 0101", "Ulm")
    assert lead.marketing_notes == "Met at the Hannover fair."
    assert lead.email_opt_out is True
    assert lead.call_opt_out is False


def test_edit_blank_job_function_derives_from_title(marketer_client, lead):
    marketer_client.post(
        edit_url(lead), form_data(lead, job_title="Quality Engineer", job_function="")
    )

    lead.refresh_from_db()
    assert lead.job_title == "Quality Engineer"
    assert lead.job_function == "engineering"


def test_edit_country_change_derives_region(marketer_client, lead):
    marketer_client.post(edit_url(lead), form_data(lead, country="Canada"))

    lead.refresh_from_db()
    assert (lead.country, lead.region) == ("Canada", "north_america")


def test_edit_without_changes_writes_nothing(marketer_client, lead):
    Lead.objects.filter(pk=lead.pk).update(score_stale=False)

    response = marketer_client.post(edit_url(lead), form_data(lead), follow=True)

    assert "Nothing changed on Ines Vogel." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).score_stale is False


def test_edit_invalid_field_shows_error_next_to_it(marketer_client, lead):
    response = marketer_client.post(edit_url(lead), form_data(lead, first_name="x" * 101))

    page = response.content.decode()
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "first_name": ["Ensure this value has at most 100 characters (it has 101)."]
    }
    assert 'data-testid="first_name-error"' in page
    assert "Correct the marked fields; nothing was saved." in page
    assert Lead.objects.get(pk=lead.pk).first_name == "Ines"


def test_edit_too_many_interests_rejected(marketer_client, lead):
    interests = [f"category {number}" for number in range(51)]

    response = marketer_client.post(edit_url(lead), form_data(lead, interests=interests))

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "interests": [
            "51 product categories is more than the maximum of 50; keep the ones the lead "
            "asked about."
        ]
    }
    assert response.context["interest_values"][:2] == ["category 0", "category 1"]
    assert Lead.objects.get(pk=lead.pk).interests == ["servo_drives"]


def test_edit_interest_without_letters_rejected(marketer_client, lead):
    response = marketer_client.post(edit_url(lead), form_data(lead, interests=["--"]))

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "interests": [
            "“--” has no letters or digits; name a product category, such as servo drives."
        ]
    }


def test_upsert_country_change_derives_region(lead):
    updated, _ = services.lead_upsert(data=LeadInput(email=lead.email, fields={"country": "Japan"}))

    assert updated.region == "asia_pacific"


# --- A failed send to sales keeps the typed note ----------------------------------------------


@pytest.fixture
def interests_required(db):
    settings_row, _ = HandoffSettings.objects.get_or_create(pk=1)
    settings_row.required_context_fields = ["interests"]
    settings_row.save()


def test_failed_send_refills_note_once(marketer_client, interests_required):
    lead = LeadFactory(status="mql", interests=[])
    detail = reverse("leads:detail", args=[lead.pk])

    response = marketer_client.post(
        reverse("handoff:send"),
        {"lead_ids": lead.pk, "marketing_notes": "Budget approved for Q3.", "next": detail},
        follow=True,
    )

    page = response.content.decode()
    assert response.redirect_chain == [(detail, 302)]
    assert Handoff.objects.count() == 0
    assert response.context["unsent_note"] == "Budget approved for Q3."
    assert '<details class="send-notes" open>' in page
    assert ">Budget approved for Q3.</textarea>" in page
    assert UNSENT_NOTE_SESSION_KEY not in marketer_client.session
    assert marketer_client.get(detail).context["unsent_note"] == ""


def test_failed_send_note_not_shown_on_other_lead(marketer_client, interests_required):
    lead = LeadFactory(status="mql", interests=[])
    other = LeadFactory(status="mql")
    marketer_client.post(
        reverse("handoff:send"), {"lead_ids": lead.pk, "marketing_notes": "Budget approved."}
    )

    response = marketer_client.get(reverse("leads:detail", args=[other.pk]))

    assert response.context["unsent_note"] == ""
    assert marketer_client.session[UNSENT_NOTE_SESSION_KEY] == {
        "lead_ids": [lead.pk],
        "note": "Budget approved.",
    }
