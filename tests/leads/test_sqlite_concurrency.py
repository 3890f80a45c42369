"""Concurrent writers on an SQLite file, as the development server and its eager tasks run."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from tests.leads import sqlite_ingest_threads as script


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="checks SQLite's locking; PostgreSQL locks rows"
)
def test_sqlite_concurrent_ingest_waits_for_lock(tmp_path):
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "leadflow.settings"}

    completed = subprocess.run(
        [sys.executable, "-m", "tests.leads.sqlite_ingest_threads", str(tmp_path / "db.sqlite3")],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outcome["errors"] == []
    assert outcome["events"] == script.THREADS * script.BATCHES_PER_THREAD * script.EVENTS_PER_BATCH
    assert outcome["leads"] == script.THREADS * 3
    assert outcome["stale_leads"] == 0
