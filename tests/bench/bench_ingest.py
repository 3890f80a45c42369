"""Benchmark of event ingest through the real HTTP stack against the COPY floor.

Run with `make bench`, or alone:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/8 python -m tests.bench.bench_ingest

Steps, all in one run:

1. Create the database lf_bench_ingest, migrate it, and fill it with accounts and the
   known leads. Build every request body in memory before any clock starts.
2. Start gunicorn with 2 workers on 127.0.0.1. CELERY_BROKER_URL points at Redis, and
   no Celery worker runs, so the scoring tasks that ingest enqueues wait in Redis and
   no scoring work competes with ingest for the CPU.
3. Post the events in requests of 1,000 from a few client threads, each request with
   its own Idempotency-Key, and check that every event was created.
4. Read the stored rows back, empty the table, and time a COPY of the same rows into the
   same table, with the same indexes and constraints. Do it twice, and take the faster run
   as the floor.
5. Post single events from a few client threads for a fixed time: latency and rate.
6. Time the idempotency bookkeeping of one 1,000-event response on its own.

The result goes to docs/benchmarks/ingest.json. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg

from tests.bench import common

DATABASE = "lf_bench_ingest"
EVENTS_PATH = "/api/v1/events/"
EVENT_COLUMNS = (
    "lead_id, kind, url, asset, campaign, occurred_at, properties, external_id, source, received_at"
)
ACCOUNTS = 5_000
KNOWN_LEADS = 45_000
UNKNOWN_LEADS = 5_000
# Share of events whose e-mail address has no lead yet, so the request creates it.
UNKNOWN_SHARE = 0.05
# Share of leads on free-mail addresses, which never link to an account.
FREE_MAIL_SHARE = 0.1
WARM_UP_REQUESTS = 4

KIND_WEIGHTS = {
    "page_view": 45,
    "email_open": 15,
    "email_click": 10,
    "website_visit": 6,
    "content_download": 7,
    "form_submit": 4,
    "webinar_attended": 3,
    "spec_sheet_download": 3,
    "cad_download": 2,
    "trade_show_visit": 1,
    "sample_request": 1,
    "quote_request": 1,
    "demo_request": 1,
    "meeting_request": 1,
}
PAGES = (
    "/",
    "/products/",
    "/products/cnc-spindles/",
    "/products/linear-guides/",
    "/products/servo-drives/",
    "/industries/automotive/",
    "/industries/aerospace/",
    "/pricing/",
    "/case-studies/gear-plant-retrofit/",
    "/contact/",
)
ASSETS = ("spindle-catalogue-2026.pdf", "lg-series-cad.step", "servo-datasheet.pdf", "")
CAMPAIGNS = ("2026-q1-spindles", "hannover-messe-2026", "newsletter-march", "retargeting", "")
SOURCES = ("website", "marketo", "hubspot")
UTM = (("google", "cpc"), ("linkedin", "paid_social"), ("newsletter", "email"), ("direct", ""))


@dataclass
class PostStats:
    """What the client threads saw: latency per request and the counts they checked."""

    latencies: list[float] = field(default_factory=list)
    created: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sample_body: bytes = b""


def main() -> None:
    arguments = parse_arguments()
    log_path = Path(arguments.log)
    url = common.create_database(DATABASE)
    try:
        result = run(arguments, url, log_path)
    finally:
        common.drop_database(DATABASE)
        _flush_broker()
    if arguments.write:
        path = common.write_result("ingest.json", result)
        print(f"Wrote {path}")
    print(json.dumps(result, indent=2))


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="Events to post in all.")
    parser.add_argument("--batch", type=int, default=1_000, help="Events per request.")
    parser.add_argument("--clients", type=int, default=4, help="Concurrent client threads.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes.")
    parser.add_argument(
        "--threads", type=int, default=1, help="Threads per gunicorn worker; 1 is the sync worker."
    )
    parser.add_argument(
        "--single-seconds", type=float, default=20, help="Duration of the single-event load."
    )
    parser.add_argument(
        "--single-clients", type=int, default=4, help="Concurrent clients posting single events."
    )
    parser.add_argument(
        "--profile", default="", help="Record the workers with py-spy into this folder."
    )
    parser.add_argument(
        "--no-write", dest="write", action="store_false", help="Print only; keep the JSON file."
    )
    parser.add_argument("--log", default="/tmp/lf_bench_ingest_gunicorn.log", help="Server log.")
    return parser.parse_args()


def run(arguments: argparse.Namespace, url: str, log_path: Path) -> dict[str, object]:
    common.setup_django(url)
    with psycopg.connect(url) as connection:
        machine = common.machine_facts(connection)
    api_key = create_api_key()
    seed_leads(url)
    known, unknown = lead_emails()

    print(f"Building {arguments.events:,} events in requests of {arguments.batch:,}…")
    rng = random.Random(20260301)
    now = datetime.now(UTC)
    bodies = [
        build_body(rng, now, known, unknown, prefix=f"b{number:05d}", size=arguments.batch)
        for number in range(arguments.events // arguments.batch)
    ]
    warm_up = [
        build_body(rng, now, known, [], prefix=f"w{number}", size=arguments.batch)
        for number in range(WARM_UP_REQUESTS)
    ]

    with common.gunicorn(
        url, workers=arguments.workers, threads=arguments.threads, log_path=log_path
    ) as server:
        post_batches(server.port, api_key, warm_up, clients=arguments.clients)
        reset_tables(url)

        print("Posting the events…")
        with psycopg.connect(url) as connection:
            backends = common.backend_pids(connection, DATABASE)
        workers = server.worker_pids()
        cpu_before = (common.cpu_seconds(workers), common.cpu_seconds(backends))
        profiler = start_profiler(server, arguments.profile, "batch")
        load_before = os.getloadavg()
        client_before = time.process_time()
        started = time.perf_counter()
        stats = post_batches(server.port, api_key, bodies, clients=arguments.clients)
        api_seconds = time.perf_counter() - started
        client_cpu = time.process_time() - client_before
        stop_profiler(profiler)
        cpu = {
            "gunicorn_workers_s": round(common.cpu_seconds(workers) - cpu_before[0], 1),
            "postgresql_backends_s": round(common.cpu_seconds(backends) - cpu_before[1], 1),
            "client_s": round(client_cpu, 1),
        }
        if stats.failures:
            raise RuntimeError(f"{len(stats.failures)} requests failed: {stats.failures[:3]}")
        if stats.created != arguments.events:
            raise RuntimeError(f"{stats.created:,} of {arguments.events:,} events were created.")
        api_load = [round(value, 2) for value in os.getloadavg()]
        with psycopg.connect(url) as connection:
            leads_created = connection.execute("SELECT count(*) FROM leads_lead").fetchone()[0]  # type: ignore[index]
        leads_created -= KNOWN_LEADS

        print("Timing COPY of the same rows…")
        copy_runs = copy_floor(url)

        print(f"Posting single events for {arguments.single_seconds:g} s…")
        single = post_singles(
            server.port,
            api_key,
            known,
            seconds=arguments.single_seconds,
            clients=arguments.single_clients,
        )

    idempotency = time_idempotency_bookkeeping(stats.sample_body)

    api_rows_per_s = arguments.events / api_seconds
    copy_rows_per_s, copy_cpu = max(copy_runs)
    api_cpu = cpu["gunicorn_workers_s"] + cpu["postgresql_backends_s"]
    machine["load_average_before_api"] = [round(value, 2) for value in load_before]
    machine["load_average_after_api"] = api_load
    return {
        "machine": machine,
        "date": common.today(),
        "api_rows_per_s": round(api_rows_per_s),
        "copy_rows_per_s": round(copy_rows_per_s),
        "ratio": round(api_rows_per_s / copy_rows_per_s, 3),
        "single_p50_ms": round(common.percentile(single["latencies"], 0.50) * 1000, 2),
        "single_p99_ms": round(common.percentile(single["latencies"], 0.99) * 1000, 2),
        "single_requests_per_s": round(single["requests"] / single["seconds"], 1),
        "details": {
            "events": arguments.events,
            "events_per_request": arguments.batch,
            "client_threads": arguments.clients,
            "gunicorn_workers": arguments.workers,
            "gunicorn_threads_per_worker": arguments.threads,
            "api_seconds": round(api_seconds, 2),
            "api_cpu_seconds": cpu,
            "batch_request_p50_ms": round(common.percentile(stats.latencies, 0.50) * 1000, 1),
            "batch_request_p99_ms": round(common.percentile(stats.latencies, 0.99) * 1000, 1),
            "copy_rows_per_s_runs": [round(rate) for rate, _ in copy_runs],
            "copy_cpu_seconds": round(copy_cpu, 1),
            # Other programs on a shared machine slow both phases by different amounts; CPU
            # time is less sensitive to them than the wall-clock rates.
            "cpu_ratio": round(copy_cpu / api_cpu, 3) if api_cpu else None,
            "leads_known": KNOWN_LEADS,
            "leads_created_by_ingest": leads_created,
            "idempotency": idempotency,
            "single_clients": arguments.single_clients,
            "single_seconds": arguments.single_seconds,
            "single_requests": single["requests"],
            "celery": "broker set, no worker: rescoring tasks wait in Redis and cost no CPU",
            "validation": "leads.inputs.parse_event on every item; Idempotency-Key on every request",
            "copy_floor": "best of the COPY runs of the same rows into the emptied event table, "
            "one COPY and one commit each, with the table's indexes and foreign key",
        },
    }


# --- Data ---------------------------------------------------------------------------------


def create_api_key() -> str:
    from django.contrib.auth.models import Group, User

    from integrations.services import api_key_create
    from leadflow.roles import MARKETING

    user = User.objects.create(username="bench-ingest")
    user.groups.add(Group.objects.get_or_create(name=MARKETING)[0])
    created = api_key_create(
        name="Ingest benchmark",
        user=user,
        scopes=["events:write"],
        # High enough that the benchmark measures ingest, not the throttle.
        rate_limit="1000000/min",
    )
    return created.key


def lead_emails() -> tuple[list[str], list[str]]:
    known = [_email(number, "plant") for number in range(KNOWN_LEADS)]
    unknown = [_email(number, "newplant") for number in range(UNKNOWN_LEADS)]
    return known, unknown


def _email(number: int, domain_prefix: str) -> str:
    if number % round(1 / FREE_MAIL_SHARE) == 0:
        return f"person{number}.{domain_prefix}@gmail.com"
    return f"person{number}@{domain_prefix}-{number % ACCOUNTS}.example"


def seed_leads(url: str) -> None:
    """COPY the accounts and the known leads; their scores are fresh, as after a rescore."""
    now = datetime.now(UTC)
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy(
            "COPY leads_account (name, domain, segment, facility_type, country, region, city, "
            "processes, technologies, custom_attributes, engagement_score, engaged_contacts, "
            "created_at, updated_at) FROM STDIN"
        ) as copy:
            for number in range(ACCOUNTS):
                copy.write_row(
                    (
                        f"Plant {number}",
                        f"plant-{number}.example",
                        "automotive",
                        "plant",
                        "Germany",
                        "europe",
                        "",
                        "[]",
                        "[]",
                        "{}",
                        0,
                        0,
                        now,
                        now,
                    )
                )
        cursor.execute("SELECT domain, id FROM leads_account")
        accounts = dict(cursor.fetchall())
        with cursor.copy(
            "COPY leads_lead (email, source_system, first_name, last_name, job_title, "
            "job_function, seniority, phone, company_name, account_id, country, region, city, "
            "first_touch_source, first_touch_medium, first_touch_campaign, last_touch_source, "
            "last_touch_medium, last_touch_campaign, interests, email_opt_out, call_opt_out, "
            "marketing_notes, custom_attributes, status, fit_score, engagement_score, "
            "score_breakdown, score_stale, created_at, updated_at) FROM STDIN"
        ) as copy:
            for number, email in enumerate(lead_emails()[0]):
                domain = email.rsplit("@", 1)[1]
                copy.write_row(
                    (
                        email,
                        "",
                        "Dana",
                        f"Keller{number}",
                        "Manufacturing Engineer",
                        "engineering",
                        "individual",
                        "",
                        "",
                        accounts.get(domain),
                        "Germany",
                        "europe",
                        "",
                        "google",
                        "cpc",
                        "",
                        "",
                        "",
                        "",
                        "[]",
                        False,
                        False,
                        "",
                        "{}",
                        "new",
                        40,
                        10.0,
                        "{}",
                        False,
                        now,
                        now,
                    )
                )
        cursor.execute("ANALYZE")


def build_body(
    rng: random.Random,
    now: datetime,
    known: list[str],
    unknown: list[str],
    *,
    prefix: str,
    size: int,
) -> bytes:
    kinds = list(KIND_WEIGHTS)
    weights = list(KIND_WEIGHTS.values())
    events = []
    for number in range(size):
        if unknown and rng.random() < UNKNOWN_SHARE:
            email = rng.choice(unknown)
        else:
            email = rng.choice(known)
        kind = rng.choices(kinds, weights)[0]
        utm_source, utm_medium = rng.choice(UTM)
        occurred_at = now - timedelta(seconds=rng.randrange(90 * 86400))
        event = {
            "external_id": f"{prefix}-{number:04d}-{rng.getrandbits(64):016x}",
            "kind": kind,
            "email": email,
            "occurred_at": occurred_at.isoformat().replace("+00:00", "Z"),
            "url": f"https://www.leadflow-demo.example{rng.choice(PAGES)}"
            f"?utm_source={utm_source}&utm_medium={utm_medium}",
            "campaign": rng.choice(CAMPAIGNS),
            "source": rng.choice(SOURCES),
            "properties": {
                "session_id": f"{rng.getrandbits(64):016x}",
                "utm_source": utm_source,
                "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
            },
        }
        if kind.endswith("_download"):
            event["asset"] = rng.choice(ASSETS)
        events.append(event)
    return orjson.dumps(events)


def reset_tables(url: str) -> None:
    """Empty the tables the warm-up wrote to, and make the leads' scores fresh again."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("TRUNCATE leads_engagementevent, integrations_idempotencyrecord")
        connection.execute("UPDATE leads_lead SET score_stale = false WHERE score_stale")
        connection.execute("VACUUM ANALYZE leads_lead")


