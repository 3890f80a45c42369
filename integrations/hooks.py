"""Webhook events for lead status changes, attached to the lifecycle service after commit."""

from __future__ import annotations

import logging
from typing import Any

from integrations.models import WebhookEventType
from integrations.services import webhook_emit
from leads.models import LeadStatus, StatusChange

logger = logging.getLogger(__name__)

# A change to one of these statuses also sends its own event besides lead.status_changed.
STATUS_EVENTS: dict[str, str] = {
    LeadStatus.MQL: WebhookEventType.LEAD_MQL,
    LeadStatus.WON: WebhookEventType.LEAD_WON,
    LeadStatus.LOST: WebhookEventType.LEAD_LOST,
}


def lead_status_payload(change: StatusChange) -> dict[str, Any]:
    """Build the `data` of a lead event: the lead as it is now and the change that moved it."""
    lead = change.lead
    return {
        "lead": {
            "id": lead.pk,
            "email": lead.email,
            "source_system": lead.source_system,
            "external_id": lead.external_id,
            "account_id": lead.account_id,
            "owner_id": lead.owner_id,
            "status": lead.status,
            "fit_score": lead.fit_score,
            "engagement_score": lead.engagement_score,
            "ruleset_version": lead.ruleset_version,
        },
        "status_change": {
            "id": change.pk,
            "from_status": change.from_status,
            "to_status": change.to_status,
            "actor_id": change.actor_id,
            "rule": change.rule,
            "reason": change.reason,
            "changed_at": change.created_at.isoformat(),
        },
    }


def emit_lead_status_webhooks(change: StatusChange) -> None:
    """Record lead.status_changed, and lead.mql, lead.won or lead.lost where they apply.

    Runs after the transition committed. An error here is logged, not raised,
    because raising would turn the committed transition into a failed request.
    The transition and its audit row stay as they are.
    """
    if change.from_status == change.to_status:
        return

    event_types = [WebhookEventType.LEAD_STATUS_CHANGED.value]
    if change.to_status in STATUS_EVENTS:
        event_types.append(STATUS_EVENTS[change.to_status])

    try:
        payload = lead_status_payload(change)
        for event_type in event_types:
            webhook_emit(event_type=event_type, payload=payload)
    except Exception:
        logger.exception(
            "Could not record webhooks for status change %s of lead %s",
            change.pk,
            change.lead_id,
            extra={"lead_id": change.lead_id, "status_change_id": change.pk},
        )
