"""manage.py export_ruleset [VERSION]: write a rule set as JSON that load_ruleset reads back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadflow.errors import ApplicationError
from scoring import selectors
from scoring.rules import document_from_ruleset


class Command(BaseCommand):
    help = (
        "Write a rule set as JSON, the published one unless VERSION is given. Loading the "
        "output with load_ruleset gives the same rules as a new version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "version", nargs="?", type=int, help="Version to export (default: the published one)."
        )
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["version"] is None:
                ruleset = selectors.ruleset_active()
                if ruleset is None:
                    raise CommandError("No rule set is published; give a VERSION to export.")
            else:
                ruleset = selectors.ruleset_by_version(options["version"])
        except ApplicationError as error:
            raise CommandError(error.message) from error

        text = json.dumps(document_from_ruleset(ruleset), indent=2, ensure_ascii=False) + "\n"
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote rule set version {ruleset.version} to {options['output']}.")
        else:
            self.stdout.write(text, ending="")
