"""Read queries over leads and their events, shared by the pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER, user_roles
from leads.models import Account, EngagementEvent, Lead, LeadStatus, StatusChange

# Roles that see every lead; a sales rep sees only the leads they own.
ALL_LEADS_ROLES = frozenset({MARKETING, REVOPS, SALES_MANAGER})


def leads_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Lead]:
    """Return the leads `user` may see, with the account and owner loaded for display.

    Marketing, revenue operations and sales managers see all leads, a sales rep
    only the leads they own, and a user without a role none.
    """
    leads = Lead.objects.select_related("account", "owner")
    roles = user_roles(user)
    if roles & ALL_LEADS_ROLES:
        return leads
    if SALES in roles:
        return leads.filter(owner_id=user.pk)
    return leads.none()


def lead_events(*, lead_id: int) -> QuerySet[EngagementEvent]:
    """Return a lead's engagement events, newest first."""
    return EngagementEvent.objects.filter(lead_id=lead_id).order_by("-occurred_at", "-id")


def events_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[EngagementEvent]:
    """Return the engagement events of the leads `user` may see, as leads_visible_to decides."""
    events = EngagementEvent.objects.all()
    roles = user_roles(user)
    if roles & ALL_LEADS_ROLES:
        return events
    if SALES in roles:
        return events.filter(lead__owner_id=user.pk)
    return events.none()


def account_list() -> QuerySet[Account]:
    """Return accounts with their owner and the number of their leads as `lead_count`."""
    return Account.objects.select_related("owner").annotate(lead_count=Count("leads"))


def account_lead_counts(*, account_id: int) -> dict[str, int]:
    """Return the number of the account's leads in each lifecycle status, zeros included."""
    counts = Lead.objects.filter(account_id=account_id).aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in LeadStatus.values}
    )
    return {status: counts[status] or 0 for status in LeadStatus.values}


# Lead fields a funnel can be split by: acquisition is credited to the first touch.
FUNNEL_GROUP_FIELDS = {
    "segment": "account__segment",
    "source": "first_touch_source",
    "campaign": "first_touch_campaign",
}
FUNNEL_STAGES = (LeadStatus.MQL, LeadStatus.SQL, LeadStatus.WON)


@dataclass(frozen=True)
class FunnelCounts:
    """Funnel numbers of one group of leads: current statuses and stages ever reached."""

    value: str | None
    leads: int
    statuses: dict[str, int]
    reached: dict[str, int]
    mql_to_sql: int
    sql_to_won: int

    @property
    def mql_to_sql_rate(self) -> float | None:
        return _rate(self.mql_to_sql, self.reached[LeadStatus.MQL])

    @property
    def sql_to_won_rate(self) -> float | None:
        return _rate(self.sql_to_won, self.reached[LeadStatus.SQL])


@dataclass(frozen=True)
class FunnelReport:
    since: datetime
    until: datetime
    group_by: str | None
    total: FunnelCounts
    groups: list[FunnelCounts]


def funnel_report(
    *,
    since: datetime,
    until: datetime,
    group_by: str | None = None,
    segment: str = "",
    source: str = "",
    campaign: str = "",
) -> FunnelReport:
    """Count the leads created in [since, until): their statuses now and the stages they reached.

    A lead reached a stage when the audit trail records a move to it, so a
    lead now lost still counts as having reached SQL. The MQL→SQL rate is the
    share of leads that reached MQL and later SQL; SQL→won likewise. One
    aggregate query, grouped by `group_by` when given; `segment`, `source`
    and `campaign` narrow the leads first (first touch, case-insensitive).
    """
    leads = Lead.objects.filter(created_at__gte=since, created_at__lt=until)
    if segment:
        leads = leads.filter(account__segment__iexact=segment)
    if source:
        leads = leads.filter(first_touch_source__iexact=source)
    if campaign:
        leads = leads.filter(first_touch_campaign__iexact=campaign)

    reached = {
        stage: Exists(StatusChange.objects.filter(lead_id=OuterRef("pk"), to_status=stage))
        for stage in FUNNEL_STAGES
    }
    aggregates: dict[str, Any] = {"leads": Count("pk")}
    for status in LeadStatus.values:
        aggregates[f"status_{status}"] = Count("pk", filter=Q(status=status))
    for stage, reached_stage in reached.items():
        aggregates[f"reached_{stage}"] = Count("pk", filter=Q(reached_stage))
    aggregates["mql_to_sql"] = Count(
        "pk", filter=Q(reached[LeadStatus.MQL]) & Q(reached[LeadStatus.SQL])
    )
    aggregates["sql_to_won"] = Count(
        "pk", filter=Q(reached[LeadStatus.SQL]) & Q(reached[LeadStatus.WON])
    )

    if group_by is None:
        total = _funnel_counts(None, leads.aggregate(**aggregates))
        return FunnelReport(since=since, until=until, group_by=None, total=total, groups=[])

    rows = leads.values(group_value=F(FUNNEL_GROUP_FIELDS[group_by])).annotate(**aggregates)
    # Leads without an account and those with an empty field form one group, value None.
    merged: dict[str | None, dict[str, int]] = {}
    for row in rows:
        value = row.pop("group_value") or None
        bucket = merged.setdefault(value, dict.fromkeys(aggregates, 0))
        for name in aggregates:
            bucket[name] += row[name]
    groups = sorted(
        (_funnel_counts(value, counts) for value, counts in merged.items()),
        key=lambda group: (-group.leads, group.value or ""),
    )
    totals = {
        name: sum(group_counts[name] for group_counts in merged.values()) for name in aggregates
    }
    return FunnelReport(
        since=since,
        until=until,
        group_by=group_by,
        total=_funnel_counts(None, totals),
        groups=groups,
    )


def _funnel_counts(value: str | None, counts: dict[str, Any]) -> FunnelCounts:
    return FunnelCounts(
        value=value,
        leads=counts["leads"] or 0,
        statuses={status: counts[f"status_{status}"] or 0 for status in LeadStatus.values},
        reached={stage: counts[f"reached_{stage}"] or 0 for stage in FUNNEL_STAGES},
        mql_to_sql=counts["mql_to_sql"] or 0,
        sql_to_won=counts["sql_to_won"] or 0,
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
