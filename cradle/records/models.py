"""The family record: people, agencies' identities, relationships, contacts, alerts.

Words (agencies, kinds, outcomes, findings...) are the core's vocabulary, stored
as their text values, so that a row maps to a domain object and back without a
lookup table.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce, Now

from cradle.domain import (
    Agency,
    Channel,
    EventKind,
    Finding,
    Outcome,
    RelationshipKind,
    Role,
    Severity,
    Sex,
    Touchpoint,
)
from cradle.records.nhs_number import validate_nhs_number


def _choices(enum) -> list[tuple[str, str]]:
    return [(m.value, m.value.replace("_", " ")) for m in enum]


CONFIDENTIAL_REASONS = [
    ("refuge", "refuge"),
    ("witness_protection", "witness protection"),
    ("adoption", "adoption"),
    ("other", "other protective reason"),
]


class Person(models.Model):
    source_key = models.CharField(max_length=200, unique=True, help_text="Where the record came from (idempotent loads)")
    sex = models.CharField(max_length=10, choices=_choices(Sex), default=Sex.UNKNOWN)
    nhs_number = models.CharField(max_length=10, blank=True, validators=[validate_nhs_number], db_index=True)
    given_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    born_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True, help_text="For a baby: the expected date of delivery")
    # Do not disclose: every address of this person is withheld from every page, export
    # and feed, and so is every address shared with it (cradle.access.disclosure).
    address_confidential = models.BooleanField(default=False, verbose_name="address do not disclose")
    confidential_reason = models.CharField(max_length=30, blank=True, choices=CONFIDENTIAL_REASONS)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"person {self.pk}"

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.given_name, self.family_name) if p) or "(name not recorded)"


class Family(models.Model):
    """The record around one baby (or babies): who is in it, and its day 0."""

    reference = models.CharField(max_length=100, unique=True)
    title = models.CharField(max_length=200, blank=True)
    origin = models.DateField(help_text="The calendar date of the timeline's day 0")
    index_child = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    members = models.ManyToManyField(Person, through="FamilyMember", related_name="families")
    swept_on = models.DateField(null=True, blank=True, help_text="The last day a sweep evaluated this family")
    swept_at = models.DateTimeField(null=True, blank=True, help_text="When a sweep last evaluated it")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "families"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"family {self.reference}"


class FamilyMember(models.Model):
    family = models.ForeignKey(Family, on_delete=models.CASCADE)
    person = models.ForeignKey(Person, on_delete=models.PROTECT)
    role = models.CharField(max_length=20, choices=_choices(Role))
    label = models.CharField(max_length=50, help_text="The person's id in the family's case file or feed")

    class Meta:
        unique_together = [("family", "person"), ("family", "label")]


class Identity(models.Model):
    """One agency's record of a person, kept as it arrived."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identities")
    agency = models.CharField(max_length=30, choices=_choices(Agency))
    given_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    nhs_number = models.CharField(max_length=10, blank=True)
    address = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=10, blank=True, db_index=True)  # households: people at an address
    recorded_on = models.DateField()
    do_not_disclose = models.BooleanField(
        default=False, help_text="This address is withheld everywhere (a refuge, witness protection, an adoptive home)"
    )
    # Not yet linked as it stands: 1 when made, moved on by each change a feed makes to
    # it, 0 once a linkage run has scored it as it is (cradle.links.jobs.link_due); a
    # run clears only the value it read, so a change made while it ran stays due.
    linkage_due = models.PositiveIntegerField(default=1, db_default=1)
    # Since when it has been due (null once linked): `cradle feeds check` warns when
    # identities wait longer than `cradle link due` runs should take to reach them.
    linkage_due_since = models.DateTimeField(null=True, blank=True, db_default=Now())

    class Meta:
        unique_together = [("person", "agency")]
        verbose_name_plural = "identities"
        indexes = [models.Index(fields=["id"], condition=models.Q(linkage_due__gt=0), name="identity_linkage_due")]


# An identity changed, to be linked again as it now stands: its mark moved on, and due
# since now unless it already was (an update's values, as Identity.linkage_due says).
LINK_AGAIN = {
    "linkage_due": models.F("linkage_due") + 1,
    "linkage_due_since": Coalesce(models.F("linkage_due_since"), Now()),
}


