"""Reads of rule sets and rescore runs shared by pages, the API, commands and services."""

from __future__ import annotations

from scoring.errors import RuleSetNotFound
from scoring.models import RescoreRun, RuleSet, Simulation


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


def simulation_latest(*, ruleset: RuleSet) -> Simulation | None:
    """Return the newest simulation of a rule set, or None."""
    return Simulation.objects.filter(ruleset=ruleset).order_by("-created_at", "-id").first()


def rescore_run_latest() -> RescoreRun | None:
    """Return the newest full rescore run, whose progress the versions page shows."""
    return RescoreRun.objects.select_related("ruleset").order_by("-created_at", "-id").first()
