"""manage.py load_ruleset FILE: store a rule-set JSON document as the next version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadflow.errors import ApplicationError
from scoring import services
from scoring.errors import InvalidRuleSet


class Command(BaseCommand):
    help = (
        "Validate a rule-set JSON file (see docs/scoring.md) and store it as the next version, "
        "as a draft unless --publish is given. Prints each error with its path and exits with "
        "status 1 when the file is invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the rule-set JSON file.")
        parser.add_argument(
            "--publish",
            action="store_true",
            help="Publish the new version, archive the current one and start a full rescore.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{path} is not UTF-8 text; save it as UTF-8.") from error
        except json.JSONDecodeError as error:
            raise CommandError(
                f"{path} is not valid JSON: {error.msg} at line {error.lineno}, "
                f"column {error.colno}."
            ) from error

        try:
            ruleset = services.ruleset_load(document=document, publish=options["publish"])
        except InvalidRuleSet as error:
            for field_path, messages in error.errors.items():
                for message in messages:
                    self.stderr.write(f"{field_path}: {message}")
            raise CommandError(f"{path} is invalid; nothing was loaded.") from error
        except ApplicationError as error:
            raise CommandError(error.message) from error

        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {path} as rule set version {ruleset.version} ({ruleset.status})."
            )
        )
