"""`manage.py seed_demo`: demo users and a generated manufacturing business, scoring, handoffs."""

from __future__ import annotations

import io
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from leadflow.roles import SALES
from leads.demo import (
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DEMO_USERS,
    demo_data_delete,
    demo_data_exists,
    demo_data_generate,
    demo_users_ensure,
)


class Command(BaseCommand):
    help = (
        "Create demo users (one per role, password printed at the end) and a demo data set of "
        "a manufacturing business, score it, then give the sales users a team and handoffs "
        "(seed_demo_handoff). Does nothing but print the logins when demo data exists; --reset "
        "rebuilds it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo leads, accounts and handoffs and rebuild them.",
        )
        parser.add_argument(
            "--accounts", type=int, default=300, help="Accounts to create (default 300)."
        )
        parser.add_argument(
            "--leads", type=int, default=2000, help="Leads to create (default 2,000)."
        )
        parser.add_argument(
            "--events",
            type=int,
            default=20_000,
            help="Engagement events to create (default 20,000).",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"Random seed (default {DEFAULT_SEED})."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("accounts", "leads", "events"):
            if options[name] < 0:
                raise CommandError(f"--{name} {options[name]} is invalid; use 0 or more.")

        if demo_data_exists() and not options["reset"]:
            self.stdout.write("Demo data already exists; use --reset to rebuild it.")
            # Adds the handoffs to demo data seeded before they existed; otherwise a no-op.
            self._seed_handoffs(reset=False, seed=options["seed"])
            self._print_logins()
            return

        started = time.monotonic()
        with transaction.atomic():
            if options["reset"]:
                deleted = demo_data_delete()
                self.stdout.write(
                    f"Deleted {deleted.leads:,} demo leads, {deleted.events:,} events and "
                    f"{deleted.accounts:,} accounts."
                )
            users = demo_users_ensure()
            summary = demo_data_generate(
                accounts=options["accounts"],
                leads=options["leads"],
                events=options["events"],
                seed=options["seed"],
                account_owners=[
                    user for user, demo in zip(users, DEMO_USERS, strict=True) if demo.role == SALES
                ],
            )
        self.stdout.write(
            f"Created {summary.accounts:,} accounts, {summary.leads:,} leads and "
            f"{summary.events:,} engagement events in {time.monotonic() - started:.1f} s."
        )

        self._score()
        self._seed_handoffs(reset=options["reset"], seed=options["seed"])
        self._print_logins()

    def _score(self) -> None:
        # Through the scoring app's command rather than an import, so leads does not depend on it.
        started = time.monotonic()
        call_command("rescore", stdout=io.StringIO())
        self.stdout.write(f"Scored all leads in {time.monotonic() - started:.1f} s.")

    def _seed_handoffs(self, *, reset: bool, seed: int) -> None:
        # By command name, like scoring: the sales team and handoffs belong to the handoff app.
        output = io.StringIO()
        call_command("seed_demo_handoff", reset=reset, seed=seed, stdout=output)
        for line in output.getvalue().splitlines():
            self.stdout.write(line)

    def _print_logins(self) -> None:
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for demo in DEMO_USERS:
            self.stdout.write(f"  {demo.username:<14} {demo.role}")
