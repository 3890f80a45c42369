"""Roles and error descriptions of the handoff, rep and routing rule endpoints.

Operations document the error codes whose meaning is their own with these
descriptions. integrations.schema adds 401, 403, 413, 415, 422 and 429 where
they apply.
"""

from __future__ import annotations

from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER

HANDOFF_READ_ROLES = (MARKETING, SALES, SALES_MANAGER, REVOPS)
SEND_ROLES = (MARKETING, REVOPS)
ACCEPT_ROLES = (SALES,)
DECIDE_ROLES = (SALES, SALES_MANAGER, REVOPS)
WITHDRAW_ROLES = (MARKETING, REVOPS)
REASSIGN_ROLES = (SALES_MANAGER, REVOPS)
REP_READ_ROLES = (SALES, SALES_MANAGER, REVOPS)
REP_WRITE_ROLES = (SALES_MANAGER, REVOPS)
ROUTING_READ_ROLES = (MARKETING, SALES_MANAGER, REVOPS)
ROUTING_WRITE_ROLES = (REVOPS,)

HANDOFF_SCOPE_NOTE = (
    "Marketing, revops and sales managers see every handoff; a sales rep sees only the "
    "handoffs assigned to them or where they are the technical expert, and gets 404 for others."
)

HANDOFF_ERRORS = {
    400: "Invalid input; `fields` names each invalid field.",
    403: "The user lacks the role this action needs, or the handoff belongs to another rep "
    "(not_allowed).",
    404: "The handoff does not exist, or is not visible to the user.",
    409: "The handoff is no longer in the state this action needs (handoff_not_pending), or "
    "the lead changed status (lead_not_qualified); reload it. Also a request with the same "
    "Idempotency-Key that is still running.",
}
REP_ERRORS = {
    400: "Invalid input, such as an unknown territory code or a capacity out of range; "
    "`fields` names each invalid field.",
    404: "The rep does not exist.",
}
ROUTING_RULE_ERRORS = {
    400: "Invalid input, such as an unknown rep id or territory code; `fields` names each "
    "invalid field.",
    404: "The routing rule does not exist.",
}
