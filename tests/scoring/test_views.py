"""The revops pages through the Django test client: versions, editor, simulate, publish, accounts."""

import io
import json

import pytest
from django.urls import reverse

from leads.models import LeadStatus
from scoring import rulesets
from scoring.models import RescoreRun, RuleSet, RuleSetChange, Simulation
from scoring.rules import document_from_ruleset
from tests.factories import AccountFactory, EngagementEventFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin():
    return UserFactory(username="ops", roles=["revops"])


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def draft(admin):
    return rulesets.ruleset_draft_create(actor=admin)


def section_url(ruleset, section):
    return reverse("scoring:ruleset-section", args=[ruleset.version, section])


def rule_url(ruleset, kind, rule_id):
    return reverse("scoring:ruleset-rule", args=[ruleset.version, kind, rule_id])


def thresholds_data(**overrides):
    data = {
        "fit_threshold": "50",
        "engagement_threshold": "40",
        "fit_cap": "100",
        "engagement_cap": "100",
        "fast_track_window_days": "90",
        "fast_track_kinds": [
            "quote_request",
            "demo_request",
            "sample_request",
            "technical_consultation",
        ],
    }
    data.update(overrides)
    return data


# Access.


@pytest.mark.parametrize(
    "name", ["scoring:rulesets", "scoring:ruleset"], ids=["versions", "version"]
)
def test_pages_are_for_revops_only(client, marketer, name):
    client.force_login(marketer)
    args = [1] if name == "scoring:ruleset" else []

    response = client.get(reverse(name, args=args))

    assert response.status_code == 403


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("scoring:rulesets"))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_nav_links_scoring_for_revops_only(client, admin, marketer):
    client.force_login(admin)
    assert 'href="/scoring/rulesets/"' in client.get(reverse("leads:queue")).content.decode()

    client.force_login(marketer)
    assert 'href="/scoring/rulesets/"' not in client.get(reverse("leads:queue")).content.decode()


# Versions.


def test_versions_page_lists_versions_and_history(admin_client, draft):
    response = admin_client.get(reverse("scoring:rulesets"))

    assert response.status_code == 200
    assert [ruleset.version for ruleset in response.context["versions"]] == [2, 1]
    assert [change.details for change in response.context["history"]] == [
        ["new draft from v1 (published)"]
    ]


def test_new_draft_copies_published_and_redirects(admin_client, admin):
    response = admin_client.post(reverse("scoring:ruleset-new"))

    draft = RuleSet.objects.get(version=2)
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:ruleset", args=[2])
    assert draft.created_by == admin
    assert draft.status == RuleSet.Status.DRAFT


