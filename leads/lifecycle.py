"""The lead lifecycle: which status may follow which.

new → mql → sql → won | lost, with nurture (recycled) and disqualified beside them.
"""

from leads.models import LeadStatus as S

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.MQL, S.NURTURE, S.DISQUALIFIED}),
    S.MQL: frozenset({S.SQL, S.NURTURE, S.DISQUALIFIED}),
    S.SQL: frozenset({S.WON, S.LOST, S.NURTURE, S.DISQUALIFIED}),
    # Recycled leads re-qualify through scoring or are given up on.
    S.NURTURE: frozenset({S.MQL, S.DISQUALIFIED}),
    # A disqualification can be undone by sending the lead back to nurture.
    S.DISQUALIFIED: frozenset({S.NURTURE}),
    # A lost deal may be recycled into nurture; a won deal is final.
    S.LOST: frozenset({S.NURTURE}),
    S.WON: frozenset(),
}


def allowed_next_statuses(status: str) -> frozenset[str]:
    return ALLOWED_TRANSITIONS.get(status, frozenset())


def is_allowed(from_status: str, to_status: str) -> bool:
    return to_status in allowed_next_statuses(from_status)
