import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import connection

from leads import services
from leads.errors import IllegalTransition, LeadNotFound
from leads.lifecycle import ALLOWED_TRANSITIONS
from leads.models import Lead, LeadStatus, StatusChange
from tests.factories import LeadFactory

LEGAL = [(source, target) for source, targets in ALLOWED_TRANSITIONS.items() for target in targets]
ILLEGAL = [
    (source, target)
    for source in LeadStatus.values
    for target in LeadStatus.values
    if target not in ALLOWED_TRANSITIONS[source]
]


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), LEGAL)
def test_transition_legal_writes_audit_row(source, target, marketer):
    lead = LeadFactory(status=source, fit_score=61, engagement_score=44.5, ruleset_version=3)

    change = services.lead_transition(
        lead_id=lead.pk, to_status=target, actor=marketer, reason="checked"
    )

    lead.refresh_from_db()
    assert lead.status == target
    assert lead.status_changed_at is not None
    assert change.from_status == source
    assert change.to_status == target
    assert change.actor == marketer
    assert change.reason == "checked"
    assert change.fit_score == 61
    assert change.engagement_score == 44.5
    assert change.ruleset_version == 3


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_transition_illegal_raises_and_changes_nothing(source, target):
    lead = LeadFactory(status=source)

    with pytest.raises(IllegalTransition) as raised:
        services.lead_transition(lead_id=lead.pk, to_status=target)

    assert f"cannot move from {source} to {target}" in raised.value.message
    assert raised.value.status_code == 409
    lead.refresh_from_db()
    assert lead.status == source
    assert StatusChange.objects.count() == 0


@pytest.mark.django_db
def test_transition_unknown_status_rejected():
    lead = LeadFactory()

    with pytest.raises(IllegalTransition, match="Unknown status 'hot'"):
        services.lead_transition(lead_id=lead.pk, to_status="hot")


@pytest.mark.django_db
def test_transition_missing_lead_not_found():
    with pytest.raises(LeadNotFound, match="Lead 999999 does not exist"):
        services.lead_transition(lead_id=999999, to_status=LeadStatus.MQL)


@pytest.mark.django_db
def test_transition_expected_from_mismatch_rejected():
    lead = LeadFactory(status=LeadStatus.MQL)

    with pytest.raises(IllegalTransition, match="is mql, not new"):
        services.lead_transition(
            lead_id=lead.pk, to_status=LeadStatus.NURTURE, expected_from=LeadStatus.NEW
        )

    assert StatusChange.objects.count() == 0


@pytest.mark.django_db
def test_transition_dated_records_given_time():
    lead = LeadFactory(status="mql")
    decided = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)

    change = services.lead_transition(lead_id=lead.pk, to_status="sql", now=decided)

    lead.refresh_from_db()
    assert change.created_at == decided
    assert StatusChange.objects.get(pk=change.pk).created_at == decided
    assert lead.status_changed_at == decided


@pytest.mark.django_db
def test_status_change_is_append_only():
    lead = LeadFactory()
    change = services.lead_transition(
        lead_id=lead.pk, to_status=LeadStatus.MQL, rule="scoring.thresholds"
    )

    change.reason = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        change.save()
    with pytest.raises(ValueError, match="append-only"):
        change.delete()


@pytest.mark.django_db(transaction=True)
def test_transition_hooks_run_after_commit():
    seen: list[str] = []
    hook = lambda change: seen.append(change.to_status)  # noqa: E731
    services.register_after_transition(hook)
    try:
        lead = LeadFactory()
        services.lead_transition(lead_id=lead.pk, to_status=LeadStatus.NURTURE)
    finally:
        services._after_transition_hooks.remove(hook)

    assert seen == [LeadStatus.NURTURE]


@pytest.fixture
def guard_calls():
    """Register a guard that records its calls and rejects moves to disqualified."""
    calls: list[tuple[int, str, str, str]] = []

    def guard(*, lead, to_status, rule):
        calls.append((lead.pk, lead.status, to_status, rule))
        if to_status == LeadStatus.DISQUALIFIED:
            raise IllegalTransition(f"Lead {lead.pk} is protected.", code="protected")

    services.register_transition_guard(guard)
    yield calls
    services._transition_guards.remove(guard)


@pytest.mark.django_db
def test_transition_guard_sees_old_status_and_rule(guard_calls):
    lead = LeadFactory(status=LeadStatus.NEW)

    services.lead_transition(lead_id=lead.pk, to_status=LeadStatus.MQL, rule="scoring.thresholds")

    assert guard_calls == [(lead.pk, LeadStatus.NEW, LeadStatus.MQL, "scoring.thresholds")]


@pytest.mark.django_db
def test_transition_guard_rejection_changes_nothing(guard_calls, marketer):
    lead = LeadFactory(status=LeadStatus.MQL)

    with pytest.raises(IllegalTransition) as raised:
        services.lead_transition(
            lead_id=lead.pk, to_status=LeadStatus.DISQUALIFIED, actor=marketer, reason="x"
        )

    assert raised.value.message == f"Lead {lead.pk} is protected."
    assert raised.value.code == "protected"
    lead.refresh_from_db()
    assert lead.status == LeadStatus.MQL
    assert lead.status_changed_at is None
    assert StatusChange.objects.count() == 0


@pytest.mark.django_db
def test_transition_guard_skipped_for_illegal_move(guard_calls):
    lead = LeadFactory(status=LeadStatus.WON)

    with pytest.raises(IllegalTransition, match="cannot move from won to nurture"):
        services.lead_transition(lead_id=lead.pk, to_status=LeadStatus.NURTURE)

    assert guard_calls == []


@pytest.mark.django_db
def test_transition_guard_error_reported(guard_calls):
    lead = LeadFactory(status=LeadStatus.MQL)

    refused = services.lead_transition_guard_error(lead=lead, to_status=LeadStatus.DISQUALIFIED)
    allowed = services.lead_transition_guard_error(lead=lead, to_status=LeadStatus.NURTURE)

    assert refused is not None
    assert refused.message == f"Lead {lead.pk} is protected."
    assert allowed is None
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.MQL


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_transitions_only_one_wins(monkeypatch):
    """Two workers move the same new lead at once; the row lock lets exactly one succeed."""
    lead = LeadFactory(status=LeadStatus.NEW)
    real_allowed = services.allowed_next_statuses

    def slow_allowed(status):
        # Widen the window between reading the status and writing the new one.
        time.sleep(0.3)
        return real_allowed(status)

    monkeypatch.setattr(services, "allowed_next_statuses", slow_allowed)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def move(target: str) -> None:
        barrier.wait()
        try:
            services.lead_transition(
                lead_id=lead.pk, to_status=target, expected_from=LeadStatus.NEW
            )
            outcomes[target] = "won"
        except IllegalTransition:
            outcomes[target] = "lost"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=move, args=(target,))
        for target in (LeadStatus.MQL, LeadStatus.DISQUALIFIED)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["lost", "won"]
    winner = next(target for target, outcome in outcomes.items() if outcome == "won")
    assert Lead.objects.get(pk=lead.pk).status == winner
    assert StatusChange.objects.filter(lead_id=lead.pk).count() == 1
