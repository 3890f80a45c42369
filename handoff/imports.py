"""Services that load a sales organisation and its accounts from CRM export files.

`sales_teams.csv` has one row per rep (sales_agent, manager, regional_office):
reps become users in the sales group, managers users in the sales_manager
group, and regional offices become territories. `accounts.csv` has one row per
company (account, sector, year_established, revenue in millions of USD,
employees, office_location, subsidiary_of). Loading twice updates in place.
"""

from __future__ import annotations

import csv
import logging
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils.text import slugify

from handoff.models import Handoff, Rep, RoutingRule, RoutingStrategy, Territory
from handoff.routing import rule_pool
from handoff.services import handoff_send
from leadflow.roles import SALES, SALES_MANAGER
from leads.models import Account, Lead, LeadStatus
from leads.normalize import region_for_country
from leads.services import lead_transition

logger = logging.getLogger(__name__)

# Regional offices of a US sales organisation and the time zone each works in.
OFFICE_TIMEZONES = {
    "central": "America/Chicago",
    "east": "America/New_York",
    "west": "America/Los_Angeles",
}

# Lead regions each office covers besides North America, which every office shares.
# The files name no US state, so North American leads go to one pool of every rep.
OFFICE_REGIONS = {
    "east": ["europe", "middle_east_africa"],
    "west": ["asia_pacific"],
    "central": ["latin_america"],
}
SHARED_REGION = "north_america"

# Known spelling mistakes in the sector column.
SECTOR_SPELLING = {"technolgy": "technology"}

DEFAULT_CAPACITY = 40
# Routing opens one transaction per batch, holding the routing lock for its duration.
ROUTE_BATCH = 100


class ImportFileError(ValueError):
    """The file is missing or lacks a required column; the message names the file and the fix."""


def data_dir() -> Path:
    """Return the shared data folder: LEADFLOW_DATA_DIR, else ../shared/data beside the project."""
    override = os.environ.get("LEADFLOW_DATA_DIR")
    if override:
        return Path(override)
    return Path(settings.BASE_DIR).parent / "shared" / "data"


