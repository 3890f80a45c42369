"""Reps, territories, routing rules, handoffs and their append-only audit trail.

A handoff is one assignment of an MQL to one rep (or to the fallback queue when
no rep fits). Reassignment closes the handoff as `reassigned` and opens a new
one for the next rep, so every row keeps the decision and the routing trace of
its own assignment.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone as django_timezone

# Limits far above any real team and far below PostgreSQL's integer maximum, so that a typo is an
# input error rather than a database error. Positions leave room for the +10 of a new last rule.
MAX_REP_CAPACITY = 1_000
MAX_RULE_POSITION = 1_000_000


def default_work_days() -> list[int]:
    return [0, 1, 2, 3, 4]


class Territory(models.Model):
    """A sales region (a regional office) and the business calendar its reps work by.

    SLA due times are counted in the business hours of the assigned rep's home territory.
    """

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    timezone = models.CharField(
        max_length=64, default="UTC", help_text="IANA time zone, such as America/Chicago."
    )
    # Weekday numbers as Python counts them: Monday is 0, Sunday is 6.
    work_days = models.JSONField(default=default_work_days, blank=True)
    day_start = models.TimeField(default=dt.time(9, 0))
    day_end = models.TimeField(default=dt.time(17, 0))
    holidays = models.JSONField(
        default=list, blank=True, help_text="Dates without business hours, as YYYY-MM-DD."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(day_end__gt=models.F("day_start")), name="territory_day_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Rep(models.Model):
    """The sales profile of a user: where they sell, what, and how many open handoffs they take."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep"
    )
    territories = models.ManyToManyField(Territory, blank=True, related_name="reps")
    # Business hours for the rep's SLA; the first territory by name when not set.
    home_territory = models.ForeignKey(
        Territory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    segments = models.JSONField(
        default=list, blank=True, help_text="Account segments the rep sells to; empty for all."
    )
    product_lines = models.JSONField(
        default=list, blank=True, help_text="Product lines the rep sells; empty for all."
    )
    capacity = models.PositiveIntegerField(
        default=25,
        validators=[MaxValueValidator(MAX_REP_CAPACITY)],
        help_text="Maximum pending handoffs the rep holds at once.",
    )
    is_technical_expert = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    out_of_office_until = models.DateField(
        null=True, blank=True, help_text="Last day of absence; the rep is routed to again after it."
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_reps",
        help_text="The sales manager who receives this rep's SLA escalations.",
    )
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Rep]] = models.Manager()

    class Meta:
        ordering = ["user__last_name", "user__first_name", "user__username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        name = f"{self.user.first_name} {self.user.last_name}".strip()
        return name or self.user.get_username()

    def is_out_of_office(self, on: dt.date) -> bool:
        return self.out_of_office_until is not None and on <= self.out_of_office_until


class RoutingStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    LEAST_LOADED = "least_loaded", "Least loaded"


class RoutingRule(models.Model):
    """One step of the ordered routing: which leads it takes and the pool of reps it shares them with.

    An empty condition list matches every lead. The pool is the listed reps plus
    every rep in the listed territories.
    """

    Strategy = RoutingStrategy

    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(
        default=100,
        validators=[MaxValueValidator(MAX_RULE_POSITION)],
        help_text="Lower positions are tried first.",
    )
    is_active = models.BooleanField(default=True)
    regions = models.JSONField(
        default=list, blank=True, help_text="Lead regions, such as europe; empty for any."
    )
    segments = models.JSONField(
        default=list, blank=True, help_text="Account segments, such as automotive; empty for any."
    )
    product_interests = models.JSONField(
        default=list,
        blank=True,
        help_text="Product interests; a lead matches when it shares one. Empty for any.",
    )
    territories = models.ManyToManyField(Territory, blank=True, related_name="routing_rules")
    reps = models.ManyToManyField(Rep, blank=True, related_name="routing_rules")
    strategy = models.CharField(
        max_length=20, choices=RoutingStrategy.choices, default=RoutingStrategy.ROUND_ROBIN
    )
    sla_hours = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=8,
        help_text="Business hours of the rep's territory the rep has to accept or reject.",
    )
    # Round-robin cursor: the next assignment goes to the first eligible rep after this one.
    last_assigned_rep = models.ForeignKey(
        Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[models.Manager[RoutingRule]] = models.Manager()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class ContextField(models.TextChoices):
    JOB_TITLE = "job_title", "Job title"
    PHONE = "phone", "Phone"
    ACCOUNT = "account", "Account"
    INTERESTS = "interests", "Product interests"
    CAMPAIGN_SOURCE = "campaign_source", "Campaign source"
    QUALIFYING_ENGAGEMENT = "qualifying_engagement", "Qualifying engagement"
    SCORE_BREAKDOWN = "score_breakdown", "Score breakdown"
    MARKETING_NOTES = "marketing_notes", "Marketing notes"


class QualificationField(models.TextChoices):
    CONFIRMED_NEED = "confirmed_need", "Confirmed need"
    PROCESS_FIT = "process_fit", "Process fit"
    NEXT_STEP = "next_step", "Next step"
    NEXT_STEP_DATE = "next_step_date", "Next step date"
    TECHNICAL_REQUIREMENTS = "technical_requirements", "Technical requirements"
    ACCEPTANCE_CRITERIA = "acceptance_criteria", "Acceptance criteria"
    INTEGRATION_CONSTRAINTS = "integration_constraints", "Integration constraints"


# Maximum length of the text a rep records in one qualification field, as for the API's notes.
MAX_QUALIFICATION_LENGTH = 10_000
# Maximum length of the Handoff.next_step column.
MAX_NEXT_STEP_LENGTH = 300
# A next-step date further ahead than this is taken for a typing error, such as 2206 for 2026.
MAX_NEXT_STEP_YEARS = 2


def default_required_context() -> list[str]:
    return [ContextField.INTERESTS, ContextField.CAMPAIGN_SOURCE]


def default_required_qualification() -> list[str]:
    return [
        QualificationField.CONFIRMED_NEED,
        QualificationField.NEXT_STEP,
        QualificationField.NEXT_STEP_DATE,
    ]


def default_auto_event_kinds() -> list[str]:
    return ["quote_request", "demo_request", "meeting_request", "technical_consultation"]


class HandoffSettings(models.Model):
    """The one row of handoff configuration admins edit (always pk=1).

    Routing decisions lock this row, so capacity counts and round-robin cursors
    never race between two simultaneous assignments.
    """

    required_context_fields = models.JSONField(default=default_required_context, blank=True)
    required_qualification_fields = models.JSONField(
        default=default_required_qualification, blank=True
    )
    default_sla_hours = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=8,
        help_text="Business hours to respond when no routing rule sets its own (account owner, queue).",
    )
    auto_handoff_enabled = models.BooleanField(default=False)
    auto_fit_threshold = models.IntegerField(
        default=60, help_text="Minimum fit score for the automatic handoff."
    )
    auto_event_kinds = models.JSONField(
        default=default_auto_event_kinds,
        blank=True,
        help_text="High-intent event kinds; the lead needs one of them within the window.",
    )
    auto_window_days = models.PositiveIntegerField(default=30)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[models.Manager[HandoffSettings]] = models.Manager()

    class Meta:
        verbose_name = "handoff settings"
        verbose_name_plural = "handoff settings"

    def __str__(self) -> str:
        return "Handoff settings"


class HandoffStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    REASSIGNED = "reassigned", "Reassigned"
    WITHDRAWN = "withdrawn", "Withdrawn"


class RejectReason(models.TextChoices):
    NOT_A_FIT = "not_a_fit", "Not a fit"
    NO_ACTIVE_NEED = "no_active_need", "No active need"
    WRONG_CONTACT = "wrong_contact", "Wrong contact"
    DUPLICATE = "duplicate", "Duplicate"
    BAD_TIMING = "bad_timing", "Bad timing"


class Outcome(models.TextChoices):
    WON = "won", "Won"
    LOST = "lost", "Lost"


class OutcomeReason(models.TextChoices):
    # Won
    PRODUCT_FIT = "product_fit", "Product fit"
    PRICE = "price", "Price"
    RELATIONSHIP = "relationship", "Relationship"
    SERVICE_AND_SUPPORT = "service_and_support", "Service and support"
    # Lost
    LOST_TO_COMPETITOR = "lost_to_competitor", "Lost to a competitor"
    NO_BUDGET = "no_budget", "No budget"
    NO_DECISION = "no_decision", "No decision"
    PRODUCT_GAP = "product_gap", "Product gap"
    TOO_EXPENSIVE = "too_expensive", "Too expensive"
    TIMING = "timing", "Timing"
    OTHER = "other", "Other"


# The reasons that fit each outcome; OTHER fits both.
OUTCOME_REASONS: dict[str, tuple[str, ...]] = {
    Outcome.WON: (
        OutcomeReason.PRODUCT_FIT,
        OutcomeReason.PRICE,
        OutcomeReason.RELATIONSHIP,
        OutcomeReason.SERVICE_AND_SUPPORT,
        OutcomeReason.OTHER,
    ),
    Outcome.LOST: (
        OutcomeReason.LOST_TO_COMPETITOR,
        OutcomeReason.NO_BUDGET,
        OutcomeReason.NO_DECISION,
        OutcomeReason.PRODUCT_GAP,
        OutcomeReason.TOO_EXPENSIVE,
        OutcomeReason.TIMING,
        OutcomeReason.OTHER,
    ),
}


