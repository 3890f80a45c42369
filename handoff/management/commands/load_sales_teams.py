"""Load the sales organisation and the accounts, optionally route generated MQLs and print the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from handoff import imports


class Command(BaseCommand):
    help = (
        "Load reps, managers and territories from crm-sales/sales_teams.csv and accounts from "
        "crm-sales/accounts.csv, create one routing rule per office, and with --route-mqls N "
        "generate N MQLs, route them and print the assignments per rep."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="Folder holding crm-sales/ (default: LEADFLOW_DATA_DIR or ../shared/data).",
        )
        parser.add_argument(
            "--capacity",
            type=int,
            default=imports.DEFAULT_CAPACITY,
            help="Maximum pending handoffs per rep (default: %(default)s).",
        )
        parser.add_argument(
            "--technical-expert",
            action="append",
            default=[],
            metavar="NAME",
            help="Mark this rep (full name as in the file) as a technical expert; repeatable.",
        )
        parser.add_argument(
            "--no-rules",
            action="store_true",
            help="Do not create or update the default routing rules.",
        )
        parser.add_argument(
            "--route-mqls",
            type=int,
            default=0,
            metavar="N",
            help="Generate N MQLs on the loaded accounts, send them to sales and print the table.",
        )
        parser.add_argument("--seed", type=int, default=7, help="Seed for the generated MQLs.")

    def handle(self, *args: Any, **options: Any) -> None:
        crm = (options["data_dir"] or imports.data_dir()) / "crm-sales"
        if options["capacity"] < 0:
            raise CommandError(f"--capacity {options['capacity']} is negative; give 0 or more.")

        try:
            teams = imports.sales_teams_load(
                path=crm / "sales_teams.csv",
                capacity=options["capacity"],
                technical_experts=set(options["technical_expert"]),
                create_rules=not options["no_rules"],
            )
            accounts = imports.accounts_load(path=crm / "accounts.csv")
        except imports.ImportFileError as error:
            raise CommandError(str(error)) from error

        self.stdout.write(
            f"Sales teams: {teams.reps} reps, {teams.managers} managers, {teams.territories} territories "
            f"({teams.created_users} new users), {teams.rules} routing rules."
        )
        self.stdout.write(f"Accounts: {accounts.created} created, {accounts.updated} updated.")
        for message in teams.errors + accounts.errors:
            self.stderr.write(message)

        if options["route_mqls"] > 0:
            self._route(crm, options["route_mqls"], options["seed"])

    def _route(self, crm: Path, count: int, seed: int) -> None:
        interests = (
            imports.product_lines(crm / "products.csv") if (crm / "products.csv").is_file() else []
        )
        try:
            generated = imports.mqls_generate_and_route(count=count, seed=seed, interests=interests)
        except imports.ImportFileError as error:
            raise CommandError(str(error)) from error
        report = imports.routing_report(generated.handoff_ids)

        rules = report["rules"]
        self.stdout.write("")
        self.stdout.write(
            f"Routed {len(generated.handoff_ids)} of {len(generated.lead_ids)} generated MQLs."
        )
        for failure in generated.errors[:10]:
            self.stderr.write(failure["message"])
        self.stdout.write("")
        self.stdout.write(
            "Rules: " + "; ".join(f"R{index}={rule.name}" for index, rule in enumerate(rules, 1))
        )
        header = f"{'Rep':<22} {'Office':<8} " + " ".join(
            f"{'R' + str(i):>4}" for i in range(1, len(rules) + 1)
        )
        self.stdout.write(header + f" {'Total':>6} {'Cap':>4}")
        for row in report["rows"]:
            cells = " ".join(f"{row['per_rule'][rule.pk]:>4}" for rule in rules)
            self.stdout.write(
                f"{row['rep'].display_name:<22} {row['territory']:<8} {cells} {row['total']:>6} {row['capacity']:>4}"
            )
        self.stdout.write(
            f"{'Fallback queue':<31} {'':>{5 * len(rules) - 1}} {report['queued']:>6}"
        )
        self.stdout.write("")
        for item in report["balance"]:
            self.stdout.write(
                f"{item['rule'].name}: {item['assigned']} leads over {item['pool']} reps, "
                f"min {item['min']}, max {item['max']}"
            )
        self.stdout.write(
            f"Every rep within capacity: {'yes' if report['within_capacity'] else 'NO'}"
        )
        self.stdout.write(
            f"Round-robin counts within one of each other per rule: {'yes' if report['balanced'] else 'NO'}"
        )
