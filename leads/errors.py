"""Domain errors of the leads app."""

from leadflow.errors import ApplicationError, ConflictError, NotFoundError


class IllegalTransition(ConflictError):
    code = "illegal_transition"


class LeadNotFound(NotFoundError):
    code = "lead_not_found"


class InvalidLeadData(ApplicationError):
    code = "invalid_lead"
