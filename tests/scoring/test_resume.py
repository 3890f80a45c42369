"""A full rescore survives a worker killed mid-run: a new worker finishes it from last_lead_id."""

import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from leadflow.celery import app as celery_app
from leads.models import Account, Lead, StatusChange
from scoring import rulesets, services
from scoring.engine import ACCOUNT_VALUE_FIELDS, lead_values, score_lead
from scoring.models import RescoreRun
from scoring.rules import compile_ruleset
from tests.factories import EngagementEventFactory, LeadFactory
from tests.scoring.conftest import (
    _test_database_url,
    start_celery_worker,
    stop_celery_worker,
)
from tests.scoring.helpers import document, engagement_rule, fit_rule

POLL_SECONDS = 60
CHUNK_SIZE = 3
LEADS = 12

RULES = document(
    fit_rules=[fit_rule("lead.job_function", "eq", "engineering", id="function", points=60)],
    engagement_rules=[
        engagement_rule("quote_request", 20, id="rfq"),
        engagement_rule("page_view", 5, id="pages", half_life_days=30),
    ],
    fit_threshold=50,
    engagement_threshold=40,
)


def _wait_for(condition, description):
    deadline = time.monotonic() + POLL_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{description} did not happen within {POLL_SECONDS} s")
        time.sleep(0.2)


def _run(run_id):
    return RescoreRun.objects.select_related("ruleset").get(pk=run_id)


def _worker_waits_for_lock(database_url):
    with psycopg.connect(database_url, autocommit=True) as probe:
        row = probe.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE leads_lead AS target%'"
        ).fetchone()
    return row[0] == 1


@pytest.mark.postgres
@pytest.mark.celery_worker
def test_killed_worker_run_is_finished_by_new_worker(transactional_db, tmp_path):
    celery_app.control.purge()
    leads = [LeadFactory() for _ in range(LEADS)]
    for number, lead in enumerate(leads):
        for _ in range(number % 3):
            EngagementEventFactory(
                lead=lead, kind="quote_request", occurred_at=timezone.now() - timedelta(days=3)
            )
        EngagementEventFactory(lead=lead, kind="page_view")
    first = rulesets.ruleset_import(document=RULES, actor=None)
    services.ruleset_publish(ruleset_id=first.pk)
    first_run = RescoreRun.objects.get()
    services.rescore_all(run_id=first_run.pk)
    celery_app.control.purge()

    database_url = _test_database_url()
    # Holding the row of the 7th lead stops the worker inside its third chunk.
    blocked = leads[6]
    locker = psycopg.connect(database_url, autocommit=False)
    worker = start_celery_worker(
        tmp_path / "first-worker.log", LEADFLOW_RESCORE_CHUNK_SIZE=str(CHUNK_SIZE)
    )
    try:
        locker.execute("SELECT id FROM leads_lead WHERE id = %s FOR UPDATE", [blocked.pk])
        second = rulesets.ruleset_import(document={**RULES, "engagement_threshold": 20}, actor=None)
        run_id = services.ruleset_publish(ruleset_id=second.pk).pk
        _wait_for(lambda: _worker_waits_for_lock(database_url), "the worker blocking in chunk 3")

        worker.kill()
        worker.wait(timeout=10)
        locker.rollback()
    finally:
        locker.close()
        stop_celery_worker(worker)

    interrupted = _run(run_id)
    assert interrupted.status == RescoreRun.Status.RUNNING
    assert interrupted.last_lead_id == leads[5].pk
    assert interrupted.done_leads == 6

    replacement = start_celery_worker(
        tmp_path / "second-worker.log", LEADFLOW_RESCORE_CHUNK_SIZE=str(CHUNK_SIZE)
    )
    try:
        # The periodic sweep re-enqueues a run without progress; here it treats any run so.
        services.stale_scores_enqueue(stall_seconds=0)
        _wait_for(lambda: _run(run_id).status == RescoreRun.Status.DONE, "the resumed run")
    finally:
        stop_celery_worker(replacement)

    finished = _run(run_id)
    assert finished.started_at == interrupted.started_at
    assert finished.done_leads == LEADS
    assert finished.last_lead_id == leads[-1].pk
    compiled = compile_ruleset(finished.ruleset)
    for lead in Lead.objects.order_by("pk"):
        account = Account.objects.values(*ACCOUNT_VALUE_FIELDS).get(pk=lead.account_id)
        events = services.events_by_lead(compiled, [lead.pk], lead.scored_at).get(lead.pk, [])
        expected = score_lead(
            compiled, lead=lead_values(lead), account=account, events=events, now=lead.scored_at
        )
        assert lead.ruleset_version == second.version
        assert (lead.fit_score, lead.engagement_score) == (
            expected.fit_score,
            expected.engagement_score,
        )
        assert lead.score_breakdown == expected.breakdown
    changes = StatusChange.objects.filter(ruleset_version=second.version).count()
    assert changes == finished.entered_mql
    assert connection.vendor == "postgresql"
