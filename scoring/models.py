"""Versioned rule sets (ideal customer profile plus fit and engagement rules) and rescore runs.

The rules are stored as JSON on the rule set so that a version is one immutable
snapshot that exports, imports and restores without loss. Their shape is
validated by scoring.rules.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q


class RuleSet(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    version = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    notes = models.TextField(blank=True)

    # Ideal customer profile: segments, facility types, regions, bands, processes, functions …
    icp = models.JSONField(default=dict, blank=True)
    fit_rules = models.JSONField(default=list, blank=True)
    engagement_rules = models.JSONField(default=list, blank=True)
    # Maximum points per rule group ({"web": 30}); the totals are capped by the two fields below.
    group_caps = models.JSONField(default=dict, blank=True)
    fit_cap = models.IntegerField(null=True, blank=True)
    engagement_cap = models.FloatField(null=True, blank=True)
    fit_threshold = models.IntegerField(default=50)
    engagement_threshold = models.FloatField(default=40)
    # Event kinds that make a lead MQL on fit alone, such as quote_request.
    fast_track_kinds = models.JSONField(default=list, blank=True)
    # Only fast-track events this recent count, so an old RFQ does not qualify a lead today.
    fast_track_window_days = models.PositiveIntegerField(default=90)
    # Bumped by every edit of a draft. An edit names the revision it started from, so two admins
    # editing one draft cannot overwrite each other's changes unseen.
    revision = models.PositiveIntegerField(default=1)

    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="published"), name="ruleset_one_published"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.name} ({self.status})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class RuleSetChange(models.Model):
    """One step in the history of the rule sets: who created, edited, published or restored what.

    Append-only: rows are written by scoring.services and never changed or deleted.
    """

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        IMPORTED = "imported", "Imported"
        RESTORED = "restored", "Restored"
        EDITED = "edited", "Edited"
        PUBLISHED = "published", "Published"

    ruleset = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="changes")
    action = models.CharField(max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # One line per change, such as "fit_threshold 50 → 55" or "added rule rfq-eu".
    details = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects: ClassVar[models.Manager[RuleSetChange]] = models.Manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The history of one version, newest first, on its page.
            models.Index(fields=["ruleset", "-created_at"], name="rulesetchange_ruleset"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} v{self.ruleset_id}: {self.summary}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk and not kwargs.get("force_insert"):
            raise ValueError("Rule-set changes are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Rule-set changes are append-only and cannot be deleted.")

    @property
    def summary(self) -> str:
        return "; ".join(self.details)


class RescoreRun(models.Model):
    """A full rescore of every lead, processed in chunks of lead ids so that it can resume."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rescore_runs")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    total_leads = models.PositiveIntegerField(default=0)
    done_leads = models.PositiveIntegerField(default=0)
    # Highest lead id already rescored; a resumed run continues after it.
    last_lead_id = models.BigIntegerField(default=0)
    max_lead_id = models.BigIntegerField(default=0)
    # On PostgreSQL, the moment as of which the run aggregated every lead's events once; each
    # lead scored from those aggregates gets it as scored_at.
    as_of = models.DateTimeField(null=True, blank=True)
    entered_mql = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Rescore with v{self.ruleset.version}: {self.status}"

    @property
    def percent(self) -> float:
        if not self.total_leads:
            return 100.0 if self.status == self.Status.DONE else 0.0
        return min(100.0, 100.0 * self.done_leads / self.total_leads)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def elapsed_seconds(self) -> float | None:
        """Seconds from the start to the end, or to the latest progress while it runs."""
        if self.started_at is None:
            return None
        end = self.finished_at or self.updated_at
        return max((end - self.started_at).total_seconds(), 0.0)

    @property
    def leads_per_second(self) -> float | None:
        elapsed = self.elapsed_seconds
        if not elapsed or not self.done_leads:
            return None
        return self.done_leads / elapsed

    @property
    def seconds_left(self) -> float | None:
        """Estimate the seconds to finish at the rate so far; None before the first chunk."""
        rate = self.leads_per_second
        if rate is None or self.is_finished:
            return None
        return max(self.total_leads - self.done_leads, 0) / rate


class Simulation(models.Model):
    """A dry run of a rule set against every current lead; nothing but this row is written.

    `result` contains the counts, the score histograms, a sample of the leads that
    would move and the what-if against past sales decisions (see
    scoring.simulation.SimulationResult for its shape).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="simulations")
    # The draft's revision that was simulated; a later edit makes this result out of date.
    ruleset_revision = models.PositiveIntegerField()
    # The published version the "before" figures come from; null when none was published.
    baseline_version = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    total_leads = models.PositiveIntegerField(default=0)
    done_leads = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Simulation of v{self.ruleset.version}: {self.status}"

    @property
    def percent(self) -> float:
        if not self.total_leads:
            return 100.0 if self.status == self.Status.DONE else 0.0
        return min(100.0, 100.0 * self.done_leads / self.total_leads)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def result_or_none(self) -> dict[str, Any] | None:
        """Return the result once the simulation is done, else None."""
        return self.result if self.status == self.Status.DONE else None
