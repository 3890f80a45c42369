"""Reads shared by the handoff pages and API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce
from django.utils import timezone

from handoff.models import (
    OUTCOME_REASONS,
    Handoff,
    HandoffEvent,
    HandoffStatus,
    Outcome,
    RejectReason,
    Rep,
    RoutingRule,
)
from handoff.sla import business_hours_between, calendar_for_rep
from leadflow.roles import MARKETING, REVOPS, SALES_MANAGER, has_role
from leads.models import Lead

User = AbstractBaseUser | AnonymousUser
UserModel = get_user_model()


def handoff_queryset() -> QuerySet[Handoff]:
    return Handoff.objects.select_related(
        "lead",
        "lead__account",
        "rep__user",
        "technical_expert__user",
        "routing_rule",
        "sent_by",
        "escalated_to",
    )


def sees_all_handoffs(user: User) -> bool:
    return has_role(user, MARKETING, SALES_MANAGER, REVOPS)


def handoffs_visible_to(user: User) -> QuerySet[Handoff]:
    """Return every handoff for marketing, managers and revenue operations, else the user's own.

    A rep's own handoffs are those assigned to them and those where they are the technical expert.
    """
    queryset = handoff_queryset()
    if sees_all_handoffs(user):
        return queryset
    return queryset.filter(Q(rep__user_id=user.pk) | Q(technical_expert__user_id=user.pk))


def handoffs_actionable_by(user: User) -> QuerySet[Handoff]:
    """Return the handoffs a user may act on, which adds the fallback queue a rep may claim to those they see."""
    if sees_all_handoffs(user):
        return handoff_queryset()
    return handoff_queryset().filter(
        Q(rep__user_id=user.pk)
        | Q(technical_expert__user_id=user.pk)
        | Q(rep__isnull=True, status=HandoffStatus.PENDING)
    )


def rep_for_user(user: User) -> Rep | None:
    if not user.is_authenticated:
        return None
    return Rep.objects.select_related("user").filter(user_id=user.pk).first()


def user_has_rep_profile(user: User) -> bool:
    return user.is_authenticated and Rep.objects.filter(user_id=user.pk).exists()


def revops_contacts(limit: int = 5) -> list[str]:
    """Return the names of up to `limit` active revenue-operations users, who create rep profiles."""
    users = (
        UserModel.objects.filter(is_active=True, groups__name=REVOPS)
        .order_by("last_name", "first_name", "username")
        .distinct()[:limit]
    )
    return [user.get_full_name() or user.get_username() for user in users]


def rep_pending(rep: Rep) -> QuerySet[Handoff]:
    return handoff_queryset().filter(rep=rep, status=HandoffStatus.PENDING).order_by("due_at", "id")


def rep_open_sqls(rep: Rep) -> QuerySet[Handoff]:
    """Accepted handoffs the rep has not closed as won or lost yet."""
    return (
        handoff_queryset()
        .filter(rep=rep, status=HandoffStatus.ACCEPTED, outcome="")
        .order_by("next_step_date", "id")
    )


def expert_pending(rep: Rep) -> QuerySet[Handoff]:
    return handoff_queryset().filter(technical_expert=rep, status=HandoffStatus.PENDING)


def fallback_queue() -> QuerySet[Handoff]:
    return (
        handoff_queryset()
        .filter(rep__isnull=True, status=HandoffStatus.PENDING)
        .order_by("created_at")
    )


def reps_with_load() -> QuerySet[Rep]:
    """Reps with their count of pending handoffs as `open_count`, for capacity displays."""
    return (
        Rep.objects.select_related("user", "manager", "home_territory")
        .prefetch_related("territories")
        .annotate(open_count=Count("handoffs", filter=Q(handoffs__status=HandoffStatus.PENDING)))
        .order_by("user__last_name", "user__first_name", "id")
    )


def manager_open_handoffs(
    *, now: dt.datetime | None = None, only_overdue: bool = False
) -> QuerySet[Handoff]:
    """Return pending handoffs, oldest first, optionally only those past their due time."""
    now = now or timezone.now()
    queryset = (
        handoff_queryset()
        .filter(status=HandoffStatus.PENDING)
        .select_related("rep__home_territory")
        .prefetch_related("rep__territories")
        .order_by("created_at", "id")
    )
    if only_overdue:
        queryset = queryset.filter(due_at__lte=now)
    return queryset


def with_age(handoffs: list[Handoff], *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Pair each handoff with its business-hours age since marketing sent the lead, and overdue state.

    Reassignment opens a new handoff, so the age counts from the lead's latest
    `sent` event, found for all rows in one query.
    """
    now = now or timezone.now()
    sent_at = dict(
        HandoffEvent.objects.filter(
            kind="sent", lead_id__in={handoff.lead_id for handoff in handoffs}
        )
        .values("lead_id")
        .annotate(latest=Max("created_at"))
        .values_list("lead_id", "latest")
    )
    rows = []
    for handoff in handoffs:
        chain_start = min(sent_at.get(handoff.lead_id) or handoff.created_at, handoff.created_at)
        rows.append(
            {
                "handoff": handoff,
                "age_hours": business_hours_between(
                    chain_start, now, calendar_for_rep(handoff.rep)
                ),
                "overdue": handoff.due_at is not None and handoff.due_at <= now,
                "sent_at": chain_start,
            }
        )
    return rows


