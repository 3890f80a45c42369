"""Rule-set admin: validation by path, read-only published versions, publish and copy actions."""

import pytest
from django.urls import reverse

from scoring.models import RescoreRun, RuleSet

pytestmark = pytest.mark.django_db


def _form_data(**overrides):
    data = {
        "name": "Admin draft",
        "notes": "",
        "icp": "{}",
        "fit_rules": '[{"id": "segment", "field": "account.segment", "op": "eq", '
        '"value": "automotive", "points": 20}]',
        "engagement_rules": "[]",
        "group_caps": "{}",
        "fit_cap": "",
        "engagement_cap": "",
        "fit_threshold": "50",
        "engagement_threshold": "40",
        "fast_track_kinds": "[]",
        "fast_track_window_days": "90",
    }
    data.update(overrides)
    return data


def test_admin_adds_draft_as_next_version(admin_client, admin_user):
    response = admin_client.post(reverse("admin:scoring_ruleset_add"), _form_data())

    ruleset = RuleSet.objects.get(name="Admin draft")
    assert response.status_code == 302
    assert (ruleset.version, ruleset.status) == (2, RuleSet.Status.DRAFT)
    assert ruleset.created_by == admin_user


def test_admin_shows_rule_errors_on_their_field(admin_client):
    data = _form_data(
        fit_rules='[{"id": "segment", "field": "account.segment", "op": "between", '
        '"value": 5, "points": 20}]'
    )

    response = admin_client.post(reverse("admin:scoring_ruleset_add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["fit_rules"] == [
        'fit_rules[0].op: "between" does not apply to account.segment, a text field; use one '
        "of eq, ne, in, not_in, is_empty, is_not_empty, matches."
    ]
    assert not RuleSet.objects.filter(name="Admin draft").exists()


def test_admin_published_version_is_read_only(admin_client):
    published = RuleSet.objects.get(version=1)

    response = admin_client.post(
        reverse("admin:scoring_ruleset_change", args=[published.pk]), _form_data(name="Edited")
    )

    published.refresh_from_db()
    assert response.status_code == 403
    assert published.name == "Manufacturing default"


def test_admin_publish_archives_previous(admin_client):
    admin_client.post(reverse("admin:scoring_ruleset_add"), _form_data())
    draft = RuleSet.objects.get(name="Admin draft")

    admin_client.post(
        reverse("admin:scoring_ruleset_changelist"),
        {"action": "publish_selected", "_selected_action": [draft.pk]},
    )

    statuses = dict(RuleSet.objects.values_list("version", "status"))
    assert statuses == {1: RuleSet.Status.ARCHIVED, 2: RuleSet.Status.PUBLISHED}
    assert RescoreRun.objects.get().ruleset == RuleSet.objects.get(version=2)


def test_admin_copy_creates_draft(admin_client):
    original = RuleSet.objects.get(version=1)

    admin_client.post(
        reverse("admin:scoring_ruleset_changelist"),
        {"action": "copy_as_draft", "_selected_action": [original.pk]},
    )

    copy = RuleSet.objects.get(version=2)
    assert copy.status == RuleSet.Status.DRAFT
    assert copy.based_on == original
    assert copy.fit_rules == original.fit_rules


def test_admin_rescore_run_list_shows_progress(admin_client):
    RescoreRun.objects.create(ruleset=RuleSet.objects.get(version=1), total_leads=8, done_leads=2)

    response = admin_client.get(reverse("admin:scoring_rescorerun_changelist"))

    assert response.status_code == 200
    assert "2/8 (25%)" in response.content.decode()


def test_admin_stores_normalised_rules(admin_client):
    admin_client.post(reverse("admin:scoring_ruleset_add"), _form_data())

    ruleset = RuleSet.objects.get(name="Admin draft")
    assert ruleset.fit_rules == [
        {
            "id": "segment",
            "label": "segment",
            "group": "",
            "field": "account.segment",
            "op": "eq",
            "value": "automotive",
            "points": 20,
        }
    ]
    assert ruleset.icp["segments"] == []
