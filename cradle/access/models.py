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
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=30, choices=Role.choices)
    is_duty_worker = models.BooleanField(default=False)

    class Meta:
        unique_together = [("user", "team")]


class Allocation(models.Model):
    """A family on a team's caseload, and on one practitioner's if allocated."""

    family = models.ForeignKey("records.Family", on_delete=models.CASCADE, related_name="allocations")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="allocations")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="allocations"
    )
    since = models.DateField()

    class Meta:
        unique_together = [("family", "team")]


class AuditEntry(models.Model):
    """Who read or changed which family's record, when and how. Append-only
    (issue 4 adds the database triggers and the hash chain)."""

    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=100, help_text="the user, or the system job")
    action = models.CharField(max_length=20)  # read | create | update | load | evaluate
    family = models.ForeignKey("records.Family", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    what = models.CharField(max_length=200)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "audit entries"