# --- HTTP clients -------------------------------------------------------------------------


def _post(port: int, api_key: str, body: bytes, timeout: float = 120) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            "POST",
            EVENTS_PATH,
            body=body,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {api_key}",
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
        response = connection.getresponse()
        content = response.read()
    finally:
        connection.close()
    return response.status, content, time.perf_counter() - started


def post_batches(port: int, api_key: str, bodies: list[bytes], *, clients: int) -> PostStats:
    """Post every body from `clients` threads; each thread takes the next body when done."""
    work: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    for body in bodies:
        work.put(body)
    stats = PostStats()

    def client() -> None:
        while True:
            try:
                body = work.get_nowait()
            except queue.Empty:
                return
            status, content, seconds = _post(port, api_key, body)
            with stats.lock:
                stats.latencies.append(seconds)
                if status != 200:
                    stats.failures.append(f"{status}: {content[:300]!r}")
                    continue
                stats.created += orjson.loads(content)["counts"]["created"]
                stats.sample_body = stats.sample_body or content

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stats


def post_singles(
    port: int, api_key: str, known: list[str], *, seconds: float, clients: int
) -> dict[str, object]:
    """Post one event per request from `clients` threads, each waiting for its response."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    now = datetime.now(UTC)

    def client(number: int) -> None:
        rng = random.Random(number)
        sequence = 0
        while time.perf_counter() < deadline:
            sequence += 1
            body = orjson.dumps(
                {
                    "external_id": f"single-{number}-{sequence}",
                    "kind": "page_view",
                    "email": rng.choice(known),
                    "occurred_at": (now - timedelta(minutes=rng.randrange(600))).isoformat(),
                    "url": f"https://www.leadflow-demo.example{rng.choice(PAGES)}",
                }
            )
            status, content, elapsed = _post(port, api_key, body)
            with lock:
                latencies.append(elapsed)
                if status != 201:
                    failures.append(f"{status}: {content[:300]!r}")

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} single posts failed: {failures[:3]}")
    return {"latencies": latencies, "requests": len(latencies), "seconds": elapsed}


# --- COPY floor ---------------------------------------------------------------------------


def copy_floor(url: str, runs: int = 2) -> list[tuple[float, float]]:
    """Time COPY of the stored rows back into the emptied table, `runs` times.

    Returns rows per second and the CPU seconds of the database backend for each run.
    """
    buffer = io.BytesIO()
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy(
            f"COPY (SELECT {EVENT_COLUMNS} FROM leads_engagementevent ORDER BY id) TO STDOUT"
        ) as copy:
            for chunk in copy:
                buffer.write(chunk)
        rows = cursor.execute("SELECT count(*) FROM leads_engagementevent").fetchone()[0]  # type: ignore[index]
    data = buffer.getvalue()

    rates = []
    for _ in range(runs):
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("TRUNCATE leads_engagementevent")
            connection.execute("CHECKPOINT")
        with psycopg.connect(url) as connection, connection.cursor() as cursor:
            backend = [connection.info.backend_pid]
            cpu_before = common.cpu_seconds(backend)
            started = time.perf_counter()
            with cursor.copy(f"COPY leads_engagementevent ({EVENT_COLUMNS}) FROM STDIN") as copy:
                view = memoryview(data)
                for offset in range(0, len(data), 1 << 20):
                    copy.write(view[offset : offset + (1 << 20)])
            connection.commit()
            rates.append(
                (rows / (time.perf_counter() - started), common.cpu_seconds(backend) - cpu_before)
            )
    return rates


# --- Idempotency bookkeeping --------------------------------------------------------------


def time_idempotency_bookkeeping(sample_body: bytes, repeats: int = 20) -> dict[str, object]:
    """Time what IdempotencyMixin adds to one request: the lock row and the stored response."""
    from django.db import transaction

    from integrations.services import idempotency_begin, idempotency_complete
    from leadflow.api.renderers import render_json

    data = orjson.loads(sample_body)
    begin_seconds = []
    store_seconds = []
    for number in range(repeats):
        started = time.perf_counter()
        claim = idempotency_begin(
            principal="api_key:bench",
            key=f"bench-{number}",
            method="POST",
            path=EVENTS_PATH,
            request_hash=f"{number:064x}",
        )
        begun = time.perf_counter()
        with transaction.atomic():
            # The same steps as IdempotencyMixin._store_response.
            idempotency_complete(
                record=claim.record,
                response_status=200,
                response_content=render_json(data),
                response_headers={},
            )
        store_seconds.append(time.perf_counter() - begun)
        begin_seconds.append(begun - started)
    return {
        "response_bytes": len(sample_body),
        "begin_p50_ms": round(common.percentile(begin_seconds, 0.5) * 1000, 2),
        "store_p50_ms": round(common.percentile(store_seconds, 0.5) * 1000, 2),
    }


# --- Profiling and clean-up ---------------------------------------------------------------


def start_profiler(server: common.Server, folder: str, label: str) -> list[subprocess.Popen[bytes]]:
    if not folder:
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    return [
        subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--rate",
                "50",
                "--output",
                f"{folder}/{label}-{pid}.txt",
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in server.worker_pids()
    ]


def stop_profiler(profilers: list[subprocess.Popen[bytes]]) -> None:
    for profiler in profilers:
        profiler.send_signal(2)
    for profiler in profilers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            profiler.wait(timeout=30)


def _flush_broker() -> None:
    """Drop the rescoring tasks that waited in Celery's default queue of the benchmark broker."""
    import redis

    broker = os.environ.get("CELERY_BROKER_URL", common.DEFAULT_BROKER_URL)
    redis.Redis.from_url(broker).delete("celery")


if __name__ == "__main__":
    main()
