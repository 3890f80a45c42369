"""Helpers of the benchmarks: their own database, a gunicorn server, machine facts, percentiles.

The benchmarks are scripts, not pytest tests: `make bench` runs them, and the normal
suite never does. Each creates a database named lf_bench_<name> on the server of
DATABASE_URL and drops it when it ends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = PROJECT_ROOT / "docs" / "benchmarks"
DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# Benchmarks use Redis database 8 unless CELERY_BROKER_URL names another.
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/8"


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", DEFAULT_SERVER_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("The benchmarks need PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    return url


def database_url(name: str) -> str:
    """Return the URL of database `name` on the server of DATABASE_URL."""
    parts = urlsplit(server_url())
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(database_url("postgres"), autocommit=True)


def create_database(name: str) -> str:
    """Drop and create database `name`, then migrate it; return its URL."""
    if not name.startswith("lf_bench_"):
        raise ValueError(f"Benchmark databases are named lf_bench_*, not {name!r}.")
    with _admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
    )
    return url


def database_exists(name: str) -> bool:
    with _admin_connection() as connection:
        return bool(
            connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        )


def drop_database(name: str) -> None:
    with _admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(url: str) -> None:
    """Point Django at the benchmark database and the benchmark broker, then set it up."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CELERY_BROKER_URL", DEFAULT_BROKER_URL)
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")
    sys.path.insert(0, str(PROJECT_ROOT))
    import django

    django.setup()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    port: int
    pid: int

    def worker_pids(self) -> list[int]:
        """Return the process ids of the gunicorn workers, for a profiler."""
        output = subprocess.run(
            ["pgrep", "-P", str(self.pid)], capture_output=True, text=True, check=False
        ).stdout
        return sorted(int(pid) for pid in output.split())


@contextlib.contextmanager
def gunicorn(url: str, *, workers: int, log_path: Path, threads: int = 1) -> Iterator[Server]:
    """Serve the project with gunicorn on 127.0.0.1 at a free port until the block ends."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", DEFAULT_BROKER_URL),
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        # One database connection per worker for the whole run, so that the CPU time of its
        # backend process can be read at the end.
        "DATABASE_CONN_MAX_AGE": "3600",
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "leadflow.wsgi",
        "--workers",
        str(workers),
        # More than one thread makes gunicorn use its gthread worker class instead of sync.
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        # The default 30 s would kill a worker that a loaded machine delays on one request.
        "--timeout",
        "120",
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
    try:
        _wait_for_port(port, process)
        yield Server(port=port, pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode}; see its log.")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not listen on 127.0.0.1:{port} within {timeout} s.")


def cpu_seconds(pids: list[int]) -> float:
    """Return the user and system CPU time the processes have used so far, in seconds."""
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            # Fields 14 and 15 of /proc/<pid>/stat, after the command name in parentheses.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks_per_second


def backend_pids(connection: psycopg.Connection, database: str) -> list[int]:
    """Return the process ids of the PostgreSQL backends serving `database`, but this one."""
    rows = connection.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        [database],
    ).fetchall()
    return [int(row[0]) for row in rows]


def percentile(values: list[float], fraction: float) -> float:
    """Return the value below which `fraction` of `values` lie, by the nearest-rank method."""
    if not values:
        raise ValueError("No values to take a percentile of.")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def machine_facts(connection: psycopg.Connection | None = None) -> dict[str, object]:
    """Describe the machine and the PostgreSQL server, for the result files."""
    facts: dict[str, object] = {
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }
    if connection is not None:
        facts["postgresql"] = connection.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        settings = dict(
            connection.execute(
                "SELECT name, current_setting(name) FROM pg_settings "
                "WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', 'work_mem', 'jit')"
            ).fetchall()
        )
        facts["postgresql_settings"] = settings
    return facts


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def today() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def write_result(file_name: str, result: dict[str, object]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / file_name
    path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    return path