class Relationship(models.Model):
    """``person`` is ``kind`` ``other``, as one agency recorded it."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="relationships")
    kind = models.CharField(max_length=20, choices=_choices(RelationshipKind))
    other = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    recorded_by = models.CharField(max_length=30, choices=_choices(Agency))
    from_on = models.DateField(null=True, blank=True, help_text="Known to the system from this day")
    entered_in_error = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("person", "kind", "other", "recorded_by")]


class Contact(models.Model):
    """A contact or record by an agency: the core's ``Event``."""

    source_key = models.CharField(max_length=200, unique=True)
    agency = models.CharField(max_length=30, choices=_choices(Agency))
    kind = models.CharField(max_length=40, choices=_choices(EventKind))
    occurred_on = models.DateField()
    recorded_on = models.DateField()
    outcome = models.CharField(max_length=30, choices=_choices(Outcome), blank=True)
    channel = models.CharField(max_length=20, choices=_choices(Channel), blank=True)
    to_agency = models.CharField(max_length=30, choices=_choices(Agency), blank=True)
    touchpoint = models.CharField(max_length=30, choices=_choices(Touchpoint), blank=True)
    note = models.TextField(blank=True)
    subjects = models.ManyToManyField(Person, related_name="contacts")
    seen = models.ManyToManyField(Person, related_name="contacts_seen", blank=True)
    delivered_to = models.ManyToManyField(Person, related_name="icon_deliveries", blank=True)
    entered_in_error = models.BooleanField(default=False)
    # A practitioner marked it entered in error (the page): it stays so whatever versions
    # the sending agency sends after (its own withdrawal is the version's to say).
    marked_in_error = models.BooleanField(default=False, db_default=False)
    # Findings its agency sent and then withdrew (an Observation entered in error, a
    # Condition refuted), as ``[{"words": [...], "subject": person pk or null}]``; null when
    # none. They count for nothing; an alert they raised is withdrawn, not resolved.
    withdrawn_findings = models.JSONField(null=True, blank=True)
    recorded_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_on", "recorded_on", "id"]
        indexes = [models.Index(fields=["occurred_on"])]

    def __str__(self) -> str:
        return f"contact {self.pk}"


class ContactFinding(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="findings")
    word = models.CharField(max_length=40, choices=_choices(Finding))

    class Meta:
        unique_together = [("contact", "word")]


class Alert(models.Model):
    OPEN, ACKNOWLEDGED, ACTIONED, DISMISSED, RESOLVED, WITHDRAWN = (
        "open",
        "acknowledged",
        "actioned",
        "dismissed",
        "resolved",
        "withdrawn",
    )
    STATUSES = [(s, s) for s in (OPEN, ACKNOWLEDGED, ACTIONED, DISMISSED, RESOLVED, WITHDRAWN)]
    LIVE = (OPEN, ACKNOWLEDGED)
    DECIDED = (ACTIONED, DISMISSED)

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="alerts")
    child = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="alerts")
    rule = models.CharField(max_length=60)
    rule_version = models.PositiveIntegerField()
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    scope = models.CharField(max_length=100, blank=True)
    severity = models.CharField(max_length=10, choices=_choices(Severity))
    status = models.CharField(max_length=15, choices=STATUSES, default=OPEN)
    episode_open = models.BooleanField(default=True, help_text="Its condition still holds")
    began_on = models.DateField()
    raised_on = models.DateField()
    due_on = models.DateField()
    resolved_on = models.DateField(null=True, blank=True)
    resolution = models.CharField(max_length=100, blank=True)
    evidence = models.JSONField(default=list)
    facts = models.JSONField(default=list)
    action = models.TextField()
    for_whom = models.JSONField(default=list)
    agency = models.CharField(max_length=30, choices=_choices(Agency), blank=True)
    source = models.TextField()
    settings_hash = models.CharField(max_length=32)
    follows = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decision_note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # Escalation of an alert still unacknowledged at its due date: 1 team leader, 2 safeguarding lead.
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_on = models.DateField(null=True, blank=True)
    # Raised by a write that tells its recipients, and not all of them told yet (the email
    # is sent once the write commits; a mail server down or a process ended in between
    # leaves it set): ``cradle escalate`` sends what is missing (notify.resend_raised).
    notify_pending = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["raised_on", "id"]
        indexes = [models.Index(fields=["family", "status"]), models.Index(fields=["status", "severity", "due_on"])]

    def __str__(self) -> str:
        return f"alert {self.pk} ({self.rule})"

    @property
    def key(self) -> tuple:
        return (self.rule, f"p{self.child_id}", self.step, self.scope)

    @property
    def evidence_set(self) -> set[str]:
        return set(self.evidence)


class AlertChange(models.Model):
    """Who changed an alert, when and how (raised, updated, acknowledged...)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="changes")
    change = models.CharField(max_length=20)
    on = models.DateField()
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]


class Notification(models.Model):
    """An email sent about an alert (so that none is sent twice)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=30)  # raised | escalated_team_leader | escalated_safeguarding_lead
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("alert", "to", "reason")]


class ParentingAssessment(models.Model):
    """A structured parenting assessment (a versioned form), recorded with its contact."""

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="assessment")
    form_version = models.CharField(max_length=20)
    answers = models.JSONField(default=dict)


class DueEvaluation(models.Model):
    """A family whose records a feed changed, its alerts not yet brought into line.

    Written in the transaction that writes the records, so a process killed before the
    evaluation leaves the family here: an API submission's family is evaluated by the
    background evaluator, a file's when the file ends (the next run of a killed import),
    any family by a reader of it first or the nightly sweep:
    ``cradle.records.evaluation.evaluate_due``."""

    family = models.OneToOneField(Family, on_delete=models.CASCADE, primary_key=True, related_name="+")
    since = models.DateTimeField(auto_now_add=True)
    # The file import (its message's id) that evaluates the family when the file ends:
    # the background evaluator leaves it, so that no family is judged on half of a file.
    # Null: anyone's to evaluate (an API submission's family).
    held_for = models.BigIntegerField(null=True, blank=True)
    # Moved on by every queueing (``queue_families``): an evaluation takes the family off
    # the queue only if no write has queued it again since the evaluation read it.
    stamp = models.BigIntegerField(default=0, db_default=0)
