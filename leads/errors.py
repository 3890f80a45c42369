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
