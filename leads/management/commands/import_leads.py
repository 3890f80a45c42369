"""`manage.py import_leads FILE --mapping MAPPING.json`: import leads and their activity from a CSV file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.imports import ImportFileError, MappingError, leads_import_csv, load_mapping
from leads.imports.service import BATCH_SIZE, ERROR, ImportReport

# Rows with messages printed in the summary; --report writes all of them.
PRINTED_MESSAGE_ROWS = 20


class Command(BaseCommand):
    help = (
        "Import leads from a CSV file with a column mapping (see docs/importing.md). "
        "Re-importing the same file updates the leads and adds no duplicate events."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV file to import.")
        parser.add_argument(
            "--mapping", type=Path, required=True, help="JSON file mapping columns to lead fields."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check every row and report what would happen, writing nothing.",
        )
        parser.add_argument(
            "--report", type=Path, help="Write one CSV line per row (status and messages) here."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Rows per transaction (default {BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError(f"--batch-size {options['batch_size']} is invalid; use 1 or more.")
        if options["report"]:
            _check_writable(options["report"])
        try:
            mapping = load_mapping(options["mapping"])
            report = leads_import_csv(
                path=options["file"],
                mapping=mapping,
                dry_run=options["dry_run"],
                batch_size=options["batch_size"],
                on_batch=self._progress if options["verbosity"] >= 2 else None,
            )
        except (MappingError, ImportFileError) as error:
            raise CommandError(error.message) from error

        report_error = ""
        if options["report"]:
            try:
                with options["report"].open("w", encoding="utf-8", newline="") as file:
                    report.write_csv(file)
            except OSError as error:
                # The rows are stored by now, so the summary still matters more than the file.
                report_error = _os_error_text(error)
        self._print_summary(report, None if report_error else options["report"])
        if report_error:
            raise CommandError(
                f"The import finished, but the report could not be written to "
                f"{options['report']}: {report_error}. Import the file again with a writable "
                "--report path; a re-import updates the same leads and adds no duplicate events."
            )

    def _progress(self, rows_done: int) -> None:
        self.stderr.write(f"{rows_done:,} rows processed")

    def _print_summary(self, report: ImportReport, report_path: Path | None) -> None:
        counts = report.counts
        prefix = (
            "Dry run, nothing was written. Would have imported" if report.dry_run else "Imported"
        )
        self.stdout.write(
            f"{prefix} {len(report.rows):,} rows from {report.file_name} in "
            f"{report.duration_seconds:.1f} s: {counts['created']:,} created, "
            f"{counts['updated']:,} updated, {counts['error']:,} errors."
        )
        self.stdout.write(
            f"Events: {report.events_created:,} created, {report.events_existing:,} already stored. "
            f"Accounts created: {report.accounts_created:,}."
        )
        if report.ignored_columns:
            self.stdout.write(f"Columns not imported: {', '.join(report.ignored_columns)}.")

        noted = [row for row in report.rows if row.messages]
        for row in noted[:PRINTED_MESSAGE_ROWS]:
            style = self.style.ERROR if row.status == ERROR else self.style.WARNING
            self.stdout.write(
                style(f"Row {row.row_number} ({row.identity or 'no identity'}, {row.status}): ")
                + " ".join(row.messages)
            )
        if len(noted) > PRINTED_MESSAGE_ROWS:
            hint = f"see {report_path}" if report_path else "use --report FILE to list them all"
            self.stdout.write(
                f"{len(noted) - PRINTED_MESSAGE_ROWS:,} more rows have messages; {hint}."
            )
        if report_path:
            self.stdout.write(f"Report written to {report_path}.")


def _check_writable(path: Path) -> None:
    """Fail before importing when the report file cannot be created or written."""
    existed = path.exists()
    try:
        # Append mode creates the file without truncating an existing one.
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        raise CommandError(
            f"Cannot write the report to {path}: {_os_error_text(error)}. Nothing was "
            "imported; give --report a path in a writable directory."
        ) from error
    if not existed:
        path.unlink()


def _os_error_text(error: OSError) -> str:
    return error.strerror or type(error).__name__
