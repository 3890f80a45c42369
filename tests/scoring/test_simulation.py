"""Simulation of a draft: counts, histograms, movers, the what-if against history, no writes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from integrations.models import WebhookDelivery
from leads.models import Lead, LeadStatus, StatusChange
from scoring import services, simulation
from scoring.models import RuleSet, Simulation
from scoring.rules import compile_ruleset
from scoring.sql import build_simulation_statement
from tests.factories import (
    EngagementEventFactory,
    LeadFactory,
    UserFactory,
    WebhookEndpointFactory,
)
from tests.scoring.helpers import document, engagement_rule, fit_rule, publish

pytestmark = pytest.mark.django_db

# The factory's lead (automotive account, engineering) has fit 60 under both rule sets.
FIT_RULES = [
    fit_rule("account.segment", "eq", "automotive", id="segment", points=30),
    fit_rule("lead.job_function", "eq", "engineering", id="function", points=30),
]
PUBLISHED = document(
    fit_rules=FIT_RULES,
    engagement_rules=[
        engagement_rule("page_view", 10, id="pages", cap=50),
        engagement_rule("quote_request", 20, id="rfq"),
    ],
    fit_threshold=50,
    engagement_threshold=40,
)
# Page views are worth 15 instead of 10: three page views now reach the threshold of 40.
DRAFT = {
    **PUBLISHED,
    "name": "Draft rules",
    "engagement_rules": [
        engagement_rule("page_view", 15, id="pages", cap=50),
        engagement_rule("quote_request", 20, id="rfq"),
    ],
    "engagement_threshold": 45,
}


def _events(lead, kind, count, age_days=1):
    for _ in range(count):
        EngagementEventFactory(
            lead=lead, kind=kind, occurred_at=timezone.now() - timedelta(days=age_days)
        )


@pytest.fixture
def published():
    ruleset = publish(PUBLISHED)
    # Later publishes would archive this one; the fixture's version stays the baseline.
    return ruleset


@pytest.fixture
def draft(published):
    return services.ruleset_load(document=DRAFT)


@pytest.fixture
def leads(published):
    """Four scored leads: one would enter MQL, one MQL would no longer pass, two stay as they are."""
    enters = LeadFactory(last_name="Enters")
    _events(enters, "page_view", 3)  # 30 now; 45 under the draft, which passes 45
    stays_mql = LeadFactory(last_name="Stays")
    _events(stays_mql, "page_view", 4)  # 40 now: MQL; 60 capped to 50 under the draft
    quiet = LeadFactory(last_name="Quiet")
    _events(quiet, "page_view", 1)  # 10 now, 15 under the draft
    leaves = LeadFactory(last_name="Leaves")
    _events(leaves, "quote_request", 2)  # 40 now: MQL; 40 under the draft, below 45

    services.leads_rescore(lead_ids=[enters.pk, stays_mql.pk, quiet.pk, leaves.pk])
    for lead in (enters, stays_mql, quiet, leaves):
        lead.refresh_from_db()
    return {"enters": enters, "stays_mql": stays_mql, "quiet": quiet, "leaves": leaves}


def _lead_rows():
    return list(
        Lead.objects.order_by("pk").values(
            "pk",
            "status",
            "status_changed_at",
            "fit_score",
            "engagement_score",
            "score_breakdown",
            "ruleset_version",
            "scored_at",
            "score_stale",
            "updated_at",
        )
    )


def test_simulation_counts_leads_entering_and_leaving(draft, leads):
    assert leads["stays_mql"].status == LeadStatus.MQL
    assert leads["leaves"].status == LeadStatus.MQL

    result = simulation.simulation_start(version=draft.version).result

    assert result["leads"] == 4
    assert result["enter"] == 1
    assert result["leave"] == 1
    assert [(mover["lead_id"], mover["direction"]) for mover in result["movers"]] == [
        (leads["enters"].pk, "enter"),
        (leads["leaves"].pk, "leave"),
    ]


def test_simulation_changes_no_lead_and_enqueues_nothing(
    draft, leads, django_capture_on_commit_callbacks, monkeypatch
):
    WebhookEndpointFactory(event_types=["lead.status_changed", "lead.mql"])
    sent = []
    monkeypatch.setattr(
        "celery.app.task.Task.apply_async", lambda task, *args, **kwargs: sent.append(task.name)
    )
    before = _lead_rows()
    changes_before = StatusChange.objects.count()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        done = simulation.simulation_start(version=draft.version)

    assert done.status == Simulation.Status.DONE
    assert done.result["enter"] == 1
    assert _lead_rows() == before
    assert StatusChange.objects.count() == changes_before
    assert WebhookDelivery.objects.count() == 0
    assert callbacks == []
    assert sent == []


def test_simulation_histograms_compare_stored_and_draft_scores(draft, leads):
    result = simulation.simulation_start(version=draft.version).result

    histograms = result["histograms"]
    assert result["bucket_labels"][0] == "< 0"
    assert result["bucket_labels"][-1] == "≥ 100"
    # Fit is 60 for all four leads under both rule sets.
    assert histograms["fit_before"] == [0] * 7 + [4] + [0] * 4
    assert histograms["fit_after"] == histograms["fit_before"]
    # Engagement now: 30, 40, 10, 40; under the draft: 45, 50, 15, 40.
    assert histograms["engagement_before"] == [0, 0, 1, 0, 1, 2, 0, 0, 0, 0, 0, 0]
    assert histograms["engagement_after"] == [0, 0, 1, 0, 0, 2, 1, 0, 0, 0, 0, 0]


def test_simulation_lists_rules_that_moved_each_lead(draft, leads):
    result = simulation.simulation_start(version=draft.version).result

    entering = result["movers"][0]
    assert entering["engagement_before"] == 30.0
    assert entering["engagement_after"] == 45.0
    assert entering["rules"] == [
        {"rule": "pages", "label": "pages", "section": "engagement", "before": 30.0, "after": 45.0}
    ]
    assert result["thresholds"] == {
        "fit": 50,
        "engagement": 45.0,
        "baseline_fit": 50,
        "baseline_engagement": 40.0,
    }


def test_simulation_what_if_counts_past_sales_decisions(draft, published):
    rep = UserFactory(username="rep-history")
    accepted = LeadFactory(status=LeadStatus.MQL)
    _events(accepted, "page_view", 3, age_days=30)
    rejected = LeadFactory(status=LeadStatus.MQL)
    _events(rejected, "page_view", 1, age_days=30)
    _events(rejected, "page_view", 5, age_days=5)  # after the decision: not replayed
    decided_at = timezone.now() - timedelta(days=10)
    StatusChange.objects.create(lead=accepted, from_status="new", to_status="mql")
    StatusChange.objects.create(lead=rejected, from_status="new", to_status="mql")
    StatusChange.objects.filter(to_status="mql").update(created_at=decided_at - timedelta(days=1))
    StatusChange.objects.create(lead=accepted, from_status="mql", to_status="sql", actor=rep)
    StatusChange.objects.create(
        lead=rejected, from_status="mql", to_status="nurture", rule="handoff.reject"
    )
    StatusChange.objects.filter(to_status__in=["sql", "nurture"]).update(created_at=decided_at)

    history = simulation.simulation_start(version=draft.version).result["history"]

    # As of its MQL moment the accepted lead had 3 page views: 30 under v1, 45 under the draft.
    assert history["accepted"] == {"total": 1, "draft": 1, "baseline": 0}
    assert history["rejected"] == {"total": 1, "draft": 0, "baseline": 0}
    assert history["has_baseline"] is True


def test_simulation_of_many_leads_runs_in_task(draft, leads, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queued = simulation.simulation_start(version=draft.version, inline_max_leads=3)

    assert queued.status == Simulation.Status.QUEUED
    queued.refresh_from_db()
    assert queued.status == Simulation.Status.DONE
    assert queued.done_leads == 4
    assert queued.total_leads == 4
    assert queued.result["enter"] == 1


def test_simulation_run_twice_runs_once(draft, leads):
    done = simulation.simulation_start(version=draft.version)
    finished_at = done.finished_at

    again = simulation.simulation_run(simulation_id=done.pk)

    assert again.status == Simulation.Status.DONE
    assert again.finished_at == finished_at


def test_simulation_records_draft_revision_and_baseline(draft, published, leads):
    done = simulation.simulation_start(version=draft.version, actor=UserFactory(username="ops"))

    assert done.ruleset_revision == draft.revision
    assert done.baseline_version == published.version
    assert done.requested_by.username == "ops"


def test_sweep_fails_stalled_simulation(draft, leads):
    stalled = Simulation.objects.create(ruleset=draft, ruleset_revision=1, total_leads=4)
    Simulation.objects.filter(pk=stalled.pk).update(
        status=Simulation.Status.RUNNING,
        updated_at=timezone.now() - timedelta(seconds=services.RESCORE_RUN_STALL_SECONDS + 1),
    )

    services.stale_scores_enqueue()

    stalled.refresh_from_db()
    assert stalled.status == Simulation.Status.FAILED
    assert stalled.error.startswith("The simulation stopped making progress")


@pytest.mark.parametrize(
    ("score", "bucket"), [(-5, 0), (0, 1), (9.99, 1), (10, 2), (99.5, 10), (100, 11), (250, 11)]
)
def test_histogram_bucket(score, bucket):
    assert simulation.histogram_bucket(score) == bucket


@pytest.mark.postgres
def test_simulation_sql_matches_python_scorer(draft, leads):
    compiled = compile_ruleset(RuleSet.objects.get(pk=draft.pk))
    ids = sorted(Lead.objects.values_list("pk", flat=True))
    now = timezone.now()
    statement = build_simulation_statement(compiled, sample_size=simulation.MOVERS_SAMPLE_SIZE)
    sql_tally = simulation._Tally()
    python_tally = simulation._Tally()

    with simulation._read_only():
        rows = statement.execute(first_id=ids[0], last_id=ids[-1], now=now)
        simulation._tally_sql_rows(sql_tally, rows)
        simulation._tally_python_chunk(python_tally, compiled, ids[0], ids[-1], now)

    assert connection.vendor == "postgresql"
    assert sql_tally == python_tally
