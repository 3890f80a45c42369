"""Benchmark the full rescore at scale against a hand-written floor, and incremental scoring.

Run it with `make bench-rescore`, or directly:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/9 \\
    python -m tests.bench.rescore_bench [--leads 1000000] [--events 10000000]

It creates its own database (lf_bench_scoring unless LEADFLOW_BENCH_DATABASE
names another) on the server of DATABASE_URL, drops it at the end unless
--keep, and writes docs/benchmarks/rescore.json. The steps:

1. Migrate, generate the leads and events (tests/bench/rescore_data.py) and
   score every lead once with the default rule set, the state a publish starts from.
2. The floor: one UPDATE ... FROM (SELECT ... GROUP BY lead_id) that computes the
   new rule set's engagement scores, written by hand below from the rule-set
   document and sharing no code with scoring.sql. Then VACUUM, and the leads
   get their previous scores back.
3. Publish the new rule set through manage.py load_ruleset; a real Celery
   worker (solo pool) runs the full rescore. Its time is the run's duration;
   the worker's peak resident memory is VmHWM from /proc.
4. Check the result: every lead scored with the new version, engagement equal
   to the floor's formula at each lead's scored_at, a sample equal to the
   Python scorer, and webhook deliveries only for leads that changed status.
5. Incremental scoring: 10,000 events posted at 500 per second through the
   HTTP API (gunicorn on 127.0.0.1), in batches of 50, to distinct leads, with
   one worker as docker-compose runs it (prefork, 2 processes). The latency
   of an event is from its request's response, which comes after the commit,
   to the first poll that finds its id in the lead's breakdown.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scoring.defaults import DEFAULT_RULESET  # noqa: E402
from tests.bench.rescore_data import DataSize, generate  # noqa: E402

logger = logging.getLogger("rescore_bench")

REPORT = ROOT / "docs" / "benchmarks" / "rescore.json"
PYTHON = sys.executable
CELERY = str(Path(sys.executable).with_name("celery"))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


# The rule set the timed rescore publishes: the default with a lower engagement threshold and
# a pricing page worth more, the kind of change an admin makes.
def new_ruleset(engagement_threshold: int) -> dict[str, Any]:
    return {
        **DEFAULT_RULESET,
        "name": f"Manufacturing default, engagement threshold {engagement_threshold}",
        "engagement_threshold": engagement_threshold,
        "engagement_rules": [
            {**rule, "points": 10} if rule["id"] == "pricing-page" else rule
            for rule in DEFAULT_RULESET["engagement_rules"]
        ],
    }


NEW_RULESET = new_ruleset(35)
INCREMENTAL_EVENTS = 10_000
INCREMENTAL_RATE = 500  # events per second
INCREMENTAL_BATCH = 50  # events per request
POLL_SECONDS = 0.02
SAMPLE_LEADS = 2_000
WORKER_START_SECONDS = 60


# Databases and processes.


def _database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
        "LEADFLOW_API_USER_RATE": "100000/min",
        **extra,
    }


def _manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result.stdout


@contextmanager
def _worker(env: dict[str, str], log_path: Path, *, concurrency: int = 0) -> Any:
    """Run one Celery worker: the solo pool by default, else prefork with `concurrency` processes.

    Yields the process that runs the tasks' code, which for the solo pool is the worker itself.
    """
    node = f"bench-{os.getpid()}-{log_path.stem}@localhost"
    pool = (
        ["--pool=solo"] if not concurrency else ["--pool=prefork", f"--concurrency={concurrency}"]
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [CELERY, "-A", "leadflow", "worker", *pool,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", node,
             "--loglevel", os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING")],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_for_worker(env, node, process, log_path)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_for_worker(
    env: dict[str, str], node: str, process: subprocess.Popen[bytes], log_path: Path
) -> None:
    deadline = time.monotonic() + WORKER_START_SECONDS
    ping = (
        "from leadflow.celery import app; import sys; "
        f"sys.exit(0 if any('{node}' in r for r in app.control.ping(destination=['{node}'], "
        "timeout=1.0)) else 1)"
    )
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The Celery worker exited:\n{log_path.read_text()[-4000:]}")
        if subprocess.run([PYTHON, "-c", ping], cwd=ROOT, env=env, check=False).returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"The Celery worker did not answer within {WORKER_START_SECONDS} s.")


def _peak_rss_mb(pid: int) -> float:
    """Return the process's peak resident set size (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"No VmHWM in /proc/{pid}/status")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _web_server(env: dict[str, str], log_path: Path) -> Any:
    """Serve the app with gunicorn on 127.0.0.1 and yield its base URL."""
    port = _free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [GUNICORN, "leadflow.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--timeout", "60"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# The floor.


def _like(glob: str) -> str:
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _clamp(expression: str, cap: float | None) -> str:
    return expression if cap is None else f"LEAST(GREATEST({expression}, -{cap}), {cap})"


def floor_select(document: dict[str, Any], now_sql: str, *, per_lead_now: bool = False) -> str:
    """Hand-write the SELECT ... GROUP BY lead_id of a rule set's engagement scores.

    Each rule is a SUM ... FILTER over the events: decayed points rounded to
    6 places, the rule's total to 2, then rule, group and total caps as
    docs/scoring.md defines them. `now_sql` is the scoring time; with
    `per_lead_now` it is a column of the lead joined as `l`.
    """
    age = f"(GREATEST(EXTRACT(EPOCH FROM ({now_sql} - e.occurred_at))::float8, 0) / 86400.0)"
    totals = []
    groups: dict[str, list[str]] = {}
    ungrouped: list[str] = []
    for index, rule in enumerate(document["engagement_rules"]):
        kinds = rule.get("kinds") or [rule["kind"]]
        conditions = [f"e.kind IN ({', '.join(_quote(kind) for kind in kinds)})"]
        if rule.get("window_days") is not None:
            conditions.append(f"{age} <= {rule['window_days']}")
        for column in ("url_pattern", "asset", "campaign"):
            if rule.get(column):
                name = "url" if column == "url_pattern" else column
                conditions.append(f"e.{name} ILIKE {_quote(_like(rule[column]))}")
        if rule.get("half_life_days") is None:
            points = f"{rule['points']}::numeric"
        else:
            points = (
                f"round(({rule['points']}::float8 * power(0.5::float8, "
                f"LEAST({age} / {rule['half_life_days']}::float8, 64::float8)))::numeric, 6)"
            )
        totals.append(
            f"round(COALESCE(SUM({points}) FILTER (WHERE {' AND '.join(conditions)}), 0), 2) "
            f"AS r{index}"
        )
        capped = _clamp(f"r{index}", rule.get("cap"))
        if rule.get("group"):
            groups.setdefault(rule["group"], []).append(capped)
        else:
            ungrouped.append(capped)
    terms = ungrouped + [
        _clamp("(" + " + ".join(parts) + ")", document["group_caps"].get(group))
        for group, parts in groups.items()
    ]
    score = _clamp("round(" + " + ".join(terms or ["0"]) + ", 2)", document.get("engagement_cap"))
    longest = max(
        [document.get("fast_track_window_days", 90)]
        + [rule["window_days"] for rule in document["engagement_rules"]]
    )
    join = "JOIN leads_lead AS l ON l.id = e.lead_id" if per_lead_now else ""
    return f"""
SELECT lead_id, round({score}, 2) AS engagement_score
FROM (
    SELECT e.lead_id, {", ".join(totals)}
    FROM leads_engagementevent AS e {join}
    WHERE e.occurred_at >= {now_sql} - interval '{longest + 1} days'
    GROUP BY e.lead_id
) AS per_rule
"""


def floor_update(document: dict[str, Any]) -> str:
    return f"""
UPDATE leads_lead AS l SET engagement_score = s.engagement_score
FROM ({floor_select(document, "now()")}) AS s
WHERE l.id = s.lead_id
"""


# Steps.


def _prepare(admin_url: str, name: str, size: DataSize, env: dict[str, str]) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    _manage(env, "migrate", "--noinput")
    started = time.monotonic()
    with psycopg.connect(env["DATABASE_URL"], autocommit=False) as connection:
        with connection.cursor() as cursor:
            generate(cursor, size)
        connection.commit()
    _vacuum(env["DATABASE_URL"])
    logger.info("Generated the data in %.0f s", time.monotonic() - started)

    # The state a publish starts from: every lead scored with the published default.
    started = time.monotonic()
    _manage(env, "rescore")
    _vacuum(env["DATABASE_URL"])
    logger.info("Scored every lead with the default rule set in %.0f s", time.monotonic() - started)


def _resume(env: dict[str, str]) -> None:
    """Bring a kept database to the state a publish starts from: its last run finished."""
    _manage(env, "shell", "-c", "from leadflow.celery import app; app.control.purge()")
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
        connection.execute("DELETE FROM integrations_webhookattempt")
        connection.execute("DELETE FROM integrations_webhookdelivery")
        connection.execute("DELETE FROM integrations_webhookendpoint")
        unfinished = connection.execute(
            "SELECT id FROM scoring_rescorerun WHERE status IN ('queued', 'running')"
        ).fetchall()
    for (run_id,) in unfinished:
        _manage(env, "rescore", "--resume", str(run_id))
    _vacuum(env["DATABASE_URL"])


def _vacuum(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as connection:
        for table in ("leads_account", "leads_lead", "leads_engagementevent"):
            connection.execute(f"VACUUM ANALYZE {table}")


def _measure_floor(database_url: str) -> float:
    """Time the floor UPDATE, then put the previous engagement scores back."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE bench_saved AS SELECT id, engagement_score FROM leads_lead"
        )
        # The floor gets the planner settings that suit one big aggregate best.
        connection.execute("SET jit = off")
        connection.execute("SET work_mem = '256MB'")
        started = time.monotonic()
        connection.execute(floor_update(NEW_RULESET))
        seconds = time.monotonic() - started
        connection.execute(
            "UPDATE leads_lead AS l SET engagement_score = s.engagement_score "
            "FROM bench_saved AS s WHERE s.id = l.id"
        )
        connection.execute("DROP TABLE bench_saved")
    _vacuum(database_url)
    logger.info("Floor: %.1f s", seconds)
    return seconds


def _rescore(env: dict[str, str], work: Path) -> dict[str, Any]:
    """Publish the new rule set and time the full rescore a real worker runs."""
    database_url = env["DATABASE_URL"]
    _manage(env, "shell", "-c", "from leadflow.celery import app; app.control.purge()")
    document_path = work / "new_ruleset.json"
    document_path.write_text(json.dumps(NEW_RULESET), encoding="utf-8")
    with psycopg.connect(database_url, autocommit=True) as connection:
        # A webhook endpoint proves that only leads that changed status send anything.
        connection.execute(
            "INSERT INTO integrations_webhookendpoint (url, secret, event_types, description, "
            "is_active, created_at, updated_at) VALUES ('http://127.0.0.1:9/hooks', "
            "'whsec_bench', '[\"lead.status_changed\", \"lead.mql\"]', 'bench', true, now(), now())"
        )
        changes_before = connection.execute("SELECT count(*) FROM leads_statuschange").fetchone()

    with _worker(env, work / "worker.log") as worker:
        _manage(env, "load_ruleset", str(document_path), "--publish")
        run = _wait_for_run(database_url)
        peak_rss_mb = _peak_rss_mb(worker.pid)

    with psycopg.connect(database_url, autocommit=True) as connection:
        changes_after = connection.execute("SELECT count(*) FROM leads_statuschange").fetchone()
        deliveries = connection.execute(
            "SELECT count(*), count(DISTINCT (payload -> 'lead' ->> 'id')) "
            "FROM integrations_webhookdelivery"
        ).fetchone()
        connection.execute("DELETE FROM integrations_webhookattempt")
        connection.execute("DELETE FROM integrations_webhookdelivery")
        connection.execute("DELETE FROM integrations_webhookendpoint")
    assert changes_before is not None
    assert changes_after is not None
    assert deliveries is not None
    return {
        **run,
        "peak_rss_mb": round(peak_rss_mb, 1),
        "status_changes": changes_after[0] - changes_before[0],
        "webhook_deliveries": deliveries[0],
        "webhook_leads": deliveries[1],
    }


def _wait_for_run(database_url: str) -> dict[str, Any]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        while True:
            row = connection.execute(
                "SELECT r.id, r.status, r.total_leads, r.done_leads, r.entered_mql, "
                "EXTRACT(EPOCH FROM r.finished_at - r.created_at), s.version "
                "FROM scoring_rescorerun AS r JOIN scoring_ruleset AS s ON s.id = r.ruleset_id "
                "ORDER BY r.id DESC LIMIT 1"
            ).fetchone()
            if row is not None and row[1] in ("done", "failed"):
                break
            time.sleep(1)
    run_id, status, total, done, entered, seconds, version = row
    if status != "done":
        raise RuntimeError(f"Rescore run {run_id} ended {status}.")
    logger.info("Rescore: %.1f s for %s leads, %s entered MQL", seconds, done, entered)
    return {
        "run_id": run_id,
        "version": version,
        "rescore_seconds": float(seconds),
        "total_leads": total,
        "done_leads": done,
        "entered_mql": entered,
    }


def _verify(env: dict[str, str], version: int) -> dict[str, Any]:
    """Check the rescore's numbers against the floor's formula and the Python scorer."""
    database_url = env["DATABASE_URL"]
    with psycopg.connect(database_url, autocommit=True) as connection:
        unscored = connection.execute(
            "SELECT count(*) FROM leads_lead WHERE ruleset_version IS DISTINCT FROM %s "
            "OR score_stale",
            [version],
        ).fetchone()
        connection.execute("SET work_mem = '256MB'")
        mismatched = connection.execute(
            f"""
SELECT count(*) FROM leads_lead AS l
LEFT JOIN ({floor_select(NEW_RULESET, "l.scored_at", per_lead_now=True)}) AS f
    ON f.lead_id = l.id
WHERE abs(l.engagement_score - COALESCE(f.engagement_score, 0)) > 0.001
"""
        ).fetchone()
    assert unscored is not None
    assert mismatched is not None
    python_check = _manage(
        env, "shell", stdin=_PYTHON_CHECK.replace("SAMPLE", str(SAMPLE_LEADS))
    ).strip()
    checks = {
        "leads_not_scored_with_new_version": unscored[0],
        "engagement_differs_from_floor_formula": mismatched[0],
        "sample_differs_from_python_scorer": json.loads(python_check.splitlines()[-1]),
    }
    logger.info("Checks: %s", checks)
    return checks


_PYTHON_CHECK = """
import json, random
from leads.models import Account, Lead
from scoring.engine import ACCOUNT_VALUE_FIELDS, lead_values, score_lead
from scoring.rules import compile_ruleset
from scoring.selectors import ruleset_active
from scoring.services import events_by_lead

compiled = compile_ruleset(ruleset_active())
ids = list(Lead.objects.values_list("pk", flat=True))
sample = sorted(random.Random(7).sample(ids, min(SAMPLE, len(ids))))
differences = 0
for lead in Lead.objects.filter(pk__in=sample):
    account = None
    if lead.account_id:
        account = Account.objects.filter(pk=lead.account_id).values(*ACCOUNT_VALUE_FIELDS).first()
    events = events_by_lead(compiled, [lead.pk], lead.scored_at).get(lead.pk, [])
    result = score_lead(compiled, lead=lead_values(lead), account=account, events=events,
                        now=lead.scored_at)
    if (result.fit_score, result.engagement_score, result.breakdown) != (
        lead.fit_score, lead.engagement_score, lead.score_breakdown
    ):
        differences += 1
print(json.dumps({"sampled": len(sample), "differences": differences}))
"""


def _incremental(env: dict[str, str], work: Path) -> dict[str, Any]:
    """Post events through the API at a fixed rate and time each until its lead is rescored."""
    database_url = env["DATABASE_URL"]
    # Webhook deliveries left by the rescore would compete with the scoring tasks.
    _manage(env, "shell", "-c", "from leadflow.celery import app; app.control.purge()")
    token = _manage(
        env,
        "shell",
        stdin=(
            "from django.contrib.auth.models import Group, User\n"
            "from rest_framework.authtoken.models import Token\n"
            "user, _ = User.objects.get_or_create(username='bench-marketing')\n"
            "user.groups.add(Group.objects.get_or_create(name='marketing')[0])\n"
            "print(Token.objects.get_or_create(user=user)[0].key)\n"
        ),
    ).split()[-1]
    with psycopg.connect(database_url, autocommit=True) as connection:
        lead_ids = [row[0] for row in connection.execute("SELECT id FROM leads_lead").fetchall()]
    targets = random.Random(11).sample(lead_ids, INCREMENTAL_EVENTS)
    batches = [
        targets[start : start + INCREMENTAL_BATCH]
        for start in range(0, len(targets), INCREMENTAL_BATCH)
    ]

    import httpx

    run_token = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    pending: dict[int, tuple[int, float]] = {}
    latencies: list[float] = []
    # From the response to the moment scoring read the events: time spent in the queue.
    waits: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[str] = []

    def poll() -> None:
        with psycopg.connect(database_url, autocommit=True) as connection:
            while not stop.is_set():
                with lock:
                    items = list(pending.items())
                if items:
                    rows = connection.execute(
                        "SELECT p.event_id, extract(epoch FROM l.scored_at) "
                        "FROM unnest(%s::bigint[], %s::bigint[]) "
                        "AS p(lead_id, event_id) JOIN leads_lead AS l ON l.id = p.lead_id "
                        "WHERE jsonb_path_exists(l.score_breakdown, "
                        "'$.engagement[*].event_ids[*] ? (@ == $e)', "
                        "jsonb_build_object('e', p.event_id))",
                        [[lead for _, (lead, _) in items], [event for event, _ in items]],
                    ).fetchall()
                    seen = time.time()
                    with lock:
                        for event_id, scored_at in rows:
                            _, committed = pending.pop(event_id)
                            latencies.append(seen - committed)
                            waits.append(float(scored_at) - committed)
                time.sleep(POLL_SECONDS)

    def send(batch_number: int, base_url: str) -> None:
        now = datetime.now(UTC).isoformat()
        body = [
            {
                "lead_id": lead_id,
                "kind": "page_view",
                "url": "https://www.example.com/pricing",
                "occurred_at": now,
                "external_id": f"bench-live-{run_token}-{batch_number}-{lead_id}",
            }
            for lead_id in batches[batch_number]
        ]
        with httpx.Client(base_url=base_url, timeout=30) as client:
            response = client.post(
                "/api/v1/events/", json=body, headers={"Authorization": f"Token {token}"}
            )
        answered = time.time()
        if response.status_code != 200:
            errors.append(f"{response.status_code}: {response.text[:300]}")
            return
        results = response.json()["results"]
        created = [result for result in results if result["status"] == "created"]
        if len(created) != len(results):
            errors.append(f"{len(results) - len(created)} events were not created: {results[0]}")
        with lock:
            for result in created:
                pending[result["id"]] = (result["lead_id"], answered)

    # One worker as docker-compose runs it: prefork with a process per CPU, here 2.
    concurrency = int(os.environ.get("BENCH_INCREMENTAL_CONCURRENCY", "2"))
    with (
        _worker(env, work / "worker-incremental.log", concurrency=concurrency),
        _web_server(env, work / "web.log") as url,
    ):
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        interval = INCREMENTAL_BATCH / INCREMENTAL_RATE
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = []
            for number in range(len(batches)):
                delay = started + number * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(send, number, url))
            for future in futures:
                future.result()
        sent_seconds = time.monotonic() - started
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with lock:
                if not pending:
                    break
            time.sleep(0.1)
        stop.set()
        poller.join(timeout=10)

    if errors:
        raise RuntimeError(f"{len(errors)} requests failed; first: {errors[0]}")
    if pending or len(latencies) != INCREMENTAL_EVENTS:
        raise RuntimeError(f"{len(pending)} events were not scored within 120 s of the last post.")
    latencies.sort()
    result = {
        "incremental_events": INCREMENTAL_EVENTS,
        "incremental_rate_per_second": INCREMENTAL_RATE,
        "incremental_batch": INCREMENTAL_BATCH,
        "incremental_sent_seconds": round(sent_seconds, 1),
        "incremental_p50_ms": round(1000 * statistics.median(latencies), 1),
        "incremental_p95_ms": round(1000 * latencies[int(0.95 * len(latencies)) - 1], 1),
        "incremental_max_ms": round(1000 * latencies[-1], 1),
        "incremental_queue_p50_ms": round(1000 * statistics.median(waits), 1),
    }
    logger.info("Incremental: %s", result)
    return result


def _machine(database_url: str) -> dict[str, Any]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        row = connection.execute("SHOW server_version").fetchone()
        settings = dict(
            connection.execute(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'max_wal_size', 'max_parallel_workers_per_gather')"
            ).fetchall()
        )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "postgresql": row[0] if row else "",
        "postgresql_settings": settings,
        "python": platform.python_version(),
        "note": "2 CPUs shared with other work; times include that contention.",
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database.")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Reuse a database kept by --keep: finish its last run, then measure again.",
    )
    parser.add_argument(
        "--engagement-threshold",
        type=int,
        default=35,
        help="Engagement threshold of the published rule set (default 35; the default rule "
        "set has 40). A rerun with --reuse needs another value than the run before.",
    )
    parser.add_argument(
        "--output", type=Path, default=REPORT, help=f"Report file (default {REPORT})."
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server the benchmark may create on.")
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        raise SystemExit("Set CELERY_BROKER_URL to a Redis database the benchmark may purge.")
    name = os.environ.get("LEADFLOW_BENCH_DATABASE", "lf_bench_scoring")
    database_url = _database_url(base_url, name)
    env = _env(database_url)
    work = ROOT / "tests" / "bench" / "results"
    work.mkdir(exist_ok=True)
    size = DataSize(leads=args.leads, events=args.events)

    global NEW_RULESET
    NEW_RULESET = new_ruleset(args.engagement_threshold)
    try:
        if args.reuse:
            _resume(env)
        else:
            _prepare(_database_url(base_url, "postgres"), name, size, env)
        floor_seconds = _measure_floor(database_url)
        run = _rescore(env, work)
        checks = _verify(env, run["version"])
        incremental = _incremental(env, work)
        report = {
            "machine": _machine(database_url),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "leads": size.leads,
            "events": size.events,
            "rescore_seconds": round(run["rescore_seconds"], 1),
            "floor_seconds": round(floor_seconds, 1),
            "ratio": round(run["rescore_seconds"] / floor_seconds, 2),
            "peak_rss_mb": run["peak_rss_mb"],
            **incremental,
            "entered_mql": run["entered_mql"],
            "status_changes": run["status_changes"],
            "webhook_deliveries": run["webhook_deliveries"],
            "webhook_leads": run["webhook_leads"],
            "checks": checks,
        }
    finally:
        if not args.keep:
            with psycopg.connect(_database_url(base_url, "postgres"), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    logger.info("Wrote %s", args.output)
    return report


if __name__ == "__main__":
    main()
