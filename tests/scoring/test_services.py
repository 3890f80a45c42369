"""Scoring services: incremental rescoring, qualification, rule-set versions, full rescores, the sweep."""

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from leadflow.celery import app as celery_app
from leadflow.errors import ConflictError
from leads.models import Lead, LeadStatus, StatusChange
from leads.services import events_ingest
from scoring import services, tasks
from scoring.errors import InvalidRuleSet
from scoring.models import RescoreRun, RuleSet
from tests.factories import AccountFactory, EngagementEventFactory, LeadFactory, UserFactory
from tests.scoring.helpers import document, engagement_rule, fit_rule, publish

pytestmark = pytest.mark.django_db

# Fit 60 for the factory's lead (automotive account, engineering); the RFQ alone is worth 20.
QUALIFY_DOC = document(
    fit_rules=[
        fit_rule("account.segment", "eq", "automotive", id="segment", points=30),
        fit_rule("lead.job_function", "eq", "engineering", id="function", points=30),
    ],
    engagement_rules=[
        engagement_rule("quote_request", 20, id="rfq", window_days=180),
        engagement_rule("page_view", 10, id="pages", cap=30),
    ],
    fast_track_kinds=["quote_request"],
    fast_track_window_days=90,
    fit_threshold=50,
    engagement_threshold=40,
)


@pytest.fixture
def ruleset():
    return publish(QUALIFY_DOC)


def _events(lead, kind, count=1, age_days=1):
    return [
        EngagementEventFactory(
            lead=lead, kind=kind, occurred_at=timezone.now() - timedelta(days=age_days)
        )
        for _ in range(count)
    ]


# Incremental scoring.


