"""Links between identities, the review queue, and the runs that made them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from cradle.records.models import Identity


class LinkRun(models.Model):
    """One batch run of the linkage (``cradle link run``, or ``cradle link due``)."""

    RUNNING, DONE, FAILED = "running", "done", "failed"

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, default=RUNNING)
    backend = models.CharField(max_length=10, default="duckdb")
    model_hash = models.CharField(max_length=32, blank=True)
    link_threshold = models.FloatField()
    review_threshold = models.FloatField()
    records = models.PositiveIntegerField(default=0)
    # A run of the identities new or changed since they were last linked (``cradle link
    # due``): how many, scored against all ``records``. Null: a whole run.
    new_records = models.PositiveIntegerField(null=True, blank=True)
    linked = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    # Identities in blocks of more than ``cradle.linkage.model.MAX_BLOCK`` sharing a
    # blocking key (placeholder details), whose pairs there were not made, and those
    # keys in words.
    crowded = models.PositiveIntegerField(default=0)
    crowded_keys = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]


class IdentityLink(models.Model):
    """Two identities are the same person. Never a merge: ``active`` False is an unlink."""

    # "newborn": a newborn or unborn record with the baby's records (cradle.linkage.newborn).
    NHS_NUMBER, NEWBORN, SPLINK, REVIEWER = "nhs_number", "newborn", "splink", "reviewer"
    METHODS = [(x, x.replace("_", " ")) for x in (NHS_NUMBER, NEWBORN, SPLINK, REVIEWER)]

    left = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="+")
    right = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=12, choices=METHODS)
    probability = models.FloatField(null=True, blank=True)
    run = models.ForeignKey(LinkRun, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    active = models.BooleanField(default=True)
    unlinked_at = models.DateTimeField(null=True, blank=True)
    unlinked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unlink_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(left__lt=models.F("right")), name="link_left_lt_right"
            ),
            models.UniqueConstraint(
                fields=["left", "right"], condition=Q(active=True), name="one_active_link_per_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"link {self.pk}"


class Candidate(models.Model):
    """A pair the model was unsure of, waiting for a person; the decision is a label."""

    PENDING, CONFIRMED, REJECTED = "pending", "confirmed", "rejected"
    STATUSES = [(x, x) for x in (PENDING, CONFIRMED, REJECTED)]

    left = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="+")
    right = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    match_weight = models.FloatField()
    # Splink's match weights, one per comparison: [{"comparison", "level", "weight"}, ...]
    weights = models.JSONField(default=list)
    model_hash = models.CharField(max_length=32, blank=True)
    run = models.ForeignKey(LinkRun, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-probability", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(left__lt=models.F("right")), name="candidate_left_lt_right"
            ),
            models.UniqueConstraint(fields=["left", "right"], name="one_candidate_per_pair"),
        ]

    def __str__(self) -> str:
        return f"candidate {self.pk}"

    @property
    def is_match(self) -> bool | None:
        """The reviewer's label: True (same person), False (not), None (undecided)."""
        return {self.CONFIRMED: True, self.REJECTED: False}.get(self.status)
