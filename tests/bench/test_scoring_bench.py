"""Time one full-rescore chunk in SQL and the Python scorer on the same leads.

Run with `make bench` (PostgreSQL via DATABASE_URL). Writes docs/benchmarks/scoring.md.
"""

import os
import platform
import random
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from leads.models import Account, EngagementEvent, Lead
from scoring import services
from scoring.defaults import DEFAULT_RULESET
from scoring.rules import compile_ruleset
from scoring.selectors import ruleset_active
from scoring.sql import build_rescore_statement

# The chunk size that docs/benchmarks/scoring.md was measured with.
LEADS = 2000
EVENTS_PER_LEAD = 20
REPEATS = 3
KINDS = [
    "page_view",
    "quote_request",
    "cad_download",
    "spec_sheet_download",
    "email_click",
    "trade_show_visit",
    "webinar_attended",
    "content_download",
]


def _create_data():
    generator = random.Random(1)
    accounts = Account.objects.bulk_create(
        Account(
            name=f"Plant {number}",
            domain=f"plant-{number}.example",
            segment=generator.choice(["automotive", "aerospace", "retail"]),
            facility_type="plant",
            region="europe",
            employee_count=generator.choice([20, 400, 3000]),
            processes=["cnc_machining"],
            technologies=["erp"],
        )
        for number in range(LEADS // 4)
    )
    leads = Lead.objects.bulk_create(
        Lead(
            email=f"lead{number}@plant-{number % len(accounts)}.example",
            account=accounts[number % len(accounts)],
            job_function=generator.choice(["engineering", "student", "sales"]),
            seniority="manager",
        )
        for number in range(LEADS)
    )
    now = timezone.now()
    EngagementEvent.objects.bulk_create(
        (
            EngagementEvent(
                lead=lead,
                kind=generator.choice(KINDS),
                url=generator.choice(["https://x.example/pricing", "https://x.example/careers"]),
                occurred_at=now - timedelta(days=generator.uniform(0, 400)),
                external_id=f"bench-{lead.pk}-{number}",
            )
            for lead in leads
            for number in range(EVENTS_PER_LEAD)
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead, leads_account, leads_engagementevent")
    return [lead.pk for lead in leads]


def _best_of(function):
    timings = []
    for _ in range(REPEATS):
        with transaction.atomic():
            start = time.perf_counter()
            function()
            timings.append(time.perf_counter() - start)
    return min(timings)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rescore_chunk_sql_and_python():
    ids = _create_data()
    ruleset = ruleset_active() or services.ruleset_load(document=DEFAULT_RULESET, publish=True)
    compiled = compile_ruleset(ruleset)
    statement = build_rescore_statement(compiled)
    batch = ids[: services.RESCORE_BATCH_SIZE]

    sql_seconds = _best_of(
        lambda: statement.execute(first_id=ids[0], last_id=ids[-1], now=timezone.now())
    )
    python_chunk_seconds = _best_of(
        lambda: services._score_leads_python(compiled, ids, timezone.now())
    )
    python_batch_seconds = _best_of(
        lambda: services._score_leads_python(compiled, batch, timezone.now())
    )

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()
    report = Path(settings.BASE_DIR) / "docs" / "benchmarks" / "scoring.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(
        "# Scoring benchmark\n\n"
        "Written by `tests/bench/test_scoring_bench.py` (`make bench`). The default rule set\n"
        f"({len(compiled.fit_rules)} fit and {len(compiled.engagement_rules)} engagement rules) "
        f"scores {LEADS} leads with\n{EVENTS_PER_LEAD} events each. Each time is the best of "
        f"{REPEATS} runs.\n\n"
        "| work | seconds |\n| --- | --- |\n"
        f"| one SQL chunk, {LEADS} leads | {sql_seconds:.2f} |\n"
        f"| Python scorer, {LEADS} leads | {python_chunk_seconds:.2f} |\n"
        f"| Python scorer, one batch of {len(batch)} leads | {python_batch_seconds:.2f} |\n\n"
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"PostgreSQL {server_version}, Python {platform.python_version()}.\n",
        encoding="utf-8",
    )
    assert sql_seconds > 0
