"""The check handoff adds to every lead status change, so that no change strands a handoff.

HandoffConfig.ready registers it with leads.services.register_transition_guard.
The handoff services move leads with rules that start with "handoff.", which
this check lets through.
"""

from __future__ import annotations

from django.db.models import Q

from handoff.models import Handoff, HandoffStatus
from leads.errors import IllegalTransition
from leads.models import Lead, LeadStatus

HANDOFF_RULE_PREFIX = "handoff."
# The moves that end an SQL. Only handoff_close records the outcome reason of won and lost.
SQL_EXITS = frozenset(
    {LeadStatus.WON, LeadStatus.LOST, LeadStatus.NURTURE, LeadStatus.DISQUALIFIED}
)


def reject_move_past_open_handoff(*, lead: Lead, to_status: str, rule: str) -> None:
    """Reject a status change of a lead whose handoff is pending, or whose accepted SQL is open.

    A pending handoff is decided by its rep or withdrawn by marketing, and an
    accepted one is closed as won or lost with a reason. A generic move would leave
    the handoff pointing at a lead it can no longer act on.
    """
    if rule.startswith(HANDOFF_RULE_PREFIX):
        return

    # One query for both cases: at most one handoff is pending, and the newest accepted one
    # without an outcome is the lead's open SQL.
    open_handoffs = list(
        Handoff.objects.select_related("rep__user")
        .filter(lead_id=lead.pk)
        .filter(Q(status=HandoffStatus.PENDING) | Q(status=HandoffStatus.ACCEPTED, outcome=""))
        .order_by("-created_at", "-pk")
    )
    pending = next((handoff for handoff in open_handoffs if handoff.is_open), None)
    if pending is not None:
        if pending.rep is not None:
            waiting = f"waits for {pending.rep.display_name} to decide on handoff {pending.pk}"
            advice = "withdraw the handoff or let the rep decide"
        else:
            waiting = f"waits in the fallback queue with handoff {pending.pk}"
            advice = "withdraw the handoff or let a rep decide"
        raise IllegalTransition(
            f"Lead {lead.pk} {waiting}, so its status cannot change here; {advice}.",
            code="handoff_pending",
            extra=_extra(lead, to_status, pending),
        )

    accepted = next(
        (handoff for handoff in open_handoffs if handoff.status == HandoffStatus.ACCEPTED), None
    )
    if accepted is not None and lead.status == LeadStatus.SQL and to_status in SQL_EXITS:
        raise IllegalTransition(
            f"Lead {lead.pk} is the open SQL of accepted handoff {accepted.pk}; close it through "
            "the handoff so the outcome reason is recorded.",
            code="handoff_accepted",
            extra=_extra(lead, to_status, accepted),
        )


def _extra(lead: Lead, to_status: str, handoff: Handoff) -> dict[str, object]:
    return {
        "lead_id": lead.pk,
        "from_status": lead.status,
        "to_status": to_status,
        "handoff_id": handoff.pk,
    }
