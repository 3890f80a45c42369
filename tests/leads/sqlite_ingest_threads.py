"""Ingest events from several threads into a fresh SQLite file; print the outcome as JSON.

Run by tests/leads/test_sqlite_concurrency.py in a child process, because the suite's SQLite
database is a shared in-memory one, whose table locks fail at once instead of waiting:
    python -m tests.leads.sqlite_ingest_threads DATABASE_FILE
"""

from __future__ import annotations

import json
import os
import sys
import threading

THREADS = 4
BATCHES_PER_THREAD = 5
EVENTS_PER_BATCH = 10


def main(database_file: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database_file}"
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")

    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection

    from leadflow.celery import app as celery_app
    from leads.models import EngagementEvent, Lead
    from leads.services import events_ingest

    call_command("migrate", verbosity=0)
    # Scoring runs eagerly after each commit, in the thread; its errors must show up here too.
    celery_app.conf.task_eager_propagates = True
    errors: list[str] = []

    def ingest(thread: int) -> None:
        try:
            for batch in range(BATCHES_PER_THREAD):
                events_ingest(
                    items=[
                        {
                            "kind": "page_view",
                            "email": f"buyer{index % 3}@plant-{thread}.example",
                            "occurred_at": "2026-01-01T00:00:00Z",
                            "external_id": f"thread-{thread}-{batch}-{index}",
                        }
                        for index in range(EVENTS_PER_BATCH)
                    ]
                )
        except Exception as error:  # The parent test reports every error.
            errors.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    print(
        json.dumps(
            {
                "errors": errors,
                "events": EngagementEvent.objects.count(),
                "leads": Lead.objects.count(),
                "stale_leads": Lead.objects.filter(score_stale=True).count(),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
