"""The partnership's records: rapid reviews (members, frozen chronologies, recommendations,
actions and their updates), the per-family audit facts behind the dashboards, and the
versions of the rule settings with their approval by a clinical safety officer."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cradle.domain import Agency

AGENCIES = [(a.value, a.label) for a in Agency]


class Review(models.Model):
    """A rapid review of what happened to one child."""

    OPEN, CLOSED = "open", "closed"
    family = models.ForeignKey("records.Family", on_delete=models.PROTECT, related_name="+")
    child = models.ForeignKey("records.Person", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=100)
    status = models.CharField(
        max_length=10, choices=[(OPEN, "open"), (CLOSED, "closed")], default=OPEN
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_on = models.DateField()
    harm_on = models.DateField(
        null=True, blank=True, help_text="The day of the harm, for lead times"
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="partnership_reviews")
    story = models.TextField(blank=True)
    findings = models.TextField(blank=True)
    learning = models.TextField(
        blank=True, help_text="Learning for professionals, one point a line"
    )

    class Meta:
        ordering = ["-opened_on", "-id"]

    def __str__(self) -> str:
        return f"review {self.reference}"


class Snapshot(models.Model):
    """The chronology frozen as of a day: stored as it was read, so later changes to the
    record (a contact entered in error, a late entry) never alter it."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="snapshots")
    as_of = models.DateField()
    taken_at = models.DateTimeField(auto_now_add=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    data = models.JSONField()

    class Meta:
        ordering = ["-taken_at", "-id"]


class Recommendation(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="recommendations")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=400)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["number", "id"]
        unique_together = [("review", "number")]


class ReviewAction(models.Model):
    OPEN, IN_PROGRESS, DONE = "open", "in_progress", "done"
    STATUSES = [(OPEN, "open"), (IN_PROGRESS, "in progress"), (DONE, "done")]
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.CASCADE, related_name="actions"
    )
    description = models.TextField()
    agency = models.CharField(max_length=30, choices=AGENCIES, help_text="The agency that owns it")
    due_on = models.DateField()
    status = models.CharField(max_length=15, choices=STATUSES, default=OPEN)
    done_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["status", "due_on"])]


class ActionUpdate(models.Model):
    action = models.ForeignKey(ReviewAction, on_delete=models.CASCADE, related_name="updates")
    on = models.DateField()
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=15, choices=ReviewAction.STATUSES)
    note = models.TextField(blank=True)
    evidence = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]


class ActionNotification(models.Model):
    """An overdue action flagged to one person of its owning agency (never twice)."""

    action = models.ForeignKey(ReviewAction, on_delete=models.CASCADE, related_name="notifications")
    to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, default="overdue")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("action", "to", "reason")]


class AuditFact(models.Model):
    """One per-family fact behind the audit dashboards, computed by the core
    (``cradle.rules.audit_facts``) when the family is re-evaluated. The dashboards count
    these in the database; no rule logic lives in a query."""

    family = models.ForeignKey("records.Family", on_delete=models.CASCADE, related_name="+")
    child = models.ForeignKey("records.Person", on_delete=models.CASCADE, related_name="+")
    measure = models.CharField(max_length=20)  # icon | sequence | male_carer | remote
    item = models.CharField(max_length=60, blank=True)  # the touchpoint, the sequence, ...
    agency = models.CharField(max_length=30, blank=True)
    on = models.DateField()
    counted = models.BooleanField(default=True)
    met = models.BooleanField(default=False)
    extra = models.BooleanField(default=False)
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    as_of = models.DateField()

    class Meta:
        indexes = [
            models.Index(fields=["measure", "on"]),
            models.Index(fields=["measure", "agency", "on"]),
        ]


class SafetyOfficer(models.Model):
    """A named clinical safety officer: only they approve new settings."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(max_length=200, help_text="The name the approval is given under")

    def __str__(self) -> str:
        return self.name


class SettingsVersion(models.Model):
    """One version of the rule settings. Every version is kept; a proposal takes effect only
    once a clinical safety officer approves it, from its stated date."""

    PROPOSED, APPROVED, REJECTED = "proposed", "approved", "rejected"
    number = models.PositiveIntegerField(unique=True)
    values = models.JSONField()
    hash = models.CharField(max_length=32, db_index=True)
    reason = models.TextField()
    status = models.CharField(
        max_length=10,
        choices=[(PROPOSED, "proposed"), (APPROVED, "approved"), (REJECTED, "rejected")],
        default=PROPOSED,
    )
    effective_from = models.DateField()
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        SafetyOfficer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"settings version {self.number}"
