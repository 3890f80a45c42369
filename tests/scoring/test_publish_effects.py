"""A publish's full rescore sends webhooks and follow-up tasks only for leads whose status changed."""

from datetime import timedelta

import pytest
from celery.canvas import Signature
from django.utils import timezone

from integrations.models import WebhookDelivery
from leads.models import Account, Lead, LeadStatus, StatusChange
from scoring import rulesets, services
from scoring.models import RescoreRun
from tests.factories import (
    EngagementEventFactory,
    LeadFactory,
    UserFactory,
    WebhookEndpointFactory,
)
from tests.scoring.helpers import document, engagement_rule, fit_rule, publish

pytestmark = pytest.mark.django_db

RULES = document(
    fit_rules=[fit_rule("lead.job_function", "eq", "engineering", id="function", points=60)],
    engagement_rules=[engagement_rule("quote_request", 20, id="rfq")],
    fit_threshold=50,
    engagement_threshold=40,
)


@pytest.fixture
def sent(monkeypatch):
    """Record every task sent by name; let scoring's own tasks run eagerly as usual."""
    names = []
    original = Signature.apply_async

    def record(signature, *args, **kwargs):
        names.append(signature.task)
        if signature.task.startswith("scoring."):
            return original(signature, *args, **kwargs)
        return None

    monkeypatch.setattr(Signature, "apply_async", record)
    return names


def _lead(status, quotes):
    lead = LeadFactory(status=status)
    for _ in range(quotes):
        EngagementEventFactory(
            lead=lead, kind="quote_request", occurred_at=timezone.now() - timedelta(days=2)
        )
    return lead


def test_rescore_after_publish_notifies_only_changed_leads(
    sent, django_capture_on_commit_callbacks
):
    publish(RULES)
    WebhookEndpointFactory(event_types=["lead.status_changed", "lead.mql"])
    enters = _lead(LeadStatus.NEW, quotes=2)  # 40 under the new rules: enters MQL
    already_mql = _lead(LeadStatus.MQL, quotes=3)  # passes, but is MQL already
    stays_new = _lead(LeadStatus.NEW, quotes=1)  # 20: stays new
    low_mql = _lead(LeadStatus.MQL, quotes=0)  # no longer passes; scores never demote
    draft = rulesets.ruleset_draft_create(actor=UserFactory(username="ops"))

    with django_capture_on_commit_callbacks(execute=True):
        run = services.ruleset_publish(ruleset_id=draft.pk)

    run.refresh_from_db()
    assert run.status == RescoreRun.Status.DONE
    assert run.entered_mql == 1
    assert list(StatusChange.objects.values_list("lead_id", "from_status", "to_status")) == [
        (enters.pk, "new", "mql")
    ]
    deliveries = WebhookDelivery.objects.order_by("event_type")
    assert [(row.event_type, row.payload["lead"]["id"]) for row in deliveries] == [
        ("lead.mql", enters.pk),
        ("lead.status_changed", enters.pk),
    ]
    assert sent == [
        "scoring.rescore_all",
        "integrations.deliver_webhook",
        "integrations.deliver_webhook",
    ]
    statuses = dict(Lead.objects.values_list("pk", "status"))
    assert statuses == {
        enters.pk: LeadStatus.MQL,
        already_mql.pk: LeadStatus.MQL,
        stays_new.pk: LeadStatus.NEW,
        low_mql.pk: LeadStatus.MQL,
    }


def test_rescore_with_unchanged_statuses_sends_nothing(sent, django_capture_on_commit_callbacks):
    publish(RULES)
    WebhookEndpointFactory(event_types=["lead.status_changed", "lead.mql"])
    _lead(LeadStatus.MQL, quotes=3)
    _lead(LeadStatus.NEW, quotes=0)
    draft = rulesets.ruleset_draft_create(actor=None)

    with django_capture_on_commit_callbacks(execute=True):
        services.ruleset_publish(ruleset_id=draft.pk)

    assert WebhookDelivery.objects.count() == 0
    assert StatusChange.objects.count() == 0
    assert sent == ["scoring.rescore_all"]


def test_rescore_refreshes_account_rollups_at_the_end(django_capture_on_commit_callbacks):
    publish(RULES)
    account = LeadFactory().account
    LeadFactory(account=account)
    for lead in Lead.objects.all():
        EngagementEventFactory(
            lead=lead, kind="quote_request", occurred_at=timezone.now() - timedelta(days=1)
        )
    draft = rulesets.ruleset_draft_create(actor=None)

    with django_capture_on_commit_callbacks(execute=True):
        services.ruleset_publish(ruleset_id=draft.pk)

    account = Account.objects.get(pk=account.pk)
    assert account.engagement_score == 40.0
    assert account.engaged_contacts == 2


def test_account_rollup_refresh_writes_only_changed_accounts(is_postgres):
    publish(RULES)
    lead = LeadFactory(engagement_score=12.5)
    Account.objects.filter(pk=lead.account_id).update(engagement_score=12.5, engaged_contacts=1)
    changed_lead = LeadFactory(engagement_score=30)

    changed = services.accounts_rollup_refresh(chunk_size=1)

    assert Account.objects.get(pk=changed_lead.account_id).engagement_score == 30.0
    # SQLite's fallback rewrites every account; PostgreSQL skips unchanged ones.
    assert changed == (1 if is_postgres else 2)