def test_leads_rescore_writes_scores(ruleset):
    lead = LeadFactory(score_stale=True)
    _events(lead, "page_view", 2)

    result = services.leads_rescore(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert result.scored == 1
    assert lead.fit_score == 60
    assert lead.engagement_score == 20.0
    assert lead.ruleset_version == ruleset.version
    assert lead.score_stale is False
    assert lead.scored_at is not None
    assert [entry["rule"] for entry in lead.score_breakdown["fit"]] == ["segment", "function"]
    assert lead.score_breakdown["engagement"][0]["events"] == 2


def test_leads_rescore_scores_lead_without_account_or_events(ruleset):
    lead = LeadFactory(account=None, email="dana@gmail.com", score_stale=True)

    services.leads_rescore(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert lead.fit_score == 30
    assert lead.engagement_score == 0.0
    assert lead.score_breakdown["engagement"] == []
    assert lead.score_stale is False


def test_leads_rescore_reports_missing_ids(ruleset):
    lead = LeadFactory()

    result = services.leads_rescore(lead_ids=[lead.pk, 999_999])

    assert result.scored == 1
    assert result.missing == [999_999]


def test_leads_rescore_without_published_ruleset_leaves_leads_stale():
    RuleSet.objects.all().delete()
    lead = LeadFactory(score_stale=True)

    result = services.leads_rescore(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert result.scored == 0
    assert lead.score_stale is True
    assert lead.scored_at is None


def test_leads_rescore_query_count_constant(ruleset, django_assert_num_queries, is_postgres):
    def leads_with_events(count):
        leads = [LeadFactory(account=AccountFactory()) for _ in range(count)]
        for lead in leads:
            _events(lead, "page_view", 2)
        return [lead.pk for lead in leads]

    few, many = leads_with_events(2), leads_with_events(6)
    services.leads_rescore(lead_ids=few)

    # PostgreSQL: rule set, savepoint, planner options, the scoring UPDATE, MQL candidates,
    # accounts of the leads, planner options, the roll-up UPDATE, release savepoint.
    # SQLite: savepoint, rule set, lock and load the leads, accounts, events, bulk update,
    # MQL candidates, lock and update the account roll-ups, release savepoint.
    with django_assert_num_queries(9 if is_postgres else 10):
        services.leads_rescore(lead_ids=many)


def test_account_rollup_sums_engagement_of_its_leads(ruleset):
    account = AccountFactory()
    first, second, quiet = (LeadFactory(account=account) for _ in range(3))
    _events(first, "page_view", 1)
    _events(second, "page_view", 2)

    services.leads_rescore(lead_ids=[first.pk, second.pk, quiet.pk])

    account.refresh_from_db()
    assert account.engagement_score == 30.0
    assert account.engaged_contacts == 2


# Qualification.


def test_thresholds_make_new_lead_mql(ruleset):
    lead = LeadFactory()
    _events(lead, "page_view", 2)
    _events(lead, "quote_request", 1, age_days=100)

    result = services.leads_rescore(lead_ids=[lead.pk])

    lead.refresh_from_db()
    change = StatusChange.objects.get(lead=lead)
    assert result.entered_mql == 1
    assert lead.status == LeadStatus.MQL
    assert (change.from_status, change.to_status) == (LeadStatus.NEW, LeadStatus.MQL)
    assert change.rule == "scoring.thresholds"
    assert change.reason == (
        f"Fit 60 ≥ threshold 50 and engagement 40 ≥ threshold 40 (rule set v{ruleset.version})."
    )
    assert change.ruleset_version == ruleset.version
    assert change.fit_score == 60
    assert change.engagement_score == 40.0


def test_fast_track_makes_mql_below_engagement_threshold(ruleset):
    lead = LeadFactory()
    (rfq,) = _events(lead, "quote_request", 1, age_days=10)

    services.leads_rescore(lead_ids=[lead.pk])

    lead.refresh_from_db()
    change = StatusChange.objects.get(lead=lead)
    assert lead.status == LeadStatus.MQL
    assert lead.engagement_score == 20.0
    assert change.rule == "scoring.fast_track"
    assert change.reason == (
        f"Fit 60 ≥ threshold 50 and fast-track quote_request event {rfq.pk} within 90 days; "
        f"engagement 20 is below 40 (rule set v{ruleset.version})."
    )


def test_fast_track_event_outside_window_does_not_qualify(ruleset):
    lead = LeadFactory()
    _events(lead, "quote_request", 1, age_days=120)

    services.leads_rescore(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    assert lead.engagement_score == 20.0
    assert lead.score_breakdown["fast_track"] is None
    assert StatusChange.objects.count() == 0


def test_low_fit_never_qualifies(ruleset):
    lead = LeadFactory(job_function="marketing")
    _events(lead, "quote_request", 2)
    _events(lead, "page_view", 3)

    services.leads_rescore(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert lead.fit_score == 30
    assert lead.engagement_score == 70.0
    assert lead.status == LeadStatus.NEW
    assert StatusChange.objects.count() == 0


def test_nurture_lead_without_new_activity_stays_in_nurture(ruleset):
    lead = LeadFactory(
        status=LeadStatus.NURTURE, status_changed_at=timezone.now() - timedelta(days=5)
    )
    _events(lead, "page_view", 3, age_days=10)
    _events(lead, "quote_request", 1, age_days=10)

    services.leads_rescore(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert lead.engagement_score == 50.0
    assert lead.status == LeadStatus.NURTURE
    assert StatusChange.objects.count() == 0


def test_nurture_lead_with_new_activity_requalifies(ruleset):
    lead = LeadFactory(
        status=LeadStatus.NURTURE, status_changed_at=timezone.now() - timedelta(days=5)
    )
    _events(lead, "page_view", 3, age_days=10)
    _events(lead, "quote_request", 1, age_days=1)

    services.leads_rescore(lead_ids=[lead.pk])

    lead.refresh_from_db()
    change = StatusChange.objects.get(lead=lead)
    assert lead.status == LeadStatus.MQL
    assert (change.from_status, change.rule) == (LeadStatus.NURTURE, "scoring.thresholds")


def test_dropping_scores_never_demote(ruleset):
    lead = LeadFactory(status=LeadStatus.MQL, fit_score=90, engagement_score=80.0)

    services.leads_rescore(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert lead.engagement_score == 0.0
    assert lead.status == LeadStatus.MQL
    assert StatusChange.objects.count() == 0


@pytest.mark.parametrize("status", [LeadStatus.SQL, LeadStatus.DISQUALIFIED, LeadStatus.LOST])
def test_leads_outside_new_and_nurture_are_not_qualified(ruleset, status):
    lead = LeadFactory(status=status)
    _events(lead, "quote_request", 3)

    services.leads_rescore(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert lead.status == status
    assert lead.engagement_score == 60.0
    assert StatusChange.objects.count() == 0


def test_rescore_task_twice_records_one_status_change(ruleset):
    lead = LeadFactory()
    _events(lead, "quote_request", 2)

    first = tasks.rescore_leads.delay([lead.pk]).get()
    second = tasks.rescore_leads.delay([lead.pk]).get()

    lead.refresh_from_db()
    assert first == {"scored": 1, "entered_mql": 1, "missing": []}
    assert second == {"scored": 1, "entered_mql": 0, "missing": []}
    assert lead.engagement_score == 40.0
    assert StatusChange.objects.filter(lead=lead).count() == 1


def test_events_ingest_rescores_after_commit_in_eager_mode(
    ruleset, django_capture_on_commit_callbacks
):
    lead = LeadFactory()

    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(
            items=[
                {
                    "lead_id": lead.pk,
                    "kind": "quote_request",
                    "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
                    "external_id": "rfq-eager-1",
                }
            ]
        )

    lead.refresh_from_db()
    assert lead.score_stale is False
    assert lead.engagement_score == 20.0
    assert lead.status == LeadStatus.MQL


def test_broker_down_keeps_lead_stale_until_sweep(
    ruleset, django_capture_on_commit_callbacks, monkeypatch
):
    lead = LeadFactory()

    def broker_down(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(celery_app.tasks["scoring.rescore_leads"], "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(
            items=[
                {
                    "lead_id": lead.pk,
                    "kind": "quote_request",
                    "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
                    "external_id": "rfq-broker-down",
                }
            ]
        )

    lead.refresh_from_db()
    assert lead.score_stale is True
    assert lead.scored_at is None
    assert lead.status == LeadStatus.NEW

    monkeypatch.undo()
    enqueued = tasks.sweep_stale_leads.delay().get()

    lead.refresh_from_db()
    assert enqueued == 1
    assert lead.score_stale is False
    assert lead.engagement_score == 20.0
    assert lead.status == LeadStatus.MQL


def test_sweep_takes_bounded_batch_in_id_order(ruleset):
    leads = [LeadFactory(score_stale=True) for _ in range(3)]

    enqueued = services.stale_scores_enqueue(limit=2)

    stale = set(Lead.objects.filter(score_stale=True).values_list("pk", flat=True))
    assert enqueued == 2
    assert stale == {leads[2].pk}


def test_sweep_enqueues_stalled_rescore_run(ruleset, monkeypatch):
    run = RescoreRun.objects.get(ruleset=ruleset)
    RescoreRun.objects.filter(pk=run.pk).update(
        updated_at=timezone.now() - timedelta(seconds=services.RESCORE_RUN_STALL_SECONDS + 1)
    )
    LeadFactory(score_stale=True)

    services.stale_scores_enqueue()

    run.refresh_from_db()
    assert run.status == RescoreRun.Status.DONE
    assert run.done_leads == 1


# Rule sets.


def test_ruleset_load_stores_next_version_as_draft():
    active_before = services.ruleset_active()
    user = UserFactory()

    ruleset = services.ruleset_load(document=QUALIFY_DOC, actor=user)

    assert ruleset.version == active_before.version + 1
    assert ruleset.status == RuleSet.Status.DRAFT
    assert ruleset.created_by == user
    assert services.ruleset_active() == active_before
    assert RescoreRun.objects.count() == 0


def test_ruleset_load_publish_archives_previous_and_queues_rescore():
    previous = services.ruleset_active()

    ruleset = services.ruleset_load(document=QUALIFY_DOC, publish=True)

    previous.refresh_from_db()
    assert ruleset.status == RuleSet.Status.PUBLISHED
    assert ruleset.published_at is not None
    assert previous.status == RuleSet.Status.ARCHIVED
    assert services.ruleset_active() == ruleset
    assert RescoreRun.objects.get().status == RescoreRun.Status.QUEUED


def test_publish_starts_full_rescore_after_commit(django_capture_on_commit_callbacks):
    lead = LeadFactory()

    with django_capture_on_commit_callbacks(execute=True):
        ruleset = services.ruleset_load(document=QUALIFY_DOC, publish=True)

    lead.refresh_from_db()
    run = RescoreRun.objects.get()
    assert run.status == RescoreRun.Status.DONE
    assert run.done_leads == 1
    assert lead.ruleset_version == ruleset.version
    assert lead.fit_score == 60


def test_ruleset_load_invalid_stores_nothing():
    count_before = RuleSet.objects.count()

    with pytest.raises(InvalidRuleSet) as raised:
        services.ruleset_load(document=document(fit_threshold=None), publish=True)

    assert raised.value.errors == {
        "fit_threshold": ["Missing; give the fit score a lead needs for MQL, such as 50."]
    }
    assert RuleSet.objects.count() == count_before
    assert RescoreRun.objects.count() == 0


def test_publish_rejects_published_ruleset(ruleset):
    with pytest.raises(ConflictError, match=f"version {ruleset.version} is already published"):
        services.ruleset_publish(ruleset_id=ruleset.pk)

    assert RescoreRun.objects.filter(ruleset=ruleset).count() == 1


def test_publish_rejects_stored_rules_edited_into_invalid_ones():
    draft = services.ruleset_load(document=QUALIFY_DOC)
    RuleSet.objects.filter(pk=draft.pk).update(fit_rules=[{"id": "x"}])
    active_before = services.ruleset_active()

    with pytest.raises(InvalidRuleSet):
        services.ruleset_publish(ruleset_id=draft.pk)

    draft.refresh_from_db()
    assert draft.status == RuleSet.Status.DRAFT
    assert services.ruleset_active() == active_before


def test_publish_restores_archived_version():
    first = services.ruleset_active()
    services.ruleset_load(document=QUALIFY_DOC, publish=True)

    services.ruleset_publish(ruleset_id=first.pk)

    first.refresh_from_db()
    assert first.status == RuleSet.Status.PUBLISHED
    assert RuleSet.objects.filter(status=RuleSet.Status.PUBLISHED).count() == 1


# Full rescores.


def test_rescore_all_scores_every_lead_in_chunks(ruleset):
    leads = [LeadFactory(score_stale=True) for _ in range(5)]
    leads.append(LeadFactory(account=None, email="no-account@gmail.com", score_stale=True))
    _events(leads[0], "page_view", 4)
    _events(leads[1], "quote_request", 1)
    run = RescoreRun.objects.get(ruleset=ruleset)
    seen = []

    run = services.rescore_all(
        run_id=run.pk, chunk_size=2, progress=lambda run: seen.append(run.done_leads)
    )

    assert seen == [2, 4, 6]
    assert run.status == RescoreRun.Status.DONE
    assert (run.total_leads, run.done_leads, run.last_lead_id) == (6, 6, leads[-1].pk)
    assert run.entered_mql == 1
    assert run.finished_at is not None
    scores = list(
        Lead.objects.order_by("pk").values_list("fit_score", "engagement_score", "score_stale")
    )
    assert scores == [
        (60, 30.0, False),
        (60, 20.0, False),
        (60, 0.0, False),
        (60, 0.0, False),
        (60, 0.0, False),
        (30, 0.0, False),
    ]
    assert Lead.objects.get(pk=leads[1].pk).status == LeadStatus.MQL


def test_rescore_all_resumes_after_last_lead_id(ruleset):
    leads = [LeadFactory(score_stale=True) for _ in range(5)]
    run = RescoreRun.objects.get(ruleset=ruleset)
    RescoreRun.objects.filter(pk=run.pk).update(
        status=RescoreRun.Status.RUNNING,
        total_leads=5,
        done_leads=3,
        last_lead_id=leads[2].pk,
        max_lead_id=leads[-1].pk,
    )

    run = services.rescore_all(run_id=run.pk, chunk_size=10)

    stale = list(Lead.objects.filter(score_stale=True).order_by("pk").values_list("pk", flat=True))
    assert stale == [lead.pk for lead in leads[:3]]
    assert run.status == RescoreRun.Status.DONE
    assert run.done_leads == 5


def test_rescore_all_stops_when_time_budget_is_used(ruleset):
    [LeadFactory(score_stale=True) for _ in range(3)]
    run = RescoreRun.objects.get(ruleset=ruleset)

    run = services.rescore_all(run_id=run.pk, chunk_size=1, time_budget_seconds=0)

    assert run.status == RescoreRun.Status.RUNNING
    assert run.done_leads == 1
    assert Lead.objects.filter(score_stale=True).count() == 2


def test_rescore_all_of_superseded_ruleset_fails(ruleset):
    old_run = RescoreRun.objects.get(ruleset=ruleset)
    newer = services.ruleset_load(document=QUALIFY_DOC, publish=True)
    lead = LeadFactory(score_stale=True)

    run = services.rescore_all(run_id=old_run.pk)

    lead.refresh_from_db()
    assert run.status == RescoreRun.Status.FAILED
    assert run.error == (
        f"Superseded: rule set version {ruleset.version} is no longer published; "
        f"version {newer.version} is."
    )
    assert lead.score_stale is True


def test_rescore_all_of_finished_run_changes_nothing(ruleset):
    run = RescoreRun.objects.get(ruleset=ruleset)
    RescoreRun.objects.filter(pk=run.pk).update(status=RescoreRun.Status.DONE)
    lead = LeadFactory(score_stale=True)

    run = services.rescore_all(run_id=run.pk)

    lead.refresh_from_db()
    assert run.status == RescoreRun.Status.DONE
    assert lead.score_stale is True


# Tasks.


@pytest.mark.parametrize(
    ("name", "soft_limit", "hard_limit"),
    [
        ("scoring.rescore_leads", 240, 300),
        ("scoring.sweep_stale_leads", 50, 60),
        ("scoring.rescore_all", 600, 660),
    ],
)
def test_task_names_and_time_limits(name, soft_limit, hard_limit):
    task = celery_app.tasks[name]

    assert (task.soft_time_limit, task.time_limit) == (soft_limit, hard_limit)


def test_sweep_is_scheduled_every_minute(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["scoring-sweep-stale-leads"]

    assert schedule == {"task": "scoring.sweep_stale_leads", "schedule": 60.0}
    assert schedule["task"] in celery_app.tasks


def test_rescore_all_unexpected_error_fails_run(ruleset, monkeypatch):
    LeadFactory(score_stale=True)
    run = RescoreRun.objects.get(ruleset=ruleset)

    def broken_chunk(*args, **kwargs):
        raise ValueError("rule 3 cannot be evaluated")

    monkeypatch.setattr(services, "_rescore_chunk", broken_chunk)
    with pytest.raises(ValueError, match="rule 3 cannot be evaluated"):
        services.rescore_all(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == RescoreRun.Status.FAILED
    assert run.error == "ValueError: rule 3 cannot be evaluated"


def test_rescore_all_out_of_time_stays_running(ruleset, monkeypatch):
    LeadFactory(score_stale=True)
    run = RescoreRun.objects.get(ruleset=ruleset)

    def slow_chunk(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "_rescore_chunk", slow_chunk)
    with pytest.raises(SoftTimeLimitExceeded):
        services.rescore_all(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == RescoreRun.Status.RUNNING
    assert run.error == ""