def read_rows(path: Path, required: set[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise ImportFileError(f"{path} does not exist; pass --data-dir or set LEADFLOW_DATA_DIR.")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise ImportFileError(
                f"{path.name} lacks the column(s) {', '.join(sorted(missing))}; "
                f"expected {', '.join(sorted(required))}."
            )
        return [{key: (value or "").strip() for key, value in row.items() if key} for row in reader]


def _username(name: str) -> str:
    return slugify(name).replace("-", ".")[:150]


def _user(name: str, group: Group) -> tuple[User, bool]:
    first, _, last = name.partition(" ")
    user, created = User.objects.get_or_create(
        username=_username(name), defaults={"first_name": first, "last_name": last}
    )
    if created:
        # Reps sign in after an admin sets a password; the import never invents one.
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(group)
    return user, created


@dataclass
class SalesTeamResult:
    territories: int = 0
    reps: int = 0
    managers: int = 0
    created_users: int = 0
    rules: int = 0
    errors: list[str] = field(default_factory=list)


def sales_teams_load(
    *,
    path: Path,
    capacity: int = DEFAULT_CAPACITY,
    technical_experts: set[str] | None = None,
    create_rules: bool = True,
) -> SalesTeamResult:
    """Create or update territories, managers and reps from sales_teams.csv, then the default rules.

    Rows without an agent or an office are reported and skipped; the others load.
    """
    rows = read_rows(path, {"sales_agent", "manager", "regional_office"})
    experts = {name.strip().lower() for name in technical_experts or set()}
    result = SalesTeamResult()
    sales_group, _ = Group.objects.get_or_create(name=SALES)
    manager_group, _ = Group.objects.get_or_create(name=SALES_MANAGER)

    with transaction.atomic():
        territories: dict[str, Territory] = {}
        managers: dict[str, User] = {}
        for line, row in enumerate(rows, start=2):
            agent, manager_name, office = row["sales_agent"], row["manager"], row["regional_office"]
            if not agent or not office:
                result.errors.append(
                    f"Line {line}: missing sales_agent or regional_office; skipped."
                )
                continue

            code = slugify(office)
            if code not in territories:
                territories[code], _ = Territory.objects.update_or_create(
                    code=code,
                    defaults={"name": office, "timezone": OFFICE_TIMEZONES.get(code, "UTC")},
                )
            territory = territories[code]

            manager = None
            if manager_name:
                if manager_name not in managers:
                    managers[manager_name], created = _user(manager_name, manager_group)
                    result.created_users += int(created)
                manager = managers[manager_name]

            user, created = _user(agent, sales_group)
            result.created_users += int(created)
            rep, _ = Rep.objects.update_or_create(
                user=user,
                defaults={
                    "capacity": capacity,
                    "manager": manager,
                    "home_territory": territory,
                    "is_technical_expert": agent.lower() in experts,
                },
            )
            rep.territories.set([territory])
            result.reps += 1

        result.territories = len(territories)
        result.managers = len(managers)
        if create_rules and territories:
            result.rules = _default_rules(territories)

    logger.info(
        "Loaded %s reps, %s managers, %s territories from %s",
        result.reps,
        result.managers,
        result.territories,
        path.name,
    )
    return result


def _default_rules(territories: dict[str, Territory]) -> int:
    """Create one round-robin rule per office for its regions and one shared North America rule."""
    count = 0
    position = 10
    for code, regions in OFFICE_REGIONS.items():
        territory = territories.get(code)
        if territory is None:
            continue
        rule, _ = RoutingRule.objects.update_or_create(
            name=f"{territory.name} office: {', '.join(regions)}",
            defaults={
                "position": position,
                "regions": regions,
                "strategy": RoutingStrategy.ROUND_ROBIN,
                "sla_hours": Decimal(8),
                "is_active": True,
            },
        )
        rule.territories.set([territory])
        position += 10
        count += 1

    rule, _ = RoutingRule.objects.update_or_create(
        name="North America: every office",
        defaults={
            "position": position,
            "regions": [SHARED_REGION],
            "strategy": RoutingStrategy.ROUND_ROBIN,
            "sla_hours": Decimal(4),
            "is_active": True,
        },
    )
    rule.territories.set(list(territories.values()))
    return count + 1


@dataclass
class AccountsResult:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def _number(value: str, kind: type[int] | type[float]) -> Any:
    try:
        return kind(value) if value else None
    except ValueError:
        return None


def accounts_load(*, path: Path) -> AccountsResult:
    """Create or update accounts by name from accounts.csv, then link subsidiaries to parents.

    Revenue is given in millions of USD. A row whose parent is not in the file keeps no parent
    and is reported.
    """
    rows = read_rows(path, {"account", "sector", "revenue", "employees", "office_location"})
    result = AccountsResult()

    with transaction.atomic():
        by_name: dict[str, Account] = {}
        for line, row in enumerate(rows, start=2):
            name = row["account"]
            if not name:
                result.errors.append(f"Line {line}: missing account name; skipped.")
                continue
            sector = row["sector"].lower()
            revenue_millions = _number(row["revenue"], float)
            country = row["office_location"]
            account, created = Account.objects.update_or_create(
                name=name,
                domain=None,
                defaults={
                    "segment": SECTOR_SPELLING.get(sector, sector),
                    "country": country,
                    "region": region_for_country(country),
                    "employee_count": _number(row["employees"], int),
                    "annual_revenue_usd": round(revenue_millions * 1_000_000)
                    if revenue_millions is not None
                    else None,
                    "custom_attributes": {"year_established": row.get("year_established", "")},
                },
            )
            by_name[name] = account
            result.created += int(created)
            result.updated += int(not created)

        for line, row in enumerate(rows, start=2):
            parent_name = row.get("subsidiary_of", "")
            child = by_name.get(row["account"])
            if not parent_name or child is None:
                continue
            parent = by_name.get(parent_name)
            if parent is None:
                result.errors.append(f"Line {line}: parent {parent_name!r} is not in the file.")
                continue
            child.parent = parent
            child.save(update_fields=["parent"])

    logger.info(
        "Loaded %s new and %s updated accounts from %s", result.created, result.updated, path.name
    )
    return result


def product_lines(path: Path) -> list[str]:
    """Return the product series of products.csv (GTX, MG …), lower-case, as lead interests."""
    rows = read_rows(path, {"product", "series"})
    return sorted({row["series"].lower() for row in rows if row["series"]})


@dataclass
class GeneratedRouting:
    lead_ids: list[int]
    handoff_ids: list[int]
    errors: list[dict[str, Any]]


def mqls_generate_and_route(
    *,
    count: int,
    seed: int = 7,
    interests: list[str] | None = None,
    technical_share: float = 0.05,
) -> GeneratedRouting:
    """Create `count` MQLs spread over the loaded accounts and send each to sales.

    Lead i works for account i modulo the number of accounts, so every account gets
    its share; interests and technical-consultation requests are drawn with `seed`.
    The leads are tagged source_system "generated" so they can be found and removed.
    """
    accounts = list(Account.objects.order_by("name"))
    if not accounts:
        raise ImportFileError(
            "No accounts are loaded; run load_sales_teams with the accounts file first."
        )
    random_source = random.Random(seed)
    interests = interests or ["general"]
    start = Lead.objects.filter(source_system="generated").count()

    leads = []
    for offset in range(count):
        number = start + offset
        account = accounts[number % len(accounts)]
        wants_expert = random_source.random() < technical_share
        leads.append(
            Lead(
                email=f"mql{number:05d}@{slugify(account.name)}.example",
                source_system="generated",
                external_id=f"mql-{number:05d}",
                first_name="Generated",
                last_name=f"MQL {number:05d}",
                job_title="Production Manager",
                job_function="operations",
                seniority="manager",
                account=account,
                company_name=account.name,
                country=account.country,
                region=account.region,
                first_touch_source="trade_show",
                first_touch_campaign="generated-mqls",
                interests=[random_source.choice(interests)],
                custom_attributes={"technical_consultation": True} if wants_expert else {},
                fit_score=random_source.randint(50, 90),
                engagement_score=float(random_source.randint(40, 90)),
                score_stale=False,
            )
        )
    created = Lead.objects.bulk_create(leads)
    lead_ids = [lead.pk for lead in created]

    for lead_id in lead_ids:
        lead_transition(lead_id=lead_id, to_status=LeadStatus.MQL, rule="handoff.generated_mqls")

    handoff_ids: list[int] = []
    errors: list[dict[str, Any]] = []
    for index in range(0, len(lead_ids), ROUTE_BATCH):
        result = handoff_send(
            lead_ids=lead_ids[index : index + ROUTE_BATCH], rule="handoff.generated_mqls"
        )
        handoff_ids.extend(handoff.pk for handoff in result.created)
        errors.extend(result.errors)

    logger.info("Generated %s MQLs and routed %s", len(lead_ids), len(handoff_ids))
    return GeneratedRouting(lead_ids=lead_ids, handoff_ids=handoff_ids, errors=errors)


def routing_report(handoff_ids: list[int]) -> dict[str, Any]:
    """Count the given handoffs per rep and per rule, and check capacity and round-robin balance."""
    handoffs = list(
        Handoff.objects.filter(pk__in=handoff_ids).values_list("rep_id", "routing_rule_id")
    )
    per_rep: Counter[int | None] = Counter(rep_id for rep_id, _ in handoffs)
    per_rep_rule: Counter[tuple[int | None, int | None]] = Counter(handoffs)

    reps = list(
        Rep.objects.select_related("user", "home_territory").order_by("home_territory__name", "id")
    )
    rules = list(
        RoutingRule.objects.filter(pk__in={rule_id for _, rule_id in handoffs if rule_id})
        .prefetch_related("reps", "territories__reps")
        .order_by("position", "id")
    )
    balance: list[dict[str, Any]] = []
    for rule in rules:
        pool = rule_pool(rule)
        counts = [per_rep_rule[(rep.pk, rule.pk)] for rep in pool]
        balance.append(
            {
                "rule": rule,
                "pool": len(pool),
                "assigned": sum(counts),
                "min": min(counts) if counts else 0,
                "max": max(counts) if counts else 0,
                "round_robin": rule.strategy == RoutingStrategy.ROUND_ROBIN,
            }
        )
    rows: list[dict[str, Any]] = [
        {
            "rep": rep,
            "territory": rep.home_territory.name if rep.home_territory else "",
            "per_rule": {rule.pk: per_rep_rule[(rep.pk, rule.pk)] for rule in rules},
            "total": per_rep[rep.pk],
            "capacity": rep.capacity,
        }
        for rep in reps
    ]
    return {
        "rows": rows,
        "rules": rules,
        "balance": balance,
        "queued": per_rep[None],
        "within_capacity": all(row["total"] <= row["capacity"] for row in rows),
        "balanced": all(item["max"] - item["min"] <= 1 for item in balance if item["round_robin"]),
    }