def recent_breaches(*, limit: int = 50) -> QuerySet[HandoffEvent]:
    return (
        HandoffEvent.objects.filter(kind="sla_breached")
        .select_related("handoff__lead", "rep__user")
        .order_by("-created_at")[:limit]
    )


FEEDBACK_FILTERS = ("reason", "segment", "campaign", "rule", "kind")


def feedback_queryset(filters: dict[str, str] | None = None) -> QuerySet[Handoff]:
    """Rejected handoffs and closed SQLs, newest feedback first, for marketing's feedback list.

    A closed SQL's feedback is its outcome, so it sorts by when it was closed, not accepted.
    """
    filters = filters or {}
    queryset = (
        handoff_queryset()
        .filter(Q(status=HandoffStatus.REJECTED) | ~Q(outcome=""))
        .annotate(feedback_at=Coalesce("closed_at", "decided_at"))
        .order_by(F("feedback_at").desc(nulls_last=True), "-id")
    )
    kind = filters.get("kind")
    if kind == "rejected":
        queryset = queryset.filter(status=HandoffStatus.REJECTED)
    elif kind in ("won", "lost"):
        queryset = queryset.filter(outcome=kind)
    if filters.get("reason"):
        queryset = queryset.filter(
            Q(reject_reason=filters["reason"]) | Q(outcome_reason=filters["reason"])
        )
    if filters.get("segment"):
        queryset = queryset.filter(lead__account__segment__iexact=filters["segment"])
    if filters.get("campaign"):
        queryset = queryset.filter(
            Q(lead__first_touch_campaign__iexact=filters["campaign"])
            | Q(lead__last_touch_campaign__iexact=filters["campaign"])
        )
    rule = filters.get("rule") or ""
    if rule.isdigit():
        queryset = queryset.filter(routing_rule_id=int(rule))
    return queryset


def feedback_summary(queryset: QuerySet[Handoff]) -> list[dict[str, Any]]:
    """Count rejections and outcomes per reason, for the head of the feedback list."""
    rows: dict[tuple[str, str], int] = {}
    for status, reject_reason, outcome, outcome_reason in queryset.values_list(
        "status", "reject_reason", "outcome", "outcome_reason"
    ):
        key = (
            ("rejected", reject_reason)
            if status == HandoffStatus.REJECTED
            else (outcome, outcome_reason)
        )
        rows[key] = rows.get(key, 0) + 1
    return [
        {"kind": kind, "reason": reason, "count": count}
        for (kind, reason), count in sorted(rows.items(), key=lambda item: (-item[1], item[0]))
    ]


def lead_handoffs(lead: Lead) -> QuerySet[Handoff]:
    return handoff_queryset().filter(lead=lead).order_by("-created_at", "-id")


def lead_handoff_events(lead: Lead) -> QuerySet[HandoffEvent]:
    return (
        HandoffEvent.objects.filter(lead=lead)
        .select_related("actor", "rep__user")
        .order_by("created_at", "id")
    )


def routing_rules() -> QuerySet[RoutingRule]:
    return RoutingRule.objects.prefetch_related("reps__user", "territories").order_by(
        "position", "id"
    )


def assignment_table() -> list[dict[str, Any]]:
    """Pending handoffs per rep and per routing rule, with capacity, for the routing report."""
    counts: dict[tuple[int | None, int | None], int] = {}
    for rep_id, rule_id, count in (
        Handoff.objects.filter(status=HandoffStatus.PENDING)
        .values_list("rep_id", "routing_rule_id")
        .annotate(count=Count("id"))
        .values_list("rep_id", "routing_rule_id", "count")
    ):
        counts[(rep_id, rule_id)] = count

    rows = []
    for rep in reps_with_load():
        per_rule = {
            rule_id: count for (rep_id, rule_id), count in counts.items() if rep_id == rep.pk
        }
        rows.append(
            {
                "rep": rep,
                "open": rep.open_count,  # type: ignore[attr-defined]
                "capacity": rep.capacity,
                "per_rule": per_rule,
            }
        )
    return rows


# --- Feedback report --------------------------------------------------------------------------