class Handoff(models.Model):
    """One assignment of an MQL to a rep, with the context snapshot the rep decides on."""

    Status = HandoffStatus
    OPEN_STATUSES = (HandoffStatus.PENDING,)

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="handoffs")
    status = models.CharField(
        max_length=20, choices=HandoffStatus.choices, default=HandoffStatus.PENDING
    )
    # Null while the handoff waits in the fallback queue.
    rep = models.ForeignKey(
        Rep, null=True, blank=True, on_delete=models.PROTECT, related_name="handoffs"
    )
    technical_expert = models.ForeignKey(
        Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="expert_handoffs"
    )
    routing_rule = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="handoffs"
    )
    # Why this rep: the step that decided, the rule, and every candidate skipped with its reason.
    routing = models.JSONField(default=dict, blank=True)
    # What the rep needs to decide, frozen at send time; see handoff.context.
    context = models.JSONField(default=dict, blank=True)
    marketing_notes = models.TextField(blank=True)

    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The system rule that sent it when no user did, such as "handoff.auto".
    sent_rule = models.CharField(max_length=100, blank=True)
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next"
    )
    # A default rather than auto_now_add, so the services can date a handoff with their `now`.
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)
    due_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Breaches along the reassignment chain so far, this handoff's included once it breaches.
    breach_count = models.PositiveIntegerField(default=0)

    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    qualification = models.JSONField(default=dict, blank=True)
    next_step = models.CharField(max_length=MAX_NEXT_STEP_LENGTH, blank=True)
    next_step_date = models.DateField(null=True, blank=True)
    reject_reason = models.CharField(max_length=30, choices=RejectReason.choices, blank=True)
    reject_note = models.TextField(blank=True)

    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    outcome_reason = models.CharField(max_length=30, choices=OutcomeReason.choices, blank=True)
    outcome_note = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Handoff]] = models.Manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"], condition=Q(status="pending"), name="handoff_one_open_per_lead"
            ),
            models.CheckConstraint(
                condition=Q(status__in=HandoffStatus.values), name="handoff_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reject_reason=""),
                name="handoff_rejected_has_reason",
            ),
        ]
        indexes = [
            # API list: every handoff by creation time, read in cursor pages from either end.
            models.Index(fields=["created_at", "id"], name="handoff_created"),
            # Rep inbox and capacity counts: a rep's pending handoffs.
            models.Index(fields=["rep", "status", "-created_at"], name="handoff_rep_status"),
            # SLA sweep: pending handoffs by due time.
            models.Index(
                fields=["due_at"], name="handoff_pending_due", condition=Q(status="pending")
            ),
            # Feedback list: decided handoffs, newest first.
            models.Index(fields=["status", "-decided_at"], name="handoff_status_decided"),
        ]

    def __str__(self) -> str:
        return f"Handoff {self.pk} of lead {self.lead_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == HandoffStatus.PENDING

    @property
    def in_queue(self) -> bool:
        return self.is_open and self.rep_id is None


class HandoffEventKind(models.TextChoices):
    SENT = "sent", "Sent to sales"
    ASSIGNED = "assigned", "Assigned to a rep"
    QUEUED = "queued", "Placed in the fallback queue"
    TECHNICAL_EXPERT_ASSIGNED = "technical_expert_assigned", "Technical expert assigned"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    SLA_BREACHED = "sla_breached", "SLA breached"
    ESCALATED = "escalated", "Escalated to the sales manager"
    REASSIGNED = "reassigned", "Reassigned"
    WITHDRAWN = "withdrawn", "Withdrawn by marketing"
    WON = "won", "Closed as won"
    LOST = "lost", "Closed as lost"


class HandoffEvent(models.Model):
    """One step in the life of a handoff. Append-only."""

    Kind = HandoffEventKind

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="events")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="handoff_events")
    kind = models.CharField(max_length=40, choices=HandoffEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The system rule that acted when no user did, such as "handoff.sla".
    rule = models.CharField(max_length=100, blank=True)
    rep = models.ForeignKey(Rep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    # A default rather than auto_now_add, so the services can date an event with their `now`.
    created_at = models.DateTimeField(default=django_timezone.now, editable=False, db_index=True)

    objects: ClassVar[models.Manager[HandoffEvent]] = models.Manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["lead", "created_at"], name="handoffevent_lead_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (handoff {self.handoff_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk and not kwargs.get("force_insert"):
            raise ValueError("Handoff events are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Handoff events are append-only and cannot be deleted.")
