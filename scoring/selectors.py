"""Reads of rule sets and rescore runs shared by pages, the API, commands and services."""

from __future__ import annotations

from scoring.errors import RuleSetNotFound
from scoring.models import RuleSet


def ruleset_active() -> RuleSet | None:
    """Return the published rule set, the one that scores every lead; None before any is published."""
    return RuleSet.objects.filter(status=RuleSet.Status.PUBLISHED).first()


def ruleset_by_version(version: int) -> RuleSet:
    ruleset = RuleSet.objects.filter(version=version).first()
    if ruleset is None:
        known = ", ".join(
            str(number) for number in RuleSet.objects.values_list("version", flat=True)[:20]
        )
        raise RuleSetNotFound(
            f"Rule set version {version} does not exist; existing versions: {known or 'none'}."
        )
    return ruleset
