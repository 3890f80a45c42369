"""Demo data of the handoff app for `make run`: a sales team, routing rules and four weeks of handoffs.

`seed_demo` calls this through the `seed_demo_handoff` command after it has
created the demo users and leads and scored them. Every handoff goes through
the services, dated with their `now` parameter, so the demo passes the same
checks and leaves the same audit trail as real use.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from handoff.demo.story import RULE_DEMO, SEND_SHARE, Story, demo_handoff_ids, story_counts
from handoff.demo.team import demo_team_create, demo_team_delete, demo_team_exists, demo_usernames
from handoff.errors import InvalidHandoffInput
from handoff.models import Handoff
from leads.models import Lead, LeadStatus

logger = logging.getLogger(__name__)

DEFAULT_SEED = 1912

__all__ = [
    "DEFAULT_SEED",
    "RULE_DEMO",
    "SEND_SHARE",
    "DemoHandoffDeleted",
    "DemoHandoffSummary",
    "demo_handoff_delete",
    "demo_handoff_exists",
    "demo_handoff_generate",
]


@dataclass
class DemoHandoffSummary:
    reps: int = 0
    rules: int = 0
    territories: int = 0
    mqls: int = 0
    sent: int = 0
    send_errors: int = 0
    unsent: int = 0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class DemoHandoffDeleted:
    handoffs: int = 0
    reps: int = 0
    rules: int = 0
    territories: int = 0


def demo_handoff_exists() -> bool:
    return demo_team_exists()


def demo_handoff_generate(
    *, now: dt.datetime | None = None, seed: int = DEFAULT_SEED, share: float = SEND_SHARE
) -> DemoHandoffSummary:
    """Create the demo sales team and hand off `share` of the current MQLs, as of `now`.

    Needs the demo users of `seed_demo`. The same seed, `now` and leads give the same story.
    """
    now = now or timezone.now()
    mqls = Lead.objects.filter(status=LeadStatus.MQL).count()

    with transaction.atomic():
        team = demo_team_create(now=now)
        story = Story(team, random.Random(seed), now)
        story.plan(share=share)
        story.run()

    summary = DemoHandoffSummary(
        reps=len(team.reps),
        rules=len(team.rules),
        territories=len(team.territories),
        mqls=mqls,
        sent=len(story.plans) - story.send_errors,
        send_errors=story.send_errors,
        unsent=Lead.objects.filter(status=LeadStatus.MQL)
        .exclude(handoffs__status="pending")
        .count(),
        counts=story_counts(now=now),
    )
    logger.info(
        "Demo handoffs: %s of %s MQLs sent, %s failed", summary.sent, mqls, summary.send_errors
    )
    return summary


def demo_handoff_delete() -> DemoHandoffDeleted:
    """Delete the demo's handoffs, rep profiles, routing rules and territories.

    Leads keep the status their handoffs gave them; `seed_demo --reset` rebuilds
    the leads too. A demo rep with a handoff that the demo did not create stops
    the reset before anything is deleted.
    """
    with transaction.atomic():
        ids = demo_handoff_ids()
        foreign = (
            Handoff.objects.filter(rep__user__username__in=demo_usernames())
            .exclude(pk__in=ids)
            .count()
        )
        if foreign:
            raise InvalidHandoffInput(
                f"The demo reps hold {foreign} handoffs that the demo did not create; "
                "reassign or delete them before the reset.",
                code="demo_reps_in_use",
            )
        deleted = DemoHandoffDeleted(handoffs=len(ids))
        Handoff.objects.filter(pk__in=ids).delete()
        team = demo_team_delete()
    deleted.reps, deleted.rules, deleted.territories = team.reps, team.rules, team.territories
    return deleted
