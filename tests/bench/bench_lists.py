"""Benchmark of the lead lists with a million leads: the MQL queue page and the API lead list.

Run with `make bench`, or alone:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m tests.bench.bench_lists

It creates the database lf_bench_lists and fills it by COPY with accounts and 1,000,000
leads, with statuses in realistic shares, scores and score breakdowns. Then it times
requests inside Django with its test client, in this process: the time from the request
entering Django to the rendered response, without network or a server. Each
case is repeated and its 95th percentile reported. The result goes to
docs/benchmarks/lists.json. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg

from tests.bench import common

DATABASE = "lf_bench_lists"
ACCOUNTS = 20_000
SEGMENTS = (
    "automotive",
    "aerospace",
    "food_and_beverage",
    "medical_devices",
    "electronics",
    "chemicals",
    "machinery",
    "packaging",
    "energy",
    "plastics",
)
REGIONS = (
    "europe",
    "north_america",
    "asia_pacific",
    "latin_america",
    "middle_east",
    "africa",
    "dach",
    "nordics",
)
SOURCES = ("google", "linkedin", "newsletter", "trade_show", "direct", "partner", "webinar")
# Share of leads per status; MQL is 8 %, so 80,000 of a million leads wait in the queue.
STATUS_WEIGHTS = {
    "new": 70,
    "mql": 8,
    "sql": 4,
    "won": 1,
    "lost": 2,
    "nurture": 12,
    "disqualified": 3,
}
FIT_RULES = (
    ("core-segment", "Core industry segment", "firmographic", 20),
    ("plant-size", "Plant with 500+ employees", "firmographic", 15),
    ("engineering", "Engineering function", "persona", 15),
    ("decision-maker", "Director or above", "persona", 10),
    ("free-mail", "Free-mail address", "data_quality", -10),
    ("student", "Student", "persona", -25),
)
ENGAGEMENT_RULES = (
    ("rfq", "Quote or RFQ request", "intent", 40.0),
    ("pricing-page", "Pricing page view", "web", 12.5),
    ("cad-download", "CAD download", "content", 15.0),
    ("webinar", "Webinar attended", "content", 10.0),
    ("email-click", "Email click", "email", 2.5),
)
REPEATS = 30
# The API list's default page size; the deep cases follow this many rows per `next` link.
API_PAGE_SIZE = 50
WARM_UP = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000, help="Leads to generate.")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="Timed requests per case.")
    parser.add_argument(
        "--no-write", dest="write", action="store_false", help="Print only; keep the JSON file."
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Keep the database at the end, and reuse one a --reuse run kept, to study plans.",
    )
    arguments = parser.parse_args()

    url = common.database_url(DATABASE)
    generate_seconds = None
    try:
        if not (arguments.reuse and common.database_exists(DATABASE)):
            url = common.create_database(DATABASE)
            print(f"Generating {arguments.leads:,} leads…")
            started = time.perf_counter()
            generate(url, arguments.leads)
            generate_seconds = round(time.perf_counter() - started, 1)
        with psycopg.connect(url) as connection:
            machine = common.machine_facts(connection)
        common.setup_django(url)
        cases = measure(arguments.repeats, arguments.leads)
    finally:
        if not arguments.reuse:
            common.drop_database(DATABASE)

    queue_first = [case for case in cases if case["group"] == "queue_first"]
    deep_pages = [case for case in cases if case["group"] in ("queue_deep", "api_deep")]
    api_first = [case for case in cases if case["group"] == "api_first"]
    result = {
        "machine": machine,
        "date": common.today(),
        "queue_p95_ms": max(case["p95_ms"] for case in queue_first),
        "api_list_p95_ms": max(case["p95_ms"] for case in api_first),
        "deep_page_p95_ms": max(case["p95_ms"] for case in deep_pages),
        "details": {
            "leads": arguments.leads,
            "accounts": ACCOUNTS,
            "status_share_percent": STATUS_WEIGHTS,
            "generate_seconds": generate_seconds,
            "repeats_per_case": arguments.repeats,
            "server_time": "wall time of django.test.Client.get in this process: middleware, "
            "view, queries and template or JSON rendering, without network or server",
            "queue_p95_ms": "largest p95 of the queue's first pages, with and without filters",
            "deep_page_p95_ms": "largest p95 of the deep pages of the queue (keyset) and of the "
            "API list (cursor), with and without filters",
            "api_list_p95_ms": "largest p95 of the API list's first pages, with and without "
            "filters",
            "cases": cases,
        },
    }
    if arguments.write:
        path = common.write_result("lists.json", result)
        print(f"Wrote {path}")
    print(json.dumps(result, indent=2))


# --- Data ---------------------------------------------------------------------------------


def generate(url: str, lead_count: int) -> None:
    """COPY the accounts and leads with the lead table's indexes dropped, then rebuild them."""
    rng = random.Random(20260302)
    now = datetime.now(UTC)
    breakdowns = [_breakdown(rng, now) for _ in range(500)]
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())

    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        index_definitions = [
            definition
            for (definition,) in cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'leads_lead' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            ).fetchall()
        ]
        for definition in index_definitions:
            name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
            cursor.execute(f"DROP INDEX {name}")

        with cursor.copy(
            "COPY leads_account (name, domain, segment, facility_type, country, region, city, "
            "employee_count, processes, technologies, custom_attributes, engagement_score, "
            "engaged_contacts, created_at, updated_at) FROM STDIN"
        ) as copy:
            for number in range(ACCOUNTS):
                copy.write_row(
                    (
                        f"Plant {number}",
                        f"plant-{number}.example",
                        rng.choice(SEGMENTS),
                        "plant",
                        "Germany",
                        rng.choice(REGIONS),
                        "",
                        rng.randrange(50, 5000),
                        '["cnc_machining"]',
                        '["erp"]',
                        "{}",
                        0,
                        0,
                        now,
                        now,
                    )
                )
        account_ids = [row[0] for row in cursor.execute("SELECT id FROM leads_account").fetchall()]

        with cursor.copy(
            "COPY leads_lead (email, source_system, first_name, last_name, job_title, "
            "job_function, seniority, phone, company_name, account_id, country, region, city, "
            "first_touch_source, first_touch_medium, first_touch_campaign, last_touch_source, "
            "last_touch_medium, last_touch_campaign, interests, email_opt_out, call_opt_out, "
            "marketing_notes, custom_attributes, status, status_changed_at, fit_score, "
            "engagement_score, ruleset_version, score_breakdown, scored_at, score_stale, "
            "created_at, updated_at) FROM STDIN"
        ) as copy:
            for number in range(lead_count):
                status = rng.choices(statuses, weights)[0]
                created_at = now - timedelta(seconds=rng.randrange(730 * 86400))
                changed_at = (
                    None if status == "new" else created_at + (now - created_at) * rng.random()
                )
                account_id = rng.choice(account_ids) if rng.random() < 0.85 else None
                copy.write_row(
                    (
                        f"lead{number}@plant-{number % ACCOUNTS}.example",
                        "",
                        "Dana",
                        f"Keller{number}",
                        "Manufacturing Engineer",
                        "engineering",
                        "individual",
                        "",
                        "",
                        account_id,
                        "Germany",
                        rng.choice(REGIONS),
                        "",
                        rng.choice(SOURCES),
                        "cpc",
                        "",
                        "",
                        "",
                        "",
                        '["spindles"]',
                        False,
                        False,
                        "",
                        "{}",
                        status,
                        changed_at,
                        rng.randrange(-10, 101),
                        round(rng.random() * 100, 2),
                        3,
                        rng.choice(breakdowns),
                        now,
                        False,
                        created_at,
                        created_at,
                    )
                )
        connection.commit()

        print("Rebuilding the lead indexes…")
        for definition in index_definitions:
            cursor.execute(definition)
        connection.commit()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        # Write the load out now rather than during the measurements.
        connection.execute("CHECKPOINT")


