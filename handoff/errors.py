"""Domain errors of the handoff app."""

from rest_framework import status

from leadflow.errors import ApplicationError, ConflictError, NotFoundError


class HandoffNotFound(NotFoundError):
    code = "handoff_not_found"


class RepNotFound(NotFoundError):
    code = "rep_not_found"


class HandoffAlreadyOpen(ConflictError):
    code = "handoff_already_open"


class HandoffNotPending(ConflictError):
    code = "handoff_not_pending"


class LeadNotQualified(ConflictError):
    """The lead is not in the status the action needs (an MQL to send, an SQL to close)."""

    code = "lead_not_qualified"


class HandoffContextMissing(ApplicationError):
    code = "handoff_context_missing"


class QualificationMissing(ApplicationError):
    code = "qualification_missing"


class QualificationInvalid(QualificationMissing):
    """A qualification value out of its limits, such as a next-step date in the past."""

    code = "qualification_invalid"


class InvalidHandoffInput(ApplicationError):
    code = "invalid_handoff_input"


class NotAllowed(ApplicationError):
    """The user may not act on this handoff, such as a rep accepting a colleague's handoff."""

    code = "not_allowed"
    status_code = status.HTTP_403_FORBIDDEN  # type: ignore[assignment]


class RoutingRuleNotFound(NotFoundError):
    code = "routing_rule_not_found"
