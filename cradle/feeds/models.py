"""What the feeds keep: the systems' tokens, every message's raw bytes, the source
records with their versions, and the quarantine."""

from __future__ import annotations

from django.db import models

from cradle.domain import Agency
from cradle.records import models as rm


def _choices(enum) -> list[tuple[str, str]]:
    return [(m.value, m.value.replace("_", " ")) for m in enum]


class SystemToken(models.Model):
    """One agency system's revocable token. Only its SHA-256 is kept: the token is 256
    random bits, so a slow password hash would add nothing but latency on every call.

    A system (its name) has at most one live token; its revoked ones are kept, so that a
    system whose token was revoked can be given a new one and its history still read."""

    agency = models.CharField(max_length=30, choices=_choices(Agency))
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(revoked_at__isnull=True),
                name="feeds_one_live_token_a_system",
            )
        ]

    def __str__(self) -> str:
        return f"system token {self.name}"


class Message(models.Model):
    """One message or file as it arrived, kept before anything reads it. The bytes are in
    ``MessagePart`` rows (a file is kept in parts, so that a large one is never held in
    memory whole); ``complete`` is set once every part is written."""

    RECEIVED, DONE, REFUSED = "received", "done", "refused"

    source_system = models.CharField(max_length=100, help_text="The token's name, or file:<name>")
    agency = models.CharField(max_length=30, choices=_choices(Agency))
    channel = models.CharField(max_length=10)  # api | file
    content_type = models.CharField(max_length=100, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    complete = models.BooleanField(default=False)
    status = models.CharField(max_length=10, default=RECEIVED)
    note = models.CharField(max_length=200, blank=True)
    # Rows of a file already written (committed with each batch): a run killed part way
    # and started again goes on from here, so the end state is an uninterrupted run's.
    rows_done = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["sha256", "source_system"])]

    def __str__(self) -> str:
        return f"message {self.pk}"

    def raw(self) -> bytes:
        return b"".join(bytes(p) for p in self.parts.order_by("seq").values_list("data", flat=True))


class MessagePart(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="parts")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        unique_together = [("message", "seq")]


class SourceRecord(models.Model):
    """A record as one agency identifies it (its own id), pointing at the row it became.
    Idempotency lives here: the same id with the same content changes nothing, with new
    content it is a new ``SourceVersion`` (the old ones kept)."""

    PERSON, RELATIONSHIP, CONTACT = "person", "relationship", "contact"

    agency = models.CharField(max_length=30, choices=_choices(Agency))
    kind = models.CharField(max_length=20)
    source_id = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64)
    version = models.PositiveIntegerField(default=1)
    person = models.ForeignKey(
        rm.Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contact = models.ForeignKey(
        rm.Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    relationship = models.ForeignKey(
        rm.Relationship, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        unique_together = [("agency", "kind", "source_id")]


class SourceVersion(models.Model):
    record = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    content = models.JSONField()
    content_hash = models.CharField(max_length=64)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("record", "version")]
        ordering = ["record", "version"]


class QuarantineQuerySet(models.QuerySet):
    def waiting(self):
        """The records held and not yet in the record, one item each, with ``since``, when
        the first item of its chain was held: the items held, and an item resubmitted that
        is the last of its chain still open (its correction took nothing and met nothing:
        an empty file). Before, an item so resubmitted waited uncounted, and a failed
        correction restarted the clock of ``cradle feeds check``."""
        from django.db.models import Exists, OuterRef, Q
        from django.db.models.functions import Coalesce

        later = QuarantineItem.objects.filter(
            corrects_id=OuterRef("chain"), pk__gt=OuterRef("pk")
        ).exclude(status__in=QuarantineItem.SETTLED)
        return self.annotate(
            chain=Coalesce("corrects_id", "id"),
            since=Coalesce("corrects__created_at", "created_at"),
        ).filter(
            Q(status=QuarantineItem.HELD) | Q(status=QuarantineItem.RESUBMITTED) & ~Exists(later)
        )


class QuarantineItem(models.Model):
    """A record (or a whole message) that could not be taken, with why. ``locator`` says
    where in its message it was (``line 12``, ``entry 3``, ``message``), so that the same
    failure met again when a message is re-run is the same item, not a second one."""

    HELD, RESUBMITTED, ACCEPTED = "held", "resubmitted", "accepted"
    # Set aside by a lead, with why (a file sent twice, ids the agency has since
    # re-sent corrected): no longer waiting, kept with its content and reasons.
    DISMISSED = "dismissed"
    SETTLED = (ACCEPTED, DISMISSED)

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="quarantined")
    locator = models.CharField(max_length=50)
    record_type = models.CharField(max_length=30, blank=True)
    content = models.BinaryField(help_text="The record's raw content")
    reasons = models.JSONField(default=list, help_text='[{"field": ..., "problem": ...}]')
    # How to read the content again: {"format": "csv", "header": [...]} | {"format": "json"|"fhir"}.
    context = models.JSONField(default=dict)
    status = models.CharField(max_length=12, default=HELD)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resubmitted_as = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Held again from a correction of this item (the first held of the chain): settled
    # with it, whichever of the chain is corrected in the end.
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="corrections"
    )
    note = models.CharField(max_length=300, blank=True, help_text="Why it was dismissed")
    # The families the held record names where its references are known (a contact's
    # subjects, a person's baby): their pages say a record about them is held (HAZ-S01).
    families = models.ManyToManyField("records.Family", blank=True, related_name="held_records")

    objects = QuarantineQuerySet.as_manager()

    class Meta:
        unique_together = [("message", "locator")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"quarantine item {self.pk}"
