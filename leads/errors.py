"""Domain errors of the leads app."""

from leadflow.errors import ApplicationError, ConflictError, NotFoundError


class IllegalTransition(ConflictError):
    code = "illegal_transition"


class LeadNotFound(NotFoundError):
    code = "lead_not_found"


class InvalidLeadData(ApplicationError):
    code = "invalid_lead"


class InvalidEvent(ApplicationError):
    code = "invalid_event"


class InvalidEventRequest(ApplicationError):
    """The body of an event request is not an event object or a list of 1 to 1,000 of them."""

    code = "invalid_event_request"


class RequestTooLarge(ApplicationError):
    code = "request_too_large"
    status_code = 413


class EventNotFound(NotFoundError):
    code = "event_not_found"


class LeadIdentityConflict(ConflictError):
    """The e-mail address or external id of a lead upsert belongs to another lead, or clashes."""

    code = "lead_identity_conflict"


class AccountNotFound(NotFoundError):
    code = "account_not_found"


class InvalidAccountData(ApplicationError):
    code = "invalid_account"


class AccountDomainTaken(ConflictError):
    code = "account_domain_taken"


class LeadIdentityMismatch(ApplicationError):
    """The body of an upsert names another e-mail address or external id than its path."""

    code = "lead_identity_mismatch"
