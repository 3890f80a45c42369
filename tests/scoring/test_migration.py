"""The data migration that publishes the default manufacturing rule set as version 1."""

import importlib

import pytest
from django.apps import apps

from scoring.defaults import DEFAULT_RULESET
from scoring.models import RuleSet
from scoring.rules import compile_ruleset, document_from_ruleset, validate_document

migration = importlib.import_module("scoring.migrations.0002_default_ruleset")

pytestmark = pytest.mark.django_db


def test_default_ruleset_is_published_version_1():
    ruleset = RuleSet.objects.get(version=1)

    compiled = compile_ruleset(ruleset)

    assert ruleset.status == RuleSet.Status.PUBLISHED
    assert ruleset.name == "Manufacturing default"
    assert ruleset.published_at is not None
    assert len(compiled.fit_rules) == 12
    assert len(compiled.engagement_rules) == 16


def test_default_ruleset_fast_tracks_high_intent_kinds():
    ruleset = RuleSet.objects.get(version=1)

    assert ruleset.fast_track_kinds == [
        "quote_request",
        "demo_request",
        "sample_request",
        "technical_consultation",
    ]
    assert (ruleset.fit_threshold, ruleset.engagement_threshold) == (50, 40.0)


def test_frozen_migration_document_matches_defaults_module():
    """defaults.py describes version 1; a new default belongs in a new version, not in an edit."""
    _, errors = validate_document(migration.DEFAULT_RULESET)

    assert errors == {}
    assert migration.DEFAULT_RULESET == DEFAULT_RULESET
    assert document_from_ruleset(RuleSet.objects.get(version=1)) == DEFAULT_RULESET


def test_migration_creates_ruleset_only_when_none_exists():
    RuleSet.objects.all().delete()

    migration.create_default_ruleset(apps, None)
    migration.create_default_ruleset(apps, None)

    assert list(RuleSet.objects.values_list("version", "status")) == [(1, "published")]