# Plain strings rather than the enum members, as keys of the report and of its schema.
LOSS_REASONS: tuple[str, ...] = tuple(str(reason) for reason in OUTCOME_REASONS[Outcome.LOST])
# Expressions that key the feedback groups. The rule-set version is the one that scored the lead
# when marketing sent it, as the handoff's context snapshot recorded it.
FEEDBACK_GROUP_EXPRESSIONS: dict[str, Any] = {
    "rep": F("rep_id"),
    "segment": F("lead__account__segment"),
    "campaign": F("lead__first_touch_campaign"),
    "ruleset_version": KeyTransform("ruleset_version", "context"),
}


@dataclass(frozen=True)
class FeedbackCounts:
    """Rejections and losses of one group of handoffs, per reason."""

    value: str | None
    label: str | None
    reject_reasons: dict[str, int]
    loss_reasons: dict[str, int]

    @property
    def rejected(self) -> int:
        return sum(self.reject_reasons.values())

    @property
    def lost(self) -> int:
        return sum(self.loss_reasons.values())


@dataclass(frozen=True)
class FeedbackReport:
    since: dt.datetime
    until: dt.datetime
    group_by: str | None
    total: FeedbackCounts
    groups: list[FeedbackCounts]


def handoff_feedback_report(
    *,
    since: dt.datetime,
    until: dt.datetime,
    group_by: str | None = None,
    segment: str = "",
    campaign: str = "",
) -> FeedbackReport:
    """Count the handoffs rejected and the SQLs lost in [since, until), per reason.

    A rejection counts when it was decided in the range, a loss when the SQL
    was closed in it. One aggregate query, grouped by `group_by` when given
    (see FEEDBACK_GROUP_EXPRESSIONS), and one more for rep names. `segment` and
    `campaign` (first touch) narrow the handoffs first, case-insensitively.
    """
    rejected = Q(status=HandoffStatus.REJECTED, decided_at__gte=since, decided_at__lt=until)
    lost = Q(outcome=Outcome.LOST, closed_at__gte=since, closed_at__lt=until)
    handoffs = Handoff.objects.filter(rejected | lost)
    if segment:
        handoffs = handoffs.filter(lead__account__segment__iexact=segment)
    if campaign:
        handoffs = handoffs.filter(lead__first_touch_campaign__iexact=campaign)

    aggregates: dict[str, Any] = {
        f"rejected_{reason}": Count("pk", filter=rejected & Q(reject_reason=reason))
        for reason in RejectReason.values
    }
    aggregates.update(
        {
            f"lost_{reason}": Count("pk", filter=lost & Q(outcome_reason=reason))
            for reason in LOSS_REASONS
        }
    )

    if group_by is None:
        total = _feedback_counts(None, None, handoffs.aggregate(**aggregates))
        return FeedbackReport(since=since, until=until, group_by=None, total=total, groups=[])

    rows = (
        handoffs.values(group_value=FEEDBACK_GROUP_EXPRESSIONS[group_by])
        .annotate(**aggregates)
        .order_by()
    )
    # Handoffs without a value, such as leads without an account, form one group, value None.
    merged: dict[str | None, dict[str, int]] = {}
    for row in rows:
        raw = row.pop("group_value")
        value = None if raw in (None, "") else str(raw)
        bucket = merged.setdefault(value, dict.fromkeys(aggregates, 0))
        for name in aggregates:
            bucket[name] += row[name]

    labels = _rep_labels(merged) if group_by == "rep" else {}
    groups = sorted(
        (
            _feedback_counts(value, labels.get(value, value), counts)
            for value, counts in merged.items()
        ),
        key=lambda group: (-(group.rejected + group.lost), group.value is None, group.value or ""),
    )
    totals = {name: sum(counts[name] for counts in merged.values()) for name in aggregates}
    return FeedbackReport(
        since=since,
        until=until,
        group_by=group_by,
        total=_feedback_counts(None, None, totals),
        groups=groups,
    )


def _rep_labels(groups: Mapping[str | None, Any]) -> dict[str | None, str | None]:
    """Return the rep's name for each rep group. The group without a rep is the fallback queue."""
    rep_ids = [int(value) for value in groups if value is not None]
    reps = Rep.objects.select_related("user").filter(pk__in=rep_ids)
    labels: dict[str | None, str | None] = {str(rep.pk): rep.display_name for rep in reps}
    labels[None] = "Fallback queue"
    return labels


def _feedback_counts(
    value: str | None, label: str | None, counts: Mapping[str, Any]
) -> FeedbackCounts:
    return FeedbackCounts(
        value=value,
        label=label,
        reject_reasons={
            reason: counts[f"rejected_{reason}"] or 0 for reason in RejectReason.values
        },
        loss_reasons={reason: counts[f"lost_{reason}"] or 0 for reason in LOSS_REASONS},
    )
