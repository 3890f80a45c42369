"""manage.py rescore: rescore every lead with the published rule set, chunk by chunk."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadflow.errors import ApplicationError
from scoring import services
from scoring.models import RescoreRun


class Command(BaseCommand):
    help = (
        "Rescore every lead with the published rule set in this process, printing progress per "
        "chunk. On PostgreSQL each chunk is one set-based UPDATE."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=services.RESCORE_CHUNK_SIZE,
            help=f"Leads per chunk (default {services.RESCORE_CHUNK_SIZE}).",
        )
        parser.add_argument(
            "--resume",
            type=int,
            metavar="RUN_ID",
            help="Continue an unfinished rescore run after its last finished chunk.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        chunk_size = options["chunk_size"]
        if chunk_size < 1:
            raise CommandError(f"--chunk-size must be 1 or more, got {chunk_size}.")

        try:
            run = services.rescore_run_execute(
                chunk_size=chunk_size,
                resume_run_id=options["resume"],
                progress=self._print_progress,
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error

        if run.status != RescoreRun.Status.DONE:
            raise CommandError(f"Rescore run {run.pk} ended {run.status}: {run.error}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Rescore run {run.pk} done with rule set version {run.ruleset.version}: "
                f"{run.done_leads} leads, {run.entered_mql} entered MQL."
            )
        )

    def _print_progress(self, run: RescoreRun) -> None:
        self.stdout.write(
            f"Run {run.pk}: {run.done_leads}/{run.total_leads} leads ({run.percent:.0f}%), "
            f"up to lead id {run.last_lead_id}, {run.entered_mql} entered MQL"
        )
