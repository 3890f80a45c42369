"""Full rescores on PostgreSQL: the staging table of event aggregates, its resume and new events."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from leadflow.celery import app as celery_app
from leads.models import Account, Lead
from leads.services import events_ingest
from scoring import services
from scoring.engine import ACCOUNT_VALUE_FIELDS, lead_values, score_lead
from scoring.models import RescoreRun
from scoring.rules import compile_ruleset
from scoring.sql import staging_table_name
from tests.factories import EngagementEventFactory, LeadFactory
from tests.scoring.helpers import document, engagement_rule, fit_rule, publish

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DOC = document(
    fit_rules=[fit_rule("lead.job_function", "eq", "engineering", id="function", points=60)],
    engagement_rules=[
        engagement_rule("quote_request", 20, id="rfq"),
        engagement_rule("page_view", 5, id="pages", half_life_days=30, cap=15),
    ],
    fast_track_kinds=["quote_request"],
    fit_threshold=50,
    engagement_threshold=40,
)
LEADS = 6
CHUNK_SIZE = 2


@pytest.fixture
def leads():
    """Leads with a few events each, scored once with a first rule set, so none is stale."""
    created = [LeadFactory() for _ in range(LEADS)]
    for number, lead in enumerate(created):
        for age_days in range(number):
            EngagementEventFactory(
                lead=lead, kind="page_view", occurred_at=timezone.now() - timedelta(days=age_days)
            )
    publish(document(engagement_rules=[engagement_rule("page_view", 1, id="pages")]))
    services.leads_rescore(lead_ids=[lead.pk for lead in created])
    assert not Lead.objects.filter(score_stale=True).exists()
    return created


def _table_exists(run_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [staging_table_name(run_id)])
        return cursor.fetchone()[0]


def _start_run():
    """Publish DOC and run its rescore up to the first chunk; return the unfinished run."""
    ruleset = publish(DOC)
    run = RescoreRun.objects.get(ruleset=ruleset)
    run = services.rescore_all(run_id=run.pk, chunk_size=CHUNK_SIZE, time_budget_seconds=0)
    assert run.status == RescoreRun.Status.RUNNING
    assert run.done_leads == CHUNK_SIZE
    return run


def _expected(compiled, lead):
    account = Account.objects.values(*ACCOUNT_VALUE_FIELDS).get(pk=lead.account_id)
    events = services.events_by_lead(compiled, [lead.pk], lead.scored_at).get(lead.pk, [])
    return score_lead(
        compiled, lead=lead_values(lead), account=account, events=events, now=lead.scored_at
    )


def _assert_scored_like_python(run):
    compiled = compile_ruleset(run.ruleset)
    for lead in Lead.objects.order_by("pk"):
        expected = _expected(compiled, lead)
        assert lead.ruleset_version == run.ruleset.version
        assert lead.score_stale is False
        assert (lead.fit_score, lead.engagement_score) == (
            expected.fit_score,
            expected.engagement_score,
        )
        assert lead.score_breakdown == expected.breakdown


def test_staged_rescore_uses_one_as_of(leads):
    run = RescoreRun.objects.get(ruleset=publish(DOC))

    run = services.rescore_all(run_id=run.pk, chunk_size=CHUNK_SIZE)

    assert run.status == RescoreRun.Status.DONE
    assert run.as_of is not None
    assert set(Lead.objects.values_list("scored_at", flat=True)) == {run.as_of}
    _assert_scored_like_python(run)
    assert not _table_exists(run.pk)


def test_resumed_run_reuses_staging_table_and_as_of(leads):
    run = _start_run()
    assert _table_exists(run.pk)
    as_of = run.as_of

    run = services.rescore_all(run_id=run.pk, chunk_size=CHUNK_SIZE)

    assert run.status == RescoreRun.Status.DONE
    assert run.as_of == as_of
    assert (run.done_leads, run.total_leads) == (LEADS, LEADS)
    assert set(Lead.objects.values_list("scored_at", flat=True)) == {as_of}
    _assert_scored_like_python(run)
    assert not _table_exists(run.pk)


@pytest.mark.parametrize(
    "loss",
    [
        # PostgreSQL empties an UNLOGGED table when it recovers from a crash.
        "TRUNCATE {table}",
        "DROP TABLE {table}",
    ],
)
def test_resumed_run_rebuilds_lost_staging_table(leads, loss):
    run = _start_run()
    with connection.cursor() as cursor:
        cursor.execute(loss.format(table=staging_table_name(run.pk)))

    run = services.rescore_all(run_id=run.pk, chunk_size=CHUNK_SIZE)

    assert run.status == RescoreRun.Status.DONE
    assert set(Lead.objects.values_list("scored_at", flat=True)) == {run.as_of}
    _assert_scored_like_python(run)
    assert Lead.objects.get(pk=leads[-1].pk).engagement_score == 15.0


def _ingest_quote_request(lead, external_id):
    events_ingest(
        items=[
            {
                "lead_id": lead.pk,
                "kind": "quote_request",
                "occurred_at": timezone.now().isoformat(),
                "external_id": external_id,
            }
        ]
    )
    return lead.events.get(external_id=external_id).pk


def test_mid_run_event_without_broker_scored(
    leads, django_capture_on_commit_callbacks, monkeypatch
):
    run = _start_run()
    lead = leads[-1]

    def broker_down(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(celery_app.tasks["scoring.rescore_leads"], "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        event_id = _ingest_quote_request(lead, "rfq-mid-run")
    assert Lead.objects.get(pk=lead.pk).score_stale is True

    run = services.rescore_all(run_id=run.pk, chunk_size=CHUNK_SIZE)

    lead.refresh_from_db()
    assert run.status == RescoreRun.Status.DONE
    assert lead.score_stale is False
    assert lead.scored_at > run.as_of
    rfq = next(item for item in lead.score_breakdown["engagement"] if item["rule"] == "rfq")
    assert rfq["event_ids"] == [event_id]
    _assert_scored_like_python(run)


def test_mid_run_incremental_score_kept(leads, django_capture_on_commit_callbacks):
    run = _start_run()
    lead = leads[-1]
    with django_capture_on_commit_callbacks(execute=True):
        event_id = _ingest_quote_request(lead, "rfq-mid-run")
    lead.refresh_from_db()
    incremental_scored_at = lead.scored_at
    assert lead.score_stale is False
    assert incremental_scored_at > run.as_of

    run = services.rescore_all(run_id=run.pk, chunk_size=CHUNK_SIZE)

    lead.refresh_from_db()
    assert run.status == RescoreRun.Status.DONE
    assert lead.scored_at == incremental_scored_at
    rfq = next(item for item in lead.score_breakdown["engagement"] if item["rule"] == "rfq")
    assert rfq["event_ids"] == [event_id]
    _assert_scored_like_python(run)


def test_superseded_run_drops_its_staging_table(leads):
    run = _start_run()
    assert _table_exists(run.pk)
    publish(DOC)

    run = services.rescore_all(run_id=run.pk)

    assert run.status == RescoreRun.Status.FAILED
    assert not _table_exists(run.pk)


def test_failed_run_drops_its_staging_table(leads, monkeypatch):
    run = _start_run()

    def broken_chunk(*args, **kwargs):
        raise ValueError("rule 3 cannot be evaluated")

    monkeypatch.setattr(services, "_rescore_chunk", broken_chunk)
    with pytest.raises(ValueError, match="rule 3 cannot be evaluated"):
        services.rescore_all(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == RescoreRun.Status.FAILED
    assert not _table_exists(run.pk)


def _backends():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_split_chunks_score_and_close_connection(leads, monkeypatch):
    # Each chunk of 4 leads is written as two halves of 2, the last of 2 as two of 1.
    monkeypatch.setattr(services, "RESCORE_SPLIT_MIN_LEADS", 2)
    # Without a test transaction the publish's commit would run the rescore task at once.
    monkeypatch.setattr(services, "_enqueue_rescore_all", lambda run_id: None)
    run = RescoreRun.objects.get(ruleset=publish(DOC))
    backends = _backends()
    seen = []

    run = services.rescore_all(
        run_id=run.pk, chunk_size=4, progress=lambda run: seen.append(run.done_leads)
    )

    assert run.status == RescoreRun.Status.DONE
    assert seen == [4, 6]
    assert set(Lead.objects.values_list("scored_at", flat=True)) == {run.as_of}
    _assert_scored_like_python(run)
    assert _backends() == backends


def test_chunks_in_open_transaction_stay_on_one_connection(leads, monkeypatch):
    # A second connection would not see this test transaction's staging table and leads.
    monkeypatch.setattr(services, "RESCORE_SPLIT_MIN_LEADS", 2)
    run = RescoreRun.objects.get(ruleset=publish(DOC))
    backends = _backends()

    run = services.rescore_all(run_id=run.pk, chunk_size=4)

    assert run.status == RescoreRun.Status.DONE
    assert set(Lead.objects.values_list("scored_at", flat=True)) == {run.as_of}
    _assert_scored_like_python(run)
    assert _backends() == backends
