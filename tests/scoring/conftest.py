"""Fixtures of the scoring tests: a real Celery worker for the worker tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from leadflow.celery import app as celery_app

WORKER_START_TIMEOUT_SECONDS = 30


def _test_database_url() -> str:
    """DATABASE_URL with the database name replaced by pytest's test database."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + settings.DATABASES["default"]["NAME"]))


def _worker_ready(node_name: str) -> bool:
    replies = celery_app.control.ping(destination=[node_name], timeout=1.0)
    return any(node_name in reply for reply in replies)


def start_celery_worker(log_path: Path, **extra_env: str) -> subprocess.Popen[bytes]:
    """Start `celery -A leadflow worker --pool=solo` on the test database and wait until it responds to a ping.

    `extra_env` adds environment variables, such as a smaller rescore chunk size.
    """
    node_name = f"scoring-test-{uuid.uuid4().hex[:8]}@localhost"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "DATABASE_CONN_MAX_AGE": "0",
        **extra_env,
    }
    celery = Path(sys.executable).with_name("celery")
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                str(celery),
                "-A",
                "leadflow",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                node_name,
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + WORKER_START_TIMEOUT_SECONDS
    while not _worker_ready(node_name):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_celery_worker(process)
            pytest.fail(f"The Celery worker did not start:\n{log_path.read_text()}")
    return process


def stop_celery_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """Start a worker on the test database for the test; stop it afterwards.

    The queue is purged first so that tasks left by earlier runs do not touch this test's data.
    Depends on transactional_db so that the worker stops before the tables are flushed.
    """
    celery_app.control.purge()
    log_path = tmp_path / "worker.log"
    process = start_celery_worker(log_path)
    try:
        yield process
    finally:
        stop_celery_worker(process)
        print(log_path.read_text()[-4000:])
