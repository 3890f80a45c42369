"""Rule-set versions: drafts, edits with their history, restores, imports and the JSON round trip."""

import json

import pytest

from leadflow.errors import ConflictError
from scoring import rulesets, services
from scoring.defaults import DEFAULT_RULESET
from scoring.errors import InvalidRuleSet, RuleSetChanged, RuleSetNotDraft, RuleSetNotFound
from scoring.models import RuleSet, RuleSetChange
from scoring.rules import document_from_ruleset, validate_document
from scoring.rules.diff import describe_changes
from tests.factories import UserFactory
from tests.scoring.helpers import document, engagement_rule, fit_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(username="ops-admin", roles=["revops"])


@pytest.fixture
def published():
    """The default rule set of the data migration, version 1."""
    return RuleSet.objects.get(version=1)


def _history(ruleset):
    return list(ruleset.changes.order_by("id").values_list("action", "details"))


# Describing changes.


def _normalised(doc):
    normalised, errors = validate_document(doc)
    assert errors == {}
    return normalised


def test_describe_changes_of_equal_documents_is_empty():
    doc = _normalised(DEFAULT_RULESET)

    assert describe_changes(doc, doc) == []


def test_describe_changes_names_scalars_rules_and_lists():
    before = _normalised(
        document(
            fit_rules=[fit_rule("lead.job_function", "eq", "engineering", id="function")],
            engagement_rules=[engagement_rule("quote_request", 40, id="rfq")],
            group_caps={},
            fast_track_kinds=["quote_request"],
            icp={"segments": ["automotive", "retail"]},
        )
    )
    after = _normalised(
        document(
            fit_threshold=55,
            fit_rules=[
                fit_rule("lead.job_function", "eq", "engineering", id="function", points=15)
            ],
            engagement_rules=[
                engagement_rule("quote_request", 40, id="rfq"),
                engagement_rule("quote_request", 20, id="rfq-eu", campaign="eu-*"),
            ],
            fast_track_kinds=["quote_request", "demo_request"],
            icp={"segments": ["automotive", "aerospace"]},
        )
    )

    assert describe_changes(before, after) == [
        "fit_threshold 50 → 55",
        "icp.segments: added aerospace; removed retail",
        "changed fit rule function: points 10 → 15",
        "added engagement rule rfq-eu",
        "fast_track_kinds: added demo_request",
    ]


def test_describe_changes_treats_equal_numbers_as_equal():
    before = _normalised(document(engagement_threshold=40))
    after = {**before, "engagement_threshold": 40.0}

    assert describe_changes(before, after) == []


def test_describe_changes_reports_reorder_and_group_caps():
    rules = [
        engagement_rule("page_view", 2, id="pages", group="web"),
        engagement_rule("email_click", 2, id="clicks", group="web"),
    ]
    before = _normalised(document(engagement_rules=rules, group_caps={"web": 30}))
    after = _normalised(document(engagement_rules=rules[::-1], group_caps={"web": 25}))

    assert describe_changes(before, after) == [
        "reordered engagement rules",
        "group cap web 30 → 25",
    ]


# Drafts.


def test_draft_create_copies_published_version(admin, published):
    draft = rulesets.ruleset_draft_create(actor=admin)

    assert draft.status == RuleSet.Status.DRAFT
    assert draft.version == 2
    assert draft.based_on == published
    assert document_from_ruleset(draft) == document_from_ruleset(published)
    assert _history(draft) == [("created", ["new draft from v1 (published)"])]
    assert draft.changes.get().actor == admin


def test_draft_create_without_any_version_starts_from_default(admin):
    RuleSet.objects.all().delete()

    draft = rulesets.ruleset_draft_create(actor=admin)

    assert draft.version == 1
    assert draft.name == DEFAULT_RULESET["name"]
    assert _history(draft) == [("created", ["new draft from the default manufacturing rule set"])]


def test_draft_update_records_each_change(admin, published):
    draft = rulesets.ruleset_draft_create(actor=admin)

    updated = rulesets.ruleset_draft_update(
        version=draft.version,
        changes={"fit_threshold": 55, "fast_track_window_days": 60},
        actor=admin,
        expected_revision=1,
    )

    assert updated.fit_threshold == 55
    assert updated.revision == 2
    assert updated.updated_by == admin
    assert _history(updated)[-1] == (
        "edited",
        ["fit_threshold 50 → 55", "fast_track_window_days 90 → 60"],
    )


def test_draft_update_without_change_records_nothing(admin, published):
    draft = rulesets.ruleset_draft_create(actor=admin)

    same = rulesets.ruleset_draft_update(
        version=draft.version, changes={"fit_threshold": 50}, actor=admin
    )

    assert same.revision == 1
    assert draft.changes.count() == 1


def test_draft_update_invalid_changes_nothing(admin, published):
    draft = rulesets.ruleset_draft_create(actor=admin)

    with pytest.raises(InvalidRuleSet) as raised:
        rulesets.ruleset_draft_update(
            version=draft.version,
            changes={"fit_threshold": "high", "fast_track_window_days": 0},
            actor=admin,
        )

    assert sorted(raised.value.errors) == ["fast_track_window_days", "fit_threshold"]
    draft.refresh_from_db()
    assert draft.fit_threshold == 50
    assert draft.revision == 1
    assert draft.changes.count() == 1


