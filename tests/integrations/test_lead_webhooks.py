import pytest
from django.db import transaction

from integrations.hooks import emit_lead_status_webhooks
from integrations.models import WebhookDelivery
from integrations.services import webhook_endpoint_create
from leads.models import LeadStatus, StatusChange
from leads.services import lead_transition
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

ALL_LEAD_EVENTS = ["lead.status_changed", "lead.mql", "lead.won", "lead.lost"]


@pytest.fixture
def endpoint():
    # Port 9 (discard) on loopback: nothing listens, and these tests never send.
    return webhook_endpoint_create(url="http://127.0.0.1:9/hooks", event_types=ALL_LEAD_EVENTS)


@pytest.fixture(autouse=True)
def no_sending(monkeypatch):
    """Record deliveries without sending them; sending has its own tests."""
    monkeypatch.setattr("integrations.services.webhooks.enqueue_deliveries", lambda *a, **k: None)


def _recorded():
    return sorted(WebhookDelivery.objects.values_list("event_type", flat=True))


def test_mql_transition_emits_status_changed_and_mql(
    endpoint, marketer, django_capture_on_commit_callbacks
):
    lead = LeadFactory(status=LeadStatus.NEW, fit_score=70, engagement_score=55.0)

    with django_capture_on_commit_callbacks(execute=True):
        change = lead_transition(lead_id=lead.pk, to_status=LeadStatus.MQL, actor=marketer)

    assert _recorded() == ["lead.mql", "lead.status_changed"]
    mql = WebhookDelivery.objects.get(event_type="lead.mql")
    assert mql.payload == {
        "lead": {
            "id": lead.pk,
            "email": lead.email,
            "source_system": "",
            "external_id": None,
            "account_id": lead.account_id,
            "owner_id": None,
            "status": "mql",
            "fit_score": 70,
            "engagement_score": 55.0,
            "ruleset_version": None,
        },
        "status_change": {
            "id": change.pk,
            "from_status": "new",
            "to_status": "mql",
            "actor_id": marketer.pk,
            "rule": "",
            "reason": "",
            "changed_at": change.created_at.isoformat(),
        },
    }


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        (LeadStatus.SQL, LeadStatus.WON, ["lead.status_changed", "lead.won"]),
        (LeadStatus.SQL, LeadStatus.LOST, ["lead.lost", "lead.status_changed"]),
        (LeadStatus.MQL, LeadStatus.NURTURE, ["lead.status_changed"]),
        (LeadStatus.NEW, LeadStatus.DISQUALIFIED, ["lead.status_changed"]),
    ],
)
def test_transition_emits_matching_events(
    endpoint, source, target, expected, django_capture_on_commit_callbacks
):
    lead = LeadFactory(status=source)

    with django_capture_on_commit_callbacks(execute=True):
        lead_transition(lead_id=lead.pk, to_status=target)

    assert _recorded() == expected


def test_rolled_back_transition_emits_nothing(endpoint, django_capture_on_commit_callbacks):
    lead = LeadFactory(status=LeadStatus.NEW)

    def transition_then_fail():
        with transaction.atomic():
            lead_transition(lead_id=lead.pk, to_status=LeadStatus.MQL)
            raise RuntimeError("abort")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        transition_then_fail()

    assert WebhookDelivery.objects.count() == 0


def test_no_op_change_emits_nothing(endpoint):
    lead = LeadFactory(status=LeadStatus.MQL)
    change = StatusChange(pk=1, lead=lead, from_status=LeadStatus.MQL, to_status=LeadStatus.MQL)

    emit_lead_status_webhooks(change)

    assert WebhookDelivery.objects.count() == 0


def test_endpoint_gets_only_its_event_types(django_capture_on_commit_callbacks):
    won_only = webhook_endpoint_create(url="http://127.0.0.1:9/won", event_types=["lead.won"])
    lead = LeadFactory(status=LeadStatus.NEW)

    with django_capture_on_commit_callbacks(execute=True):
        lead_transition(lead_id=lead.pk, to_status=LeadStatus.MQL)

    assert WebhookDelivery.objects.filter(endpoint=won_only).count() == 0


def test_hook_error_is_logged_not_raised(
    endpoint, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def fail(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr("integrations.hooks.webhook_emit", fail)
    lead = LeadFactory(status=LeadStatus.NEW)

    with django_capture_on_commit_callbacks(execute=True):
        change = lead_transition(lead_id=lead.pk, to_status=LeadStatus.MQL)

    lead.refresh_from_db()
    assert lead.status == LeadStatus.MQL
    assert f"Could not record webhooks for status change {change.pk} of lead {lead.pk}" in (
        caplog.text
    )
