"""The demo sales organisation: territories, rep profiles of the demo sales users, rules, settings.

Territory codes are the lead regions of `leads.normalize`, so a rule's regions
and its territories read alike. Each territory works by the calendar of the
office that would cover it, holidays included.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User

from handoff.errors import InvalidHandoffInput
from handoff.models import (
    ContextField,
    QualificationField,
    Rep,
    RoutingRule,
    RoutingStrategy,
    Territory,
)
from handoff.services import handoff_settings_update, routing_rule_create

MANAGER_USERNAME = "manager"
MARKETER_USERNAME = "marketer"


@dataclass(frozen=True)
class TerritorySpec:
    code: str
    name: str
    timezone: str
    day_start: dt.time
    day_end: dt.time
    # Public holidays as (month, day); the fourth Thursday of November is added where flagged.
    holidays: tuple[tuple[int, int], ...]
    thanksgiving: bool = False


TERRITORIES = (
    TerritorySpec(
        "europe",
        "Europe",
        "Europe/Berlin",
        dt.time(8, 0),
        dt.time(17, 0),
        ((1, 1), (5, 1), (10, 3), (12, 24), (12, 25), (12, 26), (12, 31)),
    ),
    TerritorySpec(
        "middle_east_africa",
        "Middle East and Africa",
        "Asia/Dubai",
        dt.time(9, 0),
        dt.time(18, 0),
        ((1, 1), (12, 2), (12, 3)),
    ),
    TerritorySpec(
        "north_america",
        "North America",
        "America/Chicago",
        dt.time(8, 0),
        dt.time(17, 0),
        ((1, 1), (7, 4), (12, 25)),
        thanksgiving=True,
    ),
    TerritorySpec(
        "latin_america",
        "Latin America",
        "America/Sao_Paulo",
        dt.time(9, 0),
        dt.time(18, 0),
        ((1, 1), (4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15), (12, 25)),
    ),
    TerritorySpec(
        "asia_pacific",
        "Asia Pacific",
        "Asia/Singapore",
        dt.time(9, 0),
        dt.time(18, 0),
        ((1, 1), (5, 1), (8, 9), (12, 25)),
    ),
)


@dataclass(frozen=True)
class RepSpec:
    username: str
    territories: tuple[str, ...]
    home_territory: str
    capacity: int
    segments: tuple[str, ...] = ()
    is_technical_expert: bool = False


# The demo sales users of leads.demo.users. Tomás covers Europe and Latin America from Madrid,
# sells to the discrete industries only, and is the application engineer for technical leads.
REPS = (
    RepSpec(
        "rep",
        ("europe", "latin_america"),
        "europe",
        capacity=15,
        segments=(
            "automotive",
            "industrial_machinery",
            "metal_fabrication",
            "plastics_rubber",
            "packaging",
            "electronics",
            "energy",
        ),
        is_technical_expert=True,
    ),
    RepSpec("rep.emea", ("europe", "middle_east_africa"), "europe", capacity=12),
    RepSpec("rep.americas", ("north_america", "latin_america"), "north_america", capacity=12),
    RepSpec("rep.apac", ("asia_pacific",), "asia_pacific", capacity=8),
)
# Goes on leave during the story, until Wednesday of the week after the demo's `now`.
OUT_OF_OFFICE_USERNAME = "rep.apac"


@dataclass(frozen=True)
class RuleSpec:
    name: str
    strategy: str
    sla_hours: int
    regions: tuple[str, ...] = ()
    product_interests: tuple[str, ...] = ()
    territories: tuple[str, ...] = ()
    reps: tuple[str, ...] = ()


# Tried in this order after the account owner. The last rule takes machine-vision leads whose
# regional pool has nobody available; any other lead without an available rep waits in the queue.
RULES = (
    RuleSpec(
        "Europe, Middle East and Africa: least loaded",
        RoutingStrategy.LEAST_LOADED,
        8,
        regions=("europe", "middle_east_africa"),
        territories=("europe", "middle_east_africa"),
    ),
    RuleSpec(
        "Americas: round robin",
        RoutingStrategy.ROUND_ROBIN,
        8,
        regions=("north_america", "latin_america"),
        territories=("north_america", "latin_america"),
    ),
    RuleSpec(
        "Asia Pacific: round robin",
        RoutingStrategy.ROUND_ROBIN,
        12,
        regions=("asia_pacific",),
        territories=("asia_pacific",),
    ),
    RuleSpec(
        "Machine vision overflow, any region",
        RoutingStrategy.LEAST_LOADED,
        16,
        product_interests=("machine_vision",),
        reps=("rep.emea", "rep.americas"),
    ),
)

# What marketing must fill before sending and a rep before accepting; every demo handoff has them.
REQUIRED_CONTEXT = [
    ContextField.INTERESTS,
    ContextField.CAMPAIGN_SOURCE,
    ContextField.QUALIFYING_ENGAGEMENT,
]
REQUIRED_QUALIFICATION = [
    QualificationField.CONFIRMED_NEED,
    QualificationField.PROCESS_FIT,
    QualificationField.NEXT_STEP,
    QualificationField.NEXT_STEP_DATE,
]


@dataclass
class DemoTeam:
    reps: dict[str, Rep]
    manager: User
    marketer: User
    territories: dict[str, Territory]
    rules: list[RoutingRule]


def demo_usernames() -> list[str]:
    return [spec.username for spec in REPS]


def holidays_for(spec: TerritorySpec, years: range) -> list[str]:
    days = [dt.date(year, month, day) for year in years for month, day in spec.holidays]
    if spec.thanksgiving:
        for year in years:
            first = dt.date(year, 11, 1)
            # Thursday is weekday 3; the fourth one falls 21 days after the first.
            days.append(first + dt.timedelta(days=(3 - first.weekday()) % 7 + 21))
    return sorted(day.isoformat() for day in days)


def _users(usernames: list[str]) -> dict[str, User]:
    users = {user.username: user for user in User.objects.filter(username__in=usernames)}
    missing = [username for username in usernames if username not in users]
    if missing:
        raise InvalidHandoffInput(
            f"Demo users {', '.join(missing)} do not exist; run `manage.py seed_demo` first.",
            code="demo_users_missing",
        )
    return users


def demo_team_create(*, now: dt.datetime) -> DemoTeam:
    """Create the territories, rep profiles, routing rules and handoff settings of the demo.

    Holidays cover the years from the story's first day to the year after `now`.
    """
    users = _users([*demo_usernames(), MANAGER_USERNAME, MARKETER_USERNAME])
    years = range((now - dt.timedelta(days=60)).year, now.year + 2)

    territories = {}
    for spec in TERRITORIES:
        territories[spec.code], _ = Territory.objects.update_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "timezone": spec.timezone,
                "work_days": [0, 1, 2, 3, 4],
                "day_start": spec.day_start,
                "day_end": spec.day_end,
                "holidays": holidays_for(spec, years),
            },
        )

    reps = {}
    for rep_spec in REPS:
        rep = Rep.objects.create(
            user=users[rep_spec.username],
            home_territory=territories[rep_spec.home_territory],
            segments=list(rep_spec.segments),
            capacity=rep_spec.capacity,
            is_technical_expert=rep_spec.is_technical_expert,
            manager=users[MANAGER_USERNAME],
        )
        rep.territories.set([territories[code] for code in rep_spec.territories])
        reps[rep_spec.username] = rep

    rules = [
        routing_rule_create(
            actor=None,
            fields={
                "name": rule_spec.name,
                "position": (index + 1) * 10,
                "regions": list(rule_spec.regions),
                "product_interests": list(rule_spec.product_interests),
                "strategy": rule_spec.strategy,
                "sla_hours": Decimal(rule_spec.sla_hours),
                "territories": [territories[code] for code in rule_spec.territories],
                "reps": [reps[username] for username in rule_spec.reps],
            },
        )
        for index, rule_spec in enumerate(RULES)
    ]

    handoff_settings_update(
        actor=None,
        required_context_fields=[str(field) for field in REQUIRED_CONTEXT],
        required_qualification_fields=[str(field) for field in REQUIRED_QUALIFICATION],
        default_sla_hours=Decimal(8),
        # Off, so that the marketer decides what reaches sales; revenue operations can turn it on.
        auto_handoff_enabled=False,
        auto_fit_threshold=70,
        auto_window_days=14,
    )
    return DemoTeam(
        reps=reps,
        manager=users[MANAGER_USERNAME],
        marketer=users[MARKETER_USERNAME],
        territories=territories,
        rules=rules,
    )


def demo_team_exists() -> bool:
    return Rep.objects.filter(user__username__in=demo_usernames()).exists()


@dataclass
class DemoTeamDeleted:
    reps: int = 0
    rules: int = 0
    territories: int = 0


def demo_team_delete() -> DemoTeamDeleted:
    """Delete the demo rep profiles and rules, and the demo territories no other rep works in.

    The users stay, because `seed_demo` owns them. The caller deletes the reps' handoffs first.
    """
    reps = Rep.objects.filter(user__username__in=demo_usernames())
    rules = RoutingRule.objects.filter(name__in=[rule.name for rule in RULES])
    deleted = DemoTeamDeleted(reps=reps.count(), rules=rules.count())
    reps.delete()
    rules.delete()
    territories = Territory.objects.filter(
        code__in=[spec.code for spec in TERRITORIES], reps__isnull=True
    )
    deleted.territories = territories.count()
    Territory.objects.filter(pk__in=list(territories.values_list("pk", flat=True))).delete()
    return deleted
