"""Teams, who is in them and in what role, which families they hold, and the read audit."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cradle.domain import Agency


class Role(models.TextChoices):
    HEALTH_VISITOR = "health_visitor", "health visitor"
    MIDWIFE = "midwife", "midwife"
    NEONATAL_NURSE = "neonatal_nurse", "neonatal nurse"
    GP = "gp", "GP"
    EMERGENCY_CLINICIAN = "emergency_clinician", "emergency clinician"
    PERINATAL_MENTAL_HEALTH = "perinatal_mental_health", "perinatal mental health"
    ADULT_MENTAL_HEALTH = "adult_mental_health", "adult mental health"
    SOCIAL_WORKER = "social_worker", "social worker"
    POLICE = "police", "police"
    SAFEGUARDING_LEAD = "safeguarding_lead", "safeguarding lead"
    TEAM_LEADER = "team_leader", "team leader"
    PARTNERSHIP_REVIEWER = "partnership_reviewer", "partnership reviewer"
    ADMINISTRATOR = "administrator", "administrator"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    agency = models.CharField(max_length=30, choices=[(a.value, a.label) for a in Agency])

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=30, choices=Role.choices)
    is_duty_worker = models.BooleanField(default=False)

    class Meta:
        unique_together = [("user", "team")]


class Allocation(models.Model):
    """A family on a team's caseload, and on one practitioner's if allocated."""

    family = models.ForeignKey(
        "records.Family", on_delete=models.CASCADE, related_name="allocations"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="allocations")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="allocations",
    )
    since = models.DateField()

    class Meta:
        unique_together = [("family", "team")]


class AuditEntry(models.Model):
    """Who read or changed which family's record, when, from where and how.

    Append-only: the database refuses UPDATE and DELETE (triggers, migration
    0003), and each entry's ``hash`` is a keyed hash over its content and the
    previous entry's hash, so ``cradle audit verify`` finds the first entry
    altered, inserted or deleted. Write entries through ``cradle.access.audit.record``.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.CharField(max_length=100, help_text="the user, or the system job")
    action = models.CharField(max_length=20)  # read | create | update | load | evaluate | escalate
    family = models.ForeignKey(
        "records.Family", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    what = models.CharField(max_length=200)
    ip = models.CharField(max_length=45, blank=True, default="")
    role = models.CharField(max_length=30, blank=True, default="")
    break_glass = models.BooleanField(default=False)
    prev_hash = models.CharField(max_length=64, default="")
    hash = models.CharField(max_length=64, default="")

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        # An agency system's last call (cradle feeds check), without reading the whole log.
        indexes = [models.Index(fields=["actor", "at"], name="access_audit_actor_at")]


class AuditHead(models.Model):
    """The newest entry's number and hash: one row, locked by each append so that
    entries are numbered one after another. Not trusted by verify (the anchor is)."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="")


class BreakGlass(models.Model):
    """Emergency access without a relationship: a stated reason, time-limited, shown to
    the family's safeguarding lead."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    family = models.ForeignKey(
        "records.Family", on_delete=models.PROTECT, related_name="break_glass"
    )
    reason = models.TextField()
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
