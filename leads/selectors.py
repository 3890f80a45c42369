"""Read queries over leads and their events, shared by the pages and the API."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet

from leadflow.roles import MARKETING, REVOPS, SALES, SALES_MANAGER, user_roles
from leads.models import Account, EngagementEvent, Lead, LeadStatus

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
