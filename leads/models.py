"""Accounts, leads, engagement events and the lifecycle audit trail."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from leads.normalize import normalize_email

ACCOUNT_NAME_MAX_LENGTH = 200


class Account(models.Model):
    """A company: the plant, lab or headquarters that leads work for."""

    name = models.CharField(max_length=ACCOUNT_NAME_MAX_LENGTH)
    # Lower-case host without scheme, "www." or path; see leads.normalize.normalize_domain.
    domain = models.CharField(max_length=253, unique=True, null=True, blank=True)
    segment = models.CharField(max_length=64, blank=True, db_index=True)
    facility_type = models.CharField(max_length=64, blank=True)
    country = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=64, blank=True, db_index=True)
    city = models.CharField(max_length=100, blank=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue_usd = models.BigIntegerField(null=True, blank=True)
    processes = models.JSONField(
        default=list, blank=True, help_text="Processes in use, such as cnc_machining."
    )
    technologies = models.JSONField(
        default=list, blank=True, help_text="Systems in use, such as erp or mes."
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="subsidiaries"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    custom_attributes = models.JSONField(default=dict, blank=True)

    # Roll-up of the engagement of the account's leads, refreshed by scoring.
    engagement_score = models.FloatField(default=0)
    engaged_contacts = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def name_for(cls, *, domain: str, company_name: str = "") -> str:
        """Return the name of a new account: the company name given, else its domain, cut to fit.

        A domain may have up to 253 characters and the name column 200, so a long domain
        is shortened rather than failing the insert.
        """
        return (company_name or domain)[:ACCOUNT_NAME_MAX_LENGTH]

    @property
    def employee_band(self) -> str:
        from leads.normalize import employee_band

        return employee_band(self.employee_count)

    @property
    def revenue_band(self) -> str:
        from leads.normalize import revenue_band

        return revenue_band(self.annual_revenue_usd)


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    MQL = "mql", "MQL"
    SQL = "sql", "SQL"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    NURTURE = "nurture", "Nurture"
    DISQUALIFIED = "disqualified", "Disqualified"


class LeadQuerySet(models.QuerySet["Lead"]):
    def with_emails(self, emails: Iterable[str]) -> LeadQuerySet:
        """Filter to the leads with these e-mail addresses, whatever the case of either.

        The lookup goes through lower(email), the index of the case-insensitive unique
        constraint; `email__iexact` compares upper() and scans the table instead. SQLite's
        lower() folds ASCII letters only, so there a stored non-ASCII capital is missed;
        Lead.save stores addresses lower-case, which makes that case rare.
        """
        addresses = sorted({normalize_email(address) or "" for address in emails})
        return self.alias(email_lower=Lower("email")).filter(
            email__isnull=False, email_lower__in=addresses
        )


class Lead(models.Model):
    """A person marketing attracted, with the scores that decide whether sales sees them."""

    Status = LeadStatus

    # Stored lower-case; unique case-insensitively through the constraint below.
    email = models.EmailField(max_length=254, null=True, blank=True)  # noqa: DJ001 NULL stays out of the unique index
    # A lead without an e-mail address is identified by its id in the system it came from.
    source_system = models.CharField(max_length=64, blank=True, default="")
    external_id = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001 as for email

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    job_function = models.CharField(max_length=40, blank=True, db_index=True)
    seniority = models.CharField(max_length=40, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    country = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=64, blank=True, db_index=True)
    city = models.CharField(max_length=100, blank=True)

    # First and last touch, in UTM terms.
    first_touch_source = models.CharField(max_length=100, blank=True, db_index=True)
    first_touch_medium = models.CharField(max_length=100, blank=True)
    first_touch_campaign = models.CharField(max_length=200, blank=True)
    last_touch_source = models.CharField(max_length=100, blank=True)
    last_touch_medium = models.CharField(max_length=100, blank=True)
    last_touch_campaign = models.CharField(max_length=200, blank=True)

    interests = models.JSONField(
        default=list, blank=True, help_text="Product categories the lead asked about."
    )
    email_opt_out = models.BooleanField(default=False)
    call_opt_out = models.BooleanField(default=False)
    marketing_notes = models.TextField(blank=True)
    # Source columns that map to no field, kept as they arrived.
    custom_attributes = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
    )

    fit_score = models.IntegerField(default=0)
    engagement_score = models.FloatField(default=0)
    ruleset_version = models.PositiveIntegerField(null=True, blank=True)
    # {"fit": [...], "engagement": [...], ...}: which rule gave how many points from which events.
    score_breakdown = models.JSONField(default=dict, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    # Set whenever an input of the score changes; cleared by the scorer. The sweep re-enqueues these.
    score_stale = models.BooleanField(default=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LeadQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="lead_email_unique_ci",
                condition=Q(email__isnull=False),
                violation_error_message=(
                    "Another lead already has this e-mail address, in the same or another "
                    "case; edit that lead instead."
                ),
            ),
            models.UniqueConstraint(
                fields=["source_system", "external_id"],
                name="lead_external_id_unique",
                condition=Q(external_id__isnull=False),
                violation_error_message=(
                    "Another lead already has this external id in this source system; edit "
                    "that lead instead."
                ),
            ),
            models.CheckConstraint(
                condition=Q(email__isnull=False) | Q(external_id__isnull=False),
                name="lead_has_email_or_external_id",
                violation_error_message=(
                    "A lead needs an e-mail address, or an external id from its source system."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status__in=LeadStatus.values),
                name="lead_status_valid",
                violation_error_message=(
                    f"The status is not a lead status; use one of {', '.join(LeadStatus.values)}."
                ),
            ),
        ]
        indexes = [
            # MQL queue: status filter, ordered by score or date.
            models.Index(
                fields=["status", "-engagement_score", "-id"], name="lead_status_engagement"
            ),
            models.Index(fields=["status", "-fit_score", "-id"], name="lead_status_fit"),
            models.Index(
                fields=["status", "-status_changed_at", "-id"], name="lead_status_changed"
            ),
            # Stale-score sweep.
            models.Index(fields=["id"], name="lead_score_stale", condition=Q(score_stale=True)),
            models.Index(fields=["-updated_at"], name="lead_updated"),
            # MQL queue page, keyset pages of each sort in leads.page_filters.SORT_KEYS, such
            # as WHERE status = 'mql' AND (fit_score, engagement_score, id) < (…) ORDER BY
            # fit_score DESC, engagement_score DESC, id DESC. Partial, so that only MQL
            # leads pay for them when written.
            models.Index(
                fields=["-fit_score", "-engagement_score", "-id"],
                name="lead_mql_fit",
                condition=Q(status=LeadStatus.MQL),
            ),
            models.Index(
                fields=["-engagement_score", "-fit_score", "-id"],
                name="lead_mql_engagement",
                condition=Q(status=LeadStatus.MQL),
            ),
            models.Index(
                fields=["-status_changed_at", "-id"],
                name="lead_mql_since",
                condition=Q(status=LeadStatus.MQL),
            ),
            # MQL queue filter menus: one index entry per distinct value, read by the skip
            # scans of leads.page_selectors.queue_filter_options. The account id lets the
            # queue count the MQL leads of a region and segment from the index alone.
            models.Index(
                fields=["region", "account"],
                name="lead_mql_region",
                condition=Q(status=LeadStatus.MQL),
            ),
            models.Index(
                fields=["first_touch_source"],
                name="lead_mql_source",
                condition=Q(status=LeadStatus.MQL),
            ),
            models.Index(
                fields=["account"], name="lead_mql_account", condition=Q(status=LeadStatus.MQL)
            ),
            # API lead list in its default order: ORDER BY created_at DESC, id DESC.
            models.Index(fields=["-created_at", "-id"], name="lead_created"),
            # The same list filtered by status: without it, the MQL leads of a region read
            # 5,000 leads through lead_created for a page of 50 (64 ms with 1,000,000 leads).
            models.Index(fields=["status", "-created_at", "-id"], name="lead_status_created"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every path that saves a lead, the Django admin included, stores the address
        # lower-case and stripped, as the API and the importer send it. A blank address
        # becomes NULL, which the unique index leaves out.
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"{self.source_system}:{self.external_id}"

    @property
    def email_domain(self) -> str:
        return self.email.rsplit("@", 1)[-1].lower() if self.email and "@" in self.email else ""


class EventKind(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    FORM_SUBMIT = "form_submit", "Form submit"
    CONTENT_DOWNLOAD = "content_download", "Content download"
    CAD_DOWNLOAD = "cad_download", "CAD download"
    SPEC_SHEET_DOWNLOAD = "spec_sheet_download", "Spec sheet download"
    WEBINAR_ATTENDED = "webinar_attended", "Webinar attended"
    EMAIL_OPEN = "email_open", "Email open"
    EMAIL_CLICK = "email_click", "Email click"
    TRADE_SHOW_VISIT = "trade_show_visit", "Trade show visit"
    SAMPLE_REQUEST = "sample_request", "Sample request"
    QUOTE_REQUEST = "quote_request", "Quote/RFQ request"
    DEMO_REQUEST = "demo_request", "Demo request"
    MEETING_REQUEST = "meeting_request", "Meeting request"
    TECHNICAL_CONSULTATION = "technical_consultation", "Technical consultation request"
    CHAT = "chat", "Chat conversation"
    PHONE_CALL = "phone_call", "Phone call"
    WEBSITE_VISIT = "website_visit", "Website visit"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe"
    OTHER = "other", "Other"


class EngagementEvent(models.Model):
    """Something a lead did. Append-only: the source of truth for engagement scores."""

    Kind = EventKind

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    url = models.CharField(max_length=2000, blank=True)
    asset = models.CharField(max_length=255, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    # Sending the same event twice stores it once; see leads.services.events_ingest.
    external_id = models.CharField(max_length=200, unique=True)
    source = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # Scoring aggregates a lead's events; the timeline lists them newest first.
            models.Index(fields=["lead", "-occurred_at"], name="event_lead_occurred"),
            # API event list: cursor pages across leads, newest first.
            models.Index(fields=["-occurred_at", "-id"], name="event_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk and not kwargs.get("force_insert"):
            raise ValueError("Engagement events are append-only and cannot be changed.")
        super().save(*args, **kwargs)


class StatusChange(models.Model):
    """One step of a lead's lifecycle. Append-only audit trail written by leads.services.lead_transition."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=LeadStatus.choices)
    to_status = models.CharField(max_length=20, choices=LeadStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The system rule that made the change when no user did, such as "scoring.thresholds".
    rule = models.CharField(max_length=100, blank=True)
    reason = models.TextField(blank=True)
    ruleset_version = models.PositiveIntegerField(null=True, blank=True)
    fit_score = models.IntegerField(null=True, blank=True)
    engagement_score = models.FloatField(null=True, blank=True)
    # A default rather than auto_now_add, so lead_transition can date a change it is given the time of.
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    objects: ClassVar[models.Manager[StatusChange]] = models.Manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["lead", "-created_at"], name="statuschange_lead_created")]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk and not kwargs.get("force_insert"):
            raise ValueError("Status changes are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Status changes are append-only and cannot be deleted.")