def test_export_downloads_document(admin_client):
    response = admin_client.get(reverse("scoring:ruleset-export", args=[1]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="ruleset-v1.json"'
    assert json.loads(response.content) == document_from_ruleset(RuleSet.objects.get(version=1))


def test_import_of_exported_file_round_trips(admin_client):
    exported = admin_client.get(reverse("scoring:ruleset-export", args=[1])).content
    upload = io.BytesIO(exported)
    upload.name = "ruleset-v1.json"

    response = admin_client.post(reverse("scoring:ruleset-import"), {"file": upload})

    imported = RuleSet.objects.get(version=2)
    assert response.status_code == 302
    assert imported.changes.get().details == ["imported from ruleset-v1.json"]
    assert admin_client.get(reverse("scoring:ruleset-export", args=[2])).content == exported


def test_import_invalid_file_lists_errors_by_path(admin_client):
    upload = io.BytesIO(json.dumps({"name": "Broken", "fit_threshold": "high"}).encode())
    upload.name = "broken.json"

    response = admin_client.post(reverse("scoring:ruleset-import"), {"file": upload})

    assert response.status_code == 400
    assert response.context["import_errors"] == {
        "fit_threshold": [
            '"high" is not a whole number; fit scores are integers, so give an integer such as 50.'
        ],
        "engagement_threshold": [
            "Missing; give the engagement score a lead needs for MQL, such as 40."
        ],
    }
    assert RuleSet.objects.count() == 1


def test_import_of_malformed_json_names_line(admin_client):
    upload = io.BytesIO(b'{"name": "x",}')
    upload.name = "broken.json"

    response = admin_client.post(reverse("scoring:ruleset-import"), {"file": upload})

    assert response.status_code == 400
    assert response.context["import_form"].errors["file"] == [
        "broken.json is not valid JSON: Expecting property name enclosed in double quotes "
        "at line 1, column 14."
    ]


def test_restore_creates_draft_and_redirects(admin_client):
    response = admin_client.post(reverse("scoring:ruleset-restore", args=[1]))

    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:ruleset", args=[2])
    assert RuleSet.objects.get(version=2).changes.get().action == RuleSetChange.Action.RESTORED


# Editing a draft.


def test_section_edit_form_is_served_for_htmx(admin_client, draft):
    response = admin_client.get(section_url(draft, "thresholds") + "?edit=1", **HTMX)

    assert response.status_code == 200
    assert response.context["editing"] == "thresholds"
    assert 'name="fit_threshold"' in response.content.decode()


def test_section_save_updates_draft_and_page(admin_client, draft):
    response = admin_client.post(
        section_url(draft, "thresholds"),
        {**thresholds_data(fit_threshold="55"), "revision": 1},
        **HTMX,
    )

    draft.refresh_from_db()
    body = response.content.decode()
    assert response.status_code == 200
    assert draft.fit_threshold == 55
    assert draft.revision == 2
    assert draft.changes.order_by("id").last().details == ["fit_threshold 50 → 55"]
    assert '<input type="hidden" id="draft-revision" name="revision" value="2">' in body
    assert 'id="history" data-testid="history" hx-swap-oob="true"' in body


def test_section_error_saves_nothing(admin_client, draft):
    response = admin_client.post(
        section_url(draft, "thresholds"),
        {**thresholds_data(fit_threshold="high", fast_track_window_days="0"), "revision": 1},
        **HTMX,
    )

    form = response.context["thresholds_form"]
    assert response.status_code == 200
    assert form.errors == {
        "fit_threshold": [
            '"high" is not a whole number; fit scores are integers, so give an integer such as 50.'
        ],
        "fast_track_window_days": ["0 is outside 1 to 3650 days; use a value in that range."],
    }
    draft.refresh_from_db()
    assert draft.fit_threshold == 50
    assert draft.revision == 1


def test_section_save_without_htmx_redirects(admin_client, draft):
    response = admin_client.post(
        section_url(draft, "icp"), {"segments": "automotive, aerospace", "form_revision": 1}
    )

    draft.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:ruleset", args=[2]) + "#icp"
    assert draft.icp["segments"] == ["automotive", "aerospace"]
    assert draft.icp["regions"] == []


def test_section_error_without_htmx_renders_page_with_400(admin_client, draft):
    response = admin_client.post(
        section_url(draft, "general"), {"name": "", "notes": "", "form_revision": 1}
    )

    assert response.status_code == 400
    assert response.context["editing"] == "general"
    assert response.context["general_form"].errors == {
        "name": ["Empty; write a short descriptive text."]
    }


def test_stale_revision_is_rejected(admin_client, draft, admin):
    rulesets.ruleset_draft_update(version=2, changes={"fit_threshold": 60}, actor=admin)

    response = admin_client.post(
        section_url(draft, "thresholds"),
        {**thresholds_data(fit_threshold="55"), "revision": 1},
        **HTMX,
    )

    draft.refresh_from_db()
    assert response.context["thresholds_form"].non_field_errors() == [
        "Draft version 2 was changed by someone else since you opened it (revision 1, now 2); "
        "reload it and make your change again."
    ]
    assert draft.fit_threshold == 60


def test_published_version_cannot_be_edited(admin_client):
    response = admin_client.post(
        section_url(RuleSet.objects.get(version=1), "thresholds"), thresholds_data(), **HTMX
    )

    assert response.status_code == 403
    assert RuleSet.objects.get(version=1).fit_threshold == 50


def test_add_fit_rule(admin_client, draft):
    response = admin_client.post(
        rule_url(draft, "fit", "new"),
        {
            "id": "rfq-region",
            "label": "EU plant",
            "group": "",
            "field": "account.region",
            "op": "in",
            "value": "europe, north_america",
            "points": "5",
            "revision": 1,
        },
        **HTMX,
    )

    draft.refresh_from_db()
    assert response.status_code == 200
    assert draft.fit_rules[-1] == {
        "id": "rfq-region",
        "label": "EU plant",
        "group": "",
        "field": "account.region",
        "op": "in",
        "value": ["europe", "north_america"],
        "points": 5,
    }
    assert draft.changes.order_by("id").last().details == ["added fit rule rfq-region"]


def test_fit_rule_error_shows_next_to_value(admin_client, draft):
    response = admin_client.post(
        rule_url(draft, "fit", "new"),
        {"id": "size", "field": "account.employee_count", "op": "gte", "value": "many",
         "points": "5", "revision": 1},
        **HTMX,
    )  # fmt: skip

    row = response.context["fit_rows"][-1]
    assert row.editing is True
    assert row.form.errors == {"value": ['"gte" needs a number, got "many".']}
    draft.refresh_from_db()
    assert len(draft.fit_rules) == 12


def test_edit_engagement_rule_with_several_kinds(admin_client, draft):
    response = admin_client.post(
        rule_url(draft, "engagement", "demo-request"),
        {
            "id": "demo-request",
            "label": "Demo or meeting request",
            "group": "intent",
            "kinds": ["demo_request", "meeting_request"],
            "points": "30",
            "cap": "60",
            "window_days": "180",
            "half_life_days": "",
            "revision": 1,
        },
        **HTMX,
    )

    draft.refresh_from_db()
    rule = next(rule for rule in draft.engagement_rules if rule["id"] == "demo-request")
    assert response.status_code == 200
    assert rule["kinds"] == ["demo_request", "meeting_request"]
    assert "kind" not in rule
    assert rule["label"] == "Demo or meeting request"


def test_delete_last_rule_of_group_drops_its_cap(admin_client, draft):
    response = admin_client.post(
        reverse("scoring:ruleset-rule-delete", args=[2, "engagement", "email-click"]),
        {"revision": 1},
        **HTMX,
    )

    draft.refresh_from_db()
    assert response.status_code == 200
    assert "email-click" not in [rule["id"] for rule in draft.engagement_rules]
    assert "email" not in draft.group_caps
    assert draft.changes.order_by("id").last().details == [
        "removed engagement rule email-click",
        "removed group cap email",
    ]


def test_unknown_rule_is_not_found(admin_client, draft):
    response = admin_client.get(rule_url(draft, "fit", "no-such-rule") + "?edit=1", **HTMX)

    assert response.status_code == 404


# Simulate, publish, progress.


def test_simulate_renders_result_panel(admin_client, draft):
    # Fit 85 under the default rules; the quote request gives engagement 40, the threshold.
    lead = LeadFactory(first_name="Ines", last_name="Vogel")
    EngagementEventFactory(lead=lead, kind="quote_request")

    response = admin_client.post(reverse("scoring:ruleset-simulate", args=[2]), **HTMX)

    simulation = Simulation.objects.get()
    assert response.status_code == 200
    assert simulation.status == Simulation.Status.DONE
    assert simulation.result["enter"] == 1
    assert [(mover.lead_id, mover.name) for mover in response.context["movers"]] == [
        (lead.pk, "Ines Vogel")
    ]
    assert 'data-testid="sim-enter">1<' in response.content.decode()


def test_running_simulation_panel_polls(admin_client, draft):
    simulation = Simulation.objects.create(ruleset=draft, ruleset_revision=1, total_leads=10)

    response = admin_client.get(reverse("scoring:simulation", args=[simulation.pk]))

    assert 'hx-trigger="every 1s"' in response.content.decode()


def test_publish_redirects_to_progress(admin_client, draft, django_capture_on_commit_callbacks):
    LeadFactory.create_batch(3)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("scoring:ruleset-publish", args=[2]))

    run = RescoreRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:rulesets") + "#rescore"
    assert RuleSet.objects.get(version=2).status == RuleSet.Status.PUBLISHED
    assert RuleSet.objects.get(version=1).status == RuleSet.Status.ARCHIVED
    assert run.status == RescoreRun.Status.DONE
    page = admin_client.get(reverse("scoring:rulesets")).content.decode()
    assert 'data-testid="run-percent">100%' in page


def test_progress_of_running_run_polls_with_rate(admin_client, draft):
    run = RescoreRun.objects.create(
        ruleset=draft, status=RescoreRun.Status.RUNNING, total_leads=1000, done_leads=250
    )

    response = admin_client.get(reverse("scoring:run-progress", args=[run.pk]))

    body = response.content.decode()
    assert 'hx-trigger="every 1s"' in body
    assert 'data-testid="run-percent">25%' in body
    assert 'data-testid="run-leads">250 of 1,000' in body


# Accounts.


def test_account_page_shows_rollup_and_visible_leads(client, marketer):
    account = AccountFactory(name="Hartmann Gears", engagement_score=72.5, engaged_contacts=2)
    lead = LeadFactory(account=account, status=LeadStatus.MQL, engagement_score=50)
    client.force_login(marketer)

    response = client.get(reverse("scoring:account", args=[account.pk]))

    assert response.status_code == 200
    assert list(response.context["leads"]) == [lead]
    body = response.content.decode()
    assert 'data-testid="account-engagement">72.5' in body
    assert 'data-testid="account-engaged-contacts">2' in body


def test_account_list_orders_by_engagement(client, marketer):
    quiet = AccountFactory(name="Quiet", engagement_score=0)
    busy = AccountFactory(name="Busy", engagement_score=90, engaged_contacts=3)
    client.force_login(marketer)

    response = client.get(reverse("scoring:accounts"))

    assert list(response.context["page"]) == [busy, quiet]


def test_account_pages_refuse_sales_reps(client, rep):
    client.force_login(rep)

    assert client.get(reverse("scoring:accounts")).status_code == 403


def test_lead_page_shows_account_rollup(client, marketer):
    account = AccountFactory(engagement_score=44, engaged_contacts=3)
    lead = LeadFactory(account=account)
    client.force_login(marketer)

    body = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()

    assert "from 3 engaged contacts" in body
    assert reverse("scoring:account", args=[account.pk]) in body
