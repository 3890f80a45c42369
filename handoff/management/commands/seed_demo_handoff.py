"""`manage.py seed_demo_handoff`: the demo sales team, routing rules and four weeks of handoffs."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from handoff.demo import (
    DEFAULT_SEED,
    SEND_SHARE,
    DemoHandoffSummary,
    demo_handoff_delete,
    demo_handoff_exists,
    demo_handoff_generate,
)
from handoff.errors import InvalidHandoffInput


class Command(BaseCommand):
    help = (
        "Create territories, rep profiles for the demo sales users, routing rules and handoff "
        "settings, then hand off part of the current MQLs through the handoff services: pending, "
        "accepted, rejected, escalated, won and lost. Needs the users of seed_demo. Does nothing "
        "when the demo reps exist; --reset deletes what this command created and rebuilds it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo handoffs, reps, rules and territories, then rebuild them.",
        )
        parser.add_argument(
            "--share",
            type=float,
            default=SEND_SHARE,
            help=f"Share of the current MQLs to hand off, from 0 to 1 (default {SEND_SHARE}).",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"Random seed (default {DEFAULT_SEED})."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 <= options["share"] <= 1:
            raise CommandError(f"--share {options['share']} is invalid; use a number from 0 to 1.")

        if demo_handoff_exists() and not options["reset"]:
            self.stdout.write("Demo handoffs already exist; use --reset to rebuild them.")
            return

        started = time.monotonic()
        try:
            if options["reset"]:
                deleted = demo_handoff_delete()
                self.stdout.write(
                    f"Deleted {deleted.handoffs:,} demo handoffs, {deleted.reps} reps, "
                    f"{deleted.rules} routing rules and {deleted.territories} territories."
                )
            summary = demo_handoff_generate(seed=options["seed"], share=options["share"])
        except InvalidHandoffInput as error:
            raise CommandError(error.message) from error

        self.stdout.write(_summary_line(summary, seconds=time.monotonic() - started))


def _summary_line(summary: DemoHandoffSummary, *, seconds: float) -> str:
    counts = summary.counts
    return (
        f"Handed off {summary.sent} of {summary.mqls} MQLs to {summary.reps} reps in "
        f"{seconds:.1f} s: {counts['pending']} pending ({counts['overdue']} overdue, "
        f"{counts['queued']} in the fallback queue), {counts['open_sqls']} open SQLs, "
        f"{counts['won']} won, {counts['lost']} lost, {counts['rejected']} rejected, "
        f"{counts['withdrawn']} withdrawn, {counts['reassigned']} reassigned; "
        f"{summary.unsent} MQLs wait in the queue."
    )