def _breakdown(rng: random.Random, now: datetime) -> str:
    fit = [
        {"rule": rule, "label": label, "group": group, "points": points}
        for rule, label, group, points in rng.sample(FIT_RULES, 3)
    ]
    engagement = []
    for rule, label, group, points in rng.sample(ENGAGEMENT_RULES, 2):
        events = rng.randrange(1, 6)
        engagement.append(
            {
                "rule": rule,
                "label": label,
                "group": group,
                "points": points,
                "raw_points": points * events,
                "capped": events > 1,
                "events": events,
                "event_ids": [rng.randrange(1, 10**7) for _ in range(min(events, 10))],
                "last_event_at": (now - timedelta(days=rng.randrange(90))).isoformat(),
            }
        )
    return json.dumps(
        {
            "ruleset_version": 3,
            "fit_score": sum(row["points"] for row in fit),
            "engagement_score": sum(row["points"] for row in engagement),
            "fit": fit,
            "engagement": engagement,
            "caps": [],
            "fast_track": None,
        }
    )


# --- Measurements -------------------------------------------------------------------------


def measure(repeats: int, lead_count: int) -> list[dict[str, Any]]:
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from integrations.services import api_key_create
    from leadflow.roles import MARKETING
    from leads.page_filters import SORT_KEYS

    user, _ = User.objects.get_or_create(username="bench-lists")
    user.groups.add(Group.objects.get_or_create(name=MARKETING)[0])
    page_client = Client()
    page_client.force_login(user)
    key = api_key_create(name="Lists benchmark", user=user, scopes=["leads:read"]).key
    api_client = Client(headers={"Authorization": f"Bearer {key}"})

    deep = min(20_000, lead_count // 50)
    deep_filtered = min(2_000, lead_count // 500)
    cases = [
        ("queue_first", "queue, default sort", page_client, "/leads/queue/", {}),
        ("queue_first", "queue, region", page_client, "/leads/queue/", {"region": "europe"}),
        (
            "queue_first",
            "queue, segment and region, by engagement",
            page_client,
            "/leads/queue/",
            {"segment": "automotive", "region": "europe", "sort": "-engagement"},
        ),
        ("queue_first", "queue, band B", page_client, "/leads/queue/", {"band": "B"}),
        (
            "queue_first",
            "queue, oldest MQL first",
            page_client,
            "/leads/queue/",
            {"sort": "mql_since"},
        ),
        (
            "queue_deep",
            f"queue, default sort, after row {deep:,}",
            page_client,
            "/leads/queue/",
            {"after": _queue_cursor(SORT_KEYS["-fit"], {}, deep)},
        ),
        (
            "queue_deep",
            f"queue, region, by engagement, after row {deep_filtered:,}",
            page_client,
            "/leads/queue/",
            {
                "region": "europe",
                "sort": "-engagement",
                "after": _queue_cursor(
                    SORT_KEYS["-engagement"], {"region": "europe"}, deep_filtered
                ),
            },
        ),
        ("api_first", "API list, newest first", api_client, "/api/v1/leads/", {}),
        (
            "api_first",
            "API list, MQL in a region",
            api_client,
            "/api/v1/leads/",
            {"status": "mql", "region": "europe"},
        ),
        (
            "api_deep",
            f"API list, newest first, after row {deep:,}",
            api_client,
            "/api/v1/leads/",
            _api_cursor_params(api_client, {}, deep),
        ),
        (
            "api_deep",
            f"API list, MQL in a region, after row {deep_filtered:,}",
            api_client,
            "/api/v1/leads/",
            _api_cursor_params(api_client, {"status": "mql", "region": "europe"}, deep_filtered),
        ),
    ]

    # One pass over every case first, so that no case pays for reading the tables into memory.
    for _, _, client, path, params in cases:
        client.get(path, params)

    results = []
    for group, name, client, path, params in cases:
        print(f"Timing {name}…")
        seconds = []
        for number in range(WARM_UP + repeats):
            started = time.perf_counter()
            response = client.get(path, params)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{name}: status {response.status_code}")
            if number >= WARM_UP:
                seconds.append(elapsed)
        results.append(
            {
                "group": group,
                "name": name,
                "path": path,
                "params": {
                    key: value for key, value in params.items() if key not in ("after", "cursor")
                },
                "p50_ms": round(common.percentile(seconds, 0.50) * 1000, 1),
                "p95_ms": round(common.percentile(seconds, 0.95) * 1000, 1),
            }
        )
    return results


def _api_cursor_params(client: Any, filters: dict[str, str], position: int) -> dict[str, str]:
    """Follow the API list's `next` links to the page after row `position`; return its query."""
    params = {**filters, "page_size": str(API_PAGE_SIZE)}
    for _ in range(position // API_PAGE_SIZE):
        response = client.get("/api/v1/leads/", params)
        next_link = response.json()["next"]
        params = {key: values[-1] for key, values in parse_qs(urlsplit(next_link).query).items()}
    return params


def _queue_cursor(order: Any, filters: dict[str, str], position: int) -> str:
    """Make the cursor of the queue page that starts after row `position` of a sort."""
    from leads.page_selectors import queue_leads
    from leads.queue_pagination import Cursor

    ordering = [f"-{name}" if order.descending else name for name in order.fields]
    lead = queue_leads().filter(**filters).order_by(*ordering)[position - 1]
    return Cursor(order.key_of(lead), position).encode()


if __name__ == "__main__":
    main()
