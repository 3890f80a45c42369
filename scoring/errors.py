"""Domain errors of the scoring app."""

from __future__ import annotations

from rest_framework import status

from leadflow.errors import ApplicationError, ConflictError, NotFoundError


class InvalidRuleSet(ApplicationError):
    """A rule-set document failed validation; `extra["fields"]` maps each path to its messages."""

    code = "invalid_ruleset"

    def __init__(self, errors: dict[str, list[str]]):
        count = sum(len(messages) for messages in errors.values())
        path, messages = next(iter(errors.items()))
        super().__init__(
            f"The rule set has {count} error{'s' if count != 1 else ''}; first, {path}: {messages[0]}",
            extra={"fields": errors},
        )
        self.errors = errors


class RuleSetNotFound(NotFoundError):
    code = "ruleset_not_found"


class RuleSetNotDraft(ConflictError):
    code = "ruleset_not_draft"


class NoActiveRuleSet(ConflictError):
    code = "no_active_ruleset"


class RescoreRunNotFound(NotFoundError):
    code = "rescore_run_not_found"


class RuleSetChanged(ApplicationError):
    """A draft was edited by someone else since the editor or client read it (HTTP 412)."""

    code = "ruleset_changed"
    status_code = status.HTTP_412_PRECONDITION_FAILED


class SimulationNotFound(NotFoundError):
    code = "simulation_not_found"