def test_draft_update_of_stale_revision_conflicts(admin, published):
    draft = rulesets.ruleset_draft_create(actor=admin)
    rulesets.ruleset_draft_update(version=draft.version, changes={"fit_threshold": 55}, actor=admin)

    with pytest.raises(RuleSetChanged) as raised:
        rulesets.ruleset_draft_update(
            version=draft.version,
            changes={"fit_threshold": 60},
            actor=admin,
            expected_revision=1,
        )

    assert raised.value.message == (
        "Draft version 2 was changed by someone else since you opened it (revision 1, now 2); "
        "reload it and make your change again."
    )
    draft.refresh_from_db()
    assert draft.fit_threshold == 55


def test_draft_update_of_published_version_is_refused(admin, published):
    with pytest.raises(RuleSetNotDraft) as raised:
        rulesets.ruleset_draft_update(version=1, changes={"fit_threshold": 55}, actor=admin)

    assert raised.value.status_code == 409
    published.refresh_from_db()
    assert published.fit_threshold == 50


def test_draft_update_of_unknown_version_is_not_found(admin):
    with pytest.raises(RuleSetNotFound):
        rulesets.ruleset_draft_update(version=99, changes={}, actor=admin)


def test_without_unused_group_caps_drops_caps_of_empty_groups():
    doc = document(
        engagement_rules=[engagement_rule("page_view", 2, id="pages", group="web")],
        group_caps={"web": 30, "email": 10},
    )

    assert rulesets.without_unused_group_caps(doc)["group_caps"] == {"web": 30}


# Publish, restore and import.


def test_publish_records_history_against_previous_version(admin, published):
    draft = rulesets.ruleset_draft_create(actor=admin)
    rulesets.ruleset_draft_update(version=draft.version, changes={"fit_threshold": 55}, actor=admin)

    run = services.ruleset_publish(ruleset_id=draft.pk, actor=admin)

    change = draft.changes.filter(action=RuleSetChange.Action.PUBLISHED).get()
    assert change.details == [
        f"published v2; full rescore run {run.pk} queued",
        "archived v1",
        "against v1: fit_threshold 50 → 55",
    ]
    assert change.actor == admin


def test_restore_copies_archived_version_as_draft(admin, published):
    draft = rulesets.ruleset_draft_create(actor=admin)
    rulesets.ruleset_draft_update(version=2, changes={"fit_threshold": 55}, actor=admin)
    services.ruleset_publish(ruleset_id=draft.pk, actor=admin)

    restored = rulesets.ruleset_restore(version=1, actor=admin)

    assert restored.version == 3
    assert restored.status == RuleSet.Status.DRAFT
    assert restored.based_on == published
    assert document_from_ruleset(restored) == document_from_ruleset(published)
    assert _history(restored) == [
        (
            "restored",
            ["restored v1 (archived) as a new draft", "against v2: fit_threshold 55 → 50"],
        )
    ]


def test_restore_of_unknown_version_is_not_found(admin):
    with pytest.raises(RuleSetNotFound) as raised:
        rulesets.ruleset_restore(version=42, actor=admin)

    assert raised.value.message == "Rule set version 42 does not exist; existing versions: 1."


def test_import_stores_draft_with_source(admin):
    imported = rulesets.ruleset_import(
        document=document(name="From git"), actor=admin, source="rules.json"
    )

    assert imported.status == RuleSet.Status.DRAFT
    assert imported.name == "From git"
    assert _history(imported) == [("imported", ["imported from rules.json"])]


def test_import_invalid_stores_nothing(admin):
    with pytest.raises(InvalidRuleSet):
        rulesets.ruleset_import(document={"name": "No thresholds"}, actor=admin)

    assert RuleSet.objects.count() == 1
    assert RuleSetChange.objects.count() == 0


def test_json_export_round_trips_losslessly(admin, published):
    exported = json.dumps(document_from_ruleset(published), ensure_ascii=False)

    imported = rulesets.ruleset_import(document=json.loads(exported), actor=admin)
    exported_again = json.dumps(document_from_ruleset(imported), ensure_ascii=False)

    assert exported_again == exported
    assert json.loads(exported) == DEFAULT_RULESET


def test_history_rows_are_append_only(admin, published):
    draft = rulesets.ruleset_draft_create(actor=admin)
    change = draft.changes.get()

    with pytest.raises(ValueError, match="append-only"):
        change.save()
    with pytest.raises(ValueError, match="append-only"):
        change.delete()


def test_load_of_same_version_number_conflicts(admin, monkeypatch):
    def clash(**kwargs):
        from django.db import IntegrityError

        raise IntegrityError("duplicate key")

    monkeypatch.setattr(RuleSet.objects, "create", clash)

    with pytest.raises(ConflictError):
        rulesets.ruleset_import(document=document(), actor=admin)
