"""Services of rule-set versions: new drafts, edits, restores, imports and their history.

Every function here records a RuleSetChange with the actor and a line per
change, so the versions page shows who changed what and when. Publishing,
which starts a full rescore, is scoring.services.ruleset_publish.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from leadflow.errors import ConflictError
from scoring.defaults import DEFAULT_RULESET
from scoring.errors import InvalidRuleSet, RuleSetChanged, RuleSetNotDraft, RuleSetNotFound
from scoring.models import RuleSet, RuleSetChange
from scoring.rules import DOCUMENT_DEFAULTS, document_from_ruleset, validate_document
from scoring.rules.diff import describe_changes
from scoring.selectors import ruleset_active, ruleset_by_version

logger = logging.getLogger(__name__)

DOCUMENT_FIELDS = tuple(DOCUMENT_DEFAULTS)


def ruleset_change_record(
    *,
    ruleset: RuleSet,
    action: str,
    actor: AbstractBaseUser | None,
    details: list[str],
) -> RuleSetChange:
    """Append one step to the rule-set history; call it inside the change's transaction."""
    return RuleSetChange.objects.create(
        ruleset=ruleset, action=action, actor=_user(actor), details=details
    )


def ruleset_create_version(
    *,
    document: Any,
    actor: AbstractBaseUser | None,
    action: str,
    details: list[str],
    based_on: RuleSet | None = None,
) -> RuleSet:
    """Validate a document and store it as a draft with the next version number.

    Raises InvalidRuleSet with the errors by path; nothing is stored then.
    """
    normalised, errors = validate_document(document)
    if errors:
        raise InvalidRuleSet(errors)

    user = _user(actor)
    with transaction.atomic():
        # Locking the newest version serialises concurrent creations, which would pick one number.
        latest = RuleSet.objects.select_for_update().order_by("-version").first()
        try:
            with transaction.atomic():
                ruleset = RuleSet.objects.create(
                    version=(latest.version if latest else 0) + 1,
                    status=RuleSet.Status.DRAFT,
                    based_on=based_on,
                    created_by=user,
                    updated_by=user,
                    **normalised,
                )
        except IntegrityError as error:
            raise ConflictError(
                "Another rule set was saved at the same moment; try again."
            ) from error
        ruleset_change_record(ruleset=ruleset, action=action, actor=actor, details=details)

    logger.info(
        "Stored rule set %s as draft version %s (%s)",
        ruleset.pk,
        ruleset.version,
        action,
        extra={"ruleset_id": ruleset.pk},
    )
    return ruleset


def ruleset_draft_create(
    *, actor: AbstractBaseUser | None, from_version: int | None = None
) -> RuleSet:
    """Start a new draft as a copy of `from_version`, else of the published version.

    Without any version to copy, the draft starts from the default
    manufacturing rule set.
    """
    source = ruleset_by_version(from_version) if from_version is not None else ruleset_active()
    if source is None:
        return ruleset_create_version(
            document=DEFAULT_RULESET,
            actor=actor,
            action=RuleSetChange.Action.CREATED,
            details=["new draft from the default manufacturing rule set"],
        )
    return ruleset_create_version(
        document=document_from_ruleset(source),
        actor=actor,
        action=RuleSetChange.Action.CREATED,
        details=[f"new draft from v{source.version} ({source.get_status_display().lower()})"],
        based_on=source,
    )


def ruleset_restore(*, version: int, actor: AbstractBaseUser | None) -> RuleSet:
    """Copy an earlier version into a new draft, which a publish makes active again.

    The history line lists what the restored rules change compared with the
    version published now, so a rollback shows what it undoes.
    """
    source = ruleset_by_version(version)
    document = document_from_ruleset(source)
    details = [f"restored v{source.version} ({source.get_status_display().lower()}) as a new draft"]
    active = ruleset_active()
    if active is not None and active.pk != source.pk:
        changes = describe_changes(document_from_ruleset(active), document)
        details += [f"against v{active.version}: {line}" for line in changes]
    return ruleset_create_version(
        document=document,
        actor=actor,
        action=RuleSetChange.Action.RESTORED,
        details=details,
        based_on=source,
    )


def ruleset_import(*, document: Any, actor: AbstractBaseUser | None, source: str = "") -> RuleSet:
    """Store a rule-set document from a JSON file as a new draft; `source` names the file."""
    return ruleset_create_version(
        document=document,
        actor=actor,
        action=RuleSetChange.Action.IMPORTED,
        details=[f"imported from {source}" if source else "imported from a JSON document"],
    )


def ruleset_draft_update(
    *,
    version: int,
    changes: dict[str, Any],
    actor: AbstractBaseUser | None,
    expected_revision: int | None = None,
    replace: bool = False,
) -> RuleSet:
    """Change fields of a draft and record what changed; `replace` sends a whole document.

    `changes` holds top-level document fields, each replaced whole (a list of
    rules is one field). The merged document must be valid, else
    InvalidRuleSet is raised with the errors by path and nothing changes.
    `expected_revision` guards against overwriting someone else's edit.
    Returns the draft, unchanged when the document is the same.
    """
    with transaction.atomic():
        ruleset = RuleSet.objects.select_for_update().filter(version=version).first()
        if ruleset is None:
            raise RuleSetNotFound(f"Rule set version {version} does not exist.")
        if not ruleset.is_draft:
            raise RuleSetNotDraft(
                f"Rule set version {version} is {ruleset.status}; only drafts can be edited. "
                "Restore it as a new draft to change it."
            )
        if expected_revision is not None and expected_revision != ruleset.revision:
            raise RuleSetChanged(
                f"Draft version {version} was changed by someone else since you opened it "
                f"(revision {expected_revision}, now {ruleset.revision}); reload it and make "
                "your change again.",
                extra={"revision": ruleset.revision},
            )

        before = document_from_ruleset(ruleset)
        document = dict(changes) if replace else {**before, **changes}
        normalised, errors = validate_document(document)
        if errors:
            raise InvalidRuleSet(errors)
        details = describe_changes(before, normalised)
        if not details:
            return ruleset

        for name in DOCUMENT_FIELDS:
            setattr(ruleset, name, normalised[name])
        ruleset.revision += 1
        ruleset.updated_by = _user(actor)
        ruleset.save()
        ruleset_change_record(
            ruleset=ruleset, action=RuleSetChange.Action.EDITED, actor=actor, details=details
        )

    logger.info(
        "Edited draft rule set version %s, revision %s: %s changes",
        ruleset.version,
        ruleset.revision,
        len(details),
        extra={"ruleset_id": ruleset.pk},
    )
    return ruleset


def without_unused_group_caps(document: dict[str, Any]) -> dict[str, Any]:
    """Return the document without group caps whose group has no rule left.

    Deleting the last rule of a capped group would otherwise fail validation
    on a field the person did not touch.
    """
    groups = {
        rule.get("group")
        for list_name in ("fit_rules", "engagement_rules")
        for rule in document.get(list_name) or []
        if isinstance(rule, dict)
    }
    caps = document.get("group_caps") or {}
    return {
        **document,
        "group_caps": {group: cap for group, cap in caps.items() if group in groups},
    }


def _user(actor: AbstractBaseUser | None) -> Any:
    return actor if actor is not None and actor.is_authenticated else None
