"""Reads of rule sets, rescore runs, simulations and account roll-ups.

Pages, the API, commands and services share these queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from leads.models import Account, Lead
from leads.page_selectors import visible_leads
from scoring.errors import RuleSetNotFound
from scoring.models import RescoreRun, RuleSet, RuleSetChange, Simulation

# Leads listed on an account page, highest engagement first.
ACCOUNT_LEADS_SHOWN = 100


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


def ruleset_versions() -> QuerySet[RuleSet]:
    """Return every version, newest first, with the users who created, edited and published it."""
    return RuleSet.objects.select_related(
        "created_by", "updated_by", "published_by", "based_on"
    ).order_by("-version")


def ruleset_history(*, ruleset: RuleSet | None = None, limit: int = 50) -> list[RuleSetChange]:
    """Return the newest rule-set changes, of one version or of all."""
    changes = RuleSetChange.objects.select_related("actor", "ruleset").order_by(
        "-created_at", "-id"
    )
    if ruleset is not None:
        changes = changes.filter(ruleset=ruleset)
    return list(changes[:limit])


def simulation_latest(*, ruleset: RuleSet) -> Simulation | None:
    """Return the newest simulation of a rule set, or None."""
    return (
        Simulation.objects.select_related("ruleset", "requested_by")
        .filter(ruleset=ruleset)
        .order_by("-created_at", "-id")
        .first()
    )


def simulation_by_id(*, simulation_id: int, version: int | None = None) -> Simulation | None:
    simulations = Simulation.objects.select_related("ruleset", "requested_by")
    if version is not None:
        simulations = simulations.filter(ruleset__version=version)
    return simulations.filter(pk=simulation_id).first()


def rescore_run_latest(*, ruleset: RuleSet | None = None) -> RescoreRun | None:
    """Return the newest full rescore run, of one version or of any."""
    runs = RescoreRun.objects.select_related("ruleset", "triggered_by")
    if ruleset is not None:
        runs = runs.filter(ruleset=ruleset)
    return runs.order_by("-created_at", "-id").first()


@dataclass(frozen=True)
class Mover:
    """A lead of a simulation's sample, with its current name and account for display."""

    lead_id: int
    name: str
    account: str
    details: dict[str, Any]


def simulation_movers(simulation: Simulation) -> list[Mover]:
    """Return the simulation's sample of moving leads with their names, read now.

    The stored result keeps only lead ids, so no personal data is copied into it.
    """
    rows = (simulation.result or {}).get("movers") or []
    leads = Lead.objects.select_related("account").in_bulk([row["lead_id"] for row in rows])
    movers = []
    for row in rows:
        lead = leads.get(row["lead_id"])
        movers.append(
            Mover(
                lead_id=row["lead_id"],
                name=lead.display_name if lead else f"Lead {row['lead_id']} (deleted)",
                account=lead.account.name if lead and lead.account else "",
                details=row,
            )
        )
    return movers


# Account roll-ups.


def accounts_by_engagement(*, search: str = "") -> QuerySet[Account]:
    """Return accounts by engagement roll-up, highest first, optionally filtered by name or domain."""
    accounts = Account.objects.all()
    if search:
        accounts = accounts.filter(Q(name__icontains=search) | Q(domain__icontains=search))
    return accounts.order_by("-engagement_score", "-engaged_contacts", "name", "pk")


def account_with_rollup(*, account_id: int) -> Account | None:
    return Account.objects.select_related("owner").filter(pk=account_id).first()


def account_leads(*, account: Account, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Lead]:
    """Return the account's leads that the user may open, highest engagement first."""
    return (
        visible_leads(user)
        .filter(account=account)
        .order_by("-engagement_score", "-fit_score", "pk")
        .only(
            "pk",
            "email",
            "source_system",
            "external_id",
            "first_name",
            "last_name",
            "job_title",
            "status",
            "fit_score",
            "engagement_score",
            "scored_at",
        )[:ACCOUNT_LEADS_SHOWN]
    )
