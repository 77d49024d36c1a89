"""The HTTP API for agency systems (django-ninja), under ``/api/``.

A submission writes its records and queues their families, and answers: the families
are evaluated a moment later by the background evaluator (``cradle.records.background``),
or first by a read of a child's alerts here (``flags.open_alerts``). A one-record
submission is written with the calls that arrive beside it, in one transaction
(``cradle.feeds.group``); each is answered once that is committed.

Each system sends ``Authorization: Bearer <token>`` (``cradle feeds token add``). A
message's raw bytes are kept in the transaction that writes what it carries, or, when it
cannot be read or taken (not JSON, not the schema, another agency's), with the reason in
quarantine: nothing of a message is ever written without its bytes, and no message the
API has answered is without them, even one that does not decode. A system
submits for its own agency only, and reads the alerts only of children its agency may see
(``visible_families_for_agency``); anything else is "not found". Every authenticated call
is audited with one entry (``system:<token name>``).

The OpenAPI description is served at ``/api/openapi.json``; ninja's Swagger page is off
(it needs an inline script and a CDN, which the Content-Security-Policy refuses):
docs/feeds.md says how to read the description.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Schema, Status
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from cradle.access import audit
from cradle.domain import (
    Agency,
    Channel,
    EventKind,
    Finding,
    Outcome,
    RelationshipKind,
    Role,
    Sex,
    Touchpoint,
)
from cradle.feeds import fhir, jobs, tokens
from cradle.feeds import records as rec
from cradle.feeds.group import GROUP, Call
from cradle.feeds.ingest import (
    WRITE_CONFLICTS,
    fhir_named,
    mark_done,
    mark_families,
    mark_many,
    quarantine_message,
    resolve_busy,
    resolve_failed,
    transient,
)
from cradle.feeds.models import Message, QuarantineItem
from cradle.feeds.store import keep_bytes, refuse
from cradle.records import background
from cradle.records.evaluation import queue_families


class TooLarge(Exception):
    pass


class OutOfScope(Exception):
    pass


def max_bytes() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440)


class SystemAuth(HttpBearer):
    def authenticate(self, request, token):
        system = tokens.authenticate(token)
        if system is None:
            return None
        request.system = system
        if request.method == "POST":
            _refuse_too_large(request, system)
        return system


def _content_type(request) -> str:
    return request.META.get("CONTENT_TYPE", "").replace("\x00", "")


def _refuse_too_large(request, system) -> None:
    """A body over the limit is refused unread (the refusal is kept, not the bytes)."""
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = 0
    if size > max_bytes():
        refuse(
            source_system=system.name,
            agency=system.agency,
            channel="api",
            content_type=_content_type(request),
            size=size,
            why=f"over the size limit of {max_bytes()} bytes",
        )
        raise TooLarge


def _message(request) -> Message | None:
    """The message kept for a POST's raw bytes, kept now if they are not yet (a body
    refused, a Bundle); None for a call that is not an authenticated POST."""
    message = getattr(request, "feed_message", None)
    if message is None and request.method == "POST" and getattr(request, "system", None):
        system = request.system
        message, _ = keep_bytes(
            request.body,
            source_system=system.name,
            agency=system.agency,
            channel="api",
            content_type=_content_type(request),
        )
        request.feed_message = message
    return message


api = NinjaAPI(
    title="Cradle agency feeds",
    version="1",
    description=(
        "Agency systems send what they record and read a child's open alerts back. "
        "Authenticate with `Authorization: Bearer <token>`. A record is identified by the "
        "sending agency's own `source_id`: sending it again changes nothing, and sending it "
        "changed makes a new version (the old one kept). A record that cannot be taken is held "
        "in quarantine, with the reasons in the answer. The alerts of the families a "
        "submission touches are brought up to date a moment after the answer, and always "
        "before a child's alerts are read here."
    ),
    urls_namespace="feeds-api",
    docs_url=None,
    auth=SystemAuth(),
)


# -- schemas -----------------------------------------------------------------------------------


class Reason(Schema):
    field: str
    problem: str


class Held(Schema):
    id: int
    locator: str
    reasons: list[Reason]


class Accepted(Schema):
    message: int = Field(description="The message kept for this call's bytes")
    created: int
    versioned: int
    unchanged: int
    quarantined: list[Held]


class Refused(Schema):
    detail: str
    message: int | None = None
    reasons: list[Reason] = []
    quarantined: list[Held] = []


class Error(Schema):
    detail: str


ANSWERS = {200: Accepted, 400: Refused, 401: Error, 404: Error, 413: Error, 422: Refused}


def _words(enum, *only: str):
    """The vocabulary's words as an enumeration the OpenAPI description lists."""
    return Literal[tuple(w for w in (only or [m.value for m in enum]))]


AgencyWord = _words(Agency)
Id = Annotated[str, Field(min_length=1, max_length=150)]


class _Submission(Schema):
    source_id: Id = Field(description="The sending agency's own id of this record")
    agency: AgencyWord | None = Field(None, description="Optional: must be the token's own agency")


class PersonIn(_Submission):
    role: _words(Role) = Field(
        description="child: the baby (a family of their own); anyone else joins `child`'s family"
    )
    sex: _words(Sex) | None = None
    nhs_number: str | None = Field(None, description="Ten digits, the last a check digit")
    given_name: str | None = None
    family_name: str | None = None
    born_on: date | None = None
    due_on: date | None = None
    address: str | None = None
    postcode: str | None = None
    do_not_disclose: bool | None = Field(None, description="The address is withheld everywhere")
    child: Id | None = Field(
        None, description="The baby's source_id, for a person in the baby's family"
    )


class RelationshipIn(_Submission):
    person: Id
    kind: _words(RelationshipKind) = Field(description="`person` is `kind` `other`")
    other: Id
    from_on: date | None = None


class _Event(_Submission):
    occurred_on: date
    recorded_on: date | None = Field(None, description="Default: the day received")
    subjects: list[Id] = Field(description="source_ids of the people the contact was about")
    seen: list[Id] = []
    findings: list[_words(Finding)] = []
    note: str | None = None
    entered_in_error: bool | None = Field(
        None,
        description="true: this record, as sent before, was entered in error; it is kept, "
        "counts for nothing, and the alerts it caused are withdrawn. Sent again without it, "
        "it counts again",
    )


class ContactIn(_Event):
    kind: _words(EventKind)
    outcome: _words(Outcome) | None = None
    channel: _words(Channel) | None = None


class ReferralIn(_Event):
    to_agency: AgencyWord
    kind: _words(EventKind, "referral", "safeguarding_referral") = "referral"


class IconDeliveryIn(_Event):
    touchpoint: _words(Touchpoint)
    delivered_to: list[Id]


class AssessmentIn(_Event):
    form_version: str = Field(min_length=1, max_length=20)
    answers: dict[str, str | int | float | bool | None]


# -- helpers -----------------------------------------------------------------------------------


def _audit(request, action: str, what: str, family=None) -> None:
    """One entry a call; ``family`` a family or its key."""
    if getattr(request, "_audited", False):
        return
    request._audited = True
    audit.record(
        actor=f"system:{request.system.name}",
        action=action,
        family_id=getattr(family, "pk", family),
        what=what,
    )


def _held(items) -> list[dict]:
    return [{"id": q.pk, "locator": q.locator, "reasons": q.reasons} for q in items]


def _answer(request, kind: str, record: dict):
    system = request.system
    if record.pop("agency", None) not in (None, system.agency):
        message = _message(request)
        Message.objects.filter(pk=message.pk).update(
            status=Message.REFUSED, note="another agency's record"
        )
        raise OutOfScope
    record = {k: v for k, v in record.items() if v is not None}
    # Written with the calls beside it (cradle.feeds.group): its bytes, the record, its
    # audit entry and its family queued, committed before the answer. The family is
    # queued, not evaluated here: the background evaluator takes it a moment after the
    # answer, or a reader of its alerts first (cradle.records.background).
    call = GROUP.submit(
        Call(system, request.body, _content_type(request), kind, record, _endpoint(request))
    )
    if call.message is not None:
        request.feed_message = call.message
    if call.error is not None:
        _failed(request, call.message, call.error, kind, record)
        raise call.error
    request._audited = True  # the call's entry was written with it
    message, result = call.message, call.result
    if result.quarantined:
        return Status(
            422,
            {
                "detail": "the record could not be taken: it is held in quarantine",
                "message": message.pk,
                "reasons": result.quarantined[0].reasons,
                "quarantined": _held(result.quarantined),
            },
        )
    if result.families:
        background.kick()  # committed: the evaluator can see the record
    return Status(
        200,
        {
            "message": message.pk,
            "created": result.created,
            "versioned": result.versioned,
            "unchanged": result.unchanged,
            "quarantined": [],
        },
    )


# A Bundle's attempts to be written while others write the same records at once, and what
# it is answered when they are spent (503, Retry-After).
BUNDLE_ATTEMPTS = 3
BUSY_IDS = 1000  # a Bundle answered busy with more records is settled only sent again as it was
BUSY = "not written: other calls about the same records were being written at once; send it again"


def _failed(
    request,
    message: Message | None,
    error: BaseException,
    kind: str = "",
    record=None,
    why: str = "",
    data: bytes = b"",
) -> QuarantineItem | None:
    """A call that could not be written (a server error follows): audited, and held in
    quarantine (its message kept), to be resubmitted once the fault is put right, or
    settled when the system sends it again (``ingest.resolve_failed``). A record's call
    holds the record as the API read it (``kind``, ``record``: what a resubmission is
    checked as); a Bundle's its bytes. The kind of error only, never its text (a
    database's can quote a row's values). ``why``: the reason held, when not a fault (then
    a Bundle's, ``data``, is marked ``busy`` with the ids of its records, to be settled by
    any later message that takes them all, ``resolve_busy``: a system told to send it again
    may build it anew). A Bundle's held item marks the families its people are in, as
    far as they are known. The item held, if it could be."""
    busy = bool(why)
    why = why or f"not written: {type(error).__name__} (a fault of Cradle's; resubmit it)"
    held = None
    try:
        with transaction.atomic():
            if message is not None:
                if record is None:
                    context, raw = {"format": "fhir", "failed": True}, None
                    ids = jobs.bundle_ids(data) if busy else set()
                    if ids and len(ids) <= BUSY_IDS:
                        context.update(busy=True, ids=sorted(ids))
                else:
                    context = {"format": "json", "kind": kind, "failed": True}
                    raw = json.dumps(record, default=str).encode()
                held = quarantine_message(
                    message,
                    [{"field": "message", "problem": why}],
                    record_type="api",
                    raw=raw,
                    context=context,
                )
                mark_families(held, message.agency, kind, record)
                if record is None:
                    mark_many(message.agency, [(held, fhir_named(data))])
            what = f"message {message.pk}: {why}" if message is not None else why
            _audit(request, "submit-failed", what)
    except Exception:  # the database itself failing: the error above is the answer
        request._audited = False
        held = None
    return held


def _contact(payload: _Event, kind: str, **more) -> dict:
    record = payload.model_dump()
    record.update(kind=kind, **more)
    return record


# -- exception handlers: every refusal answers with its reasons, never a server error -----------


@api.exception_handler(TooLarge)
def _too_large(request, exc):
    _audit(request, "submit-refused", f"message over the size limit of {max_bytes()} bytes")
    return api.create_response(
        request, {"detail": f"the body is over {max_bytes()} bytes"}, status=413
    )


@api.exception_handler(OutOfScope)
def _out_of_scope(request, exc):
    _audit(request, "submit-refused", "another agency's record: not found")
    return api.create_response(request, {"detail": "Not Found"}, status=404)


@api.exception_handler(NinjaValidationError)
def _invalid(request, exc):
    return _refuse_message(request, [_reason(e) for e in exc.errors[:20]], 422)


@api.exception_handler(HttpError)
def _http_error(request, exc):
    if exc.status_code == 400 and getattr(request, "system", None) is not None:
        return _refuse_message(request, [{"field": "body", "problem": "not valid JSON"}], 400)
    if getattr(request, "system", None) is not None and exc.status_code != 401:
        _audit(request, "refused", f"{request.method} {exc.status_code}")
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


def _refuse_message(request, reasons: list[dict], status: int):
    message = _message(request)
    held = []
    if message is not None:
        with transaction.atomic():
            # Corrected, it is read again as this endpoint reads it (``read_body``).
            endpoint = _endpoint(request)
            if request.path.endswith("/fhir/Bundle"):
                context = {"format": "fhir"}
            elif endpoint:
                context = {"format": "json", "endpoint": endpoint}
            else:  # no endpoint of its own to read it again: the body as JSON
                context = {"format": "json"}
            held = [quarantine_message(message, reasons, record_type="api", context=context)]
            if endpoint:  # the families it names, as far as can be read
                try:
                    data = json.loads(request.body)
                except (UnicodeDecodeError, ValueError, RecursionError):
                    data = None
                mark_families(held[0], message.agency, BODIES[endpoint][1], data)
            mark_done(message)
        _audit(request, "submit-refused", f"message {message.pk}: held in quarantine")
    elif getattr(request, "system", None) is not None:
        _audit(request, "refused", f"{request.method}: {len(reasons)} problems with the request")
    body = {
        "detail": "the message could not be read: it is held in quarantine"
        if message
        else "invalid request",
        "message": message.pk if message else None,
        "reasons": reasons,
        "quarantined": _held(held),
    }
    return api.create_response(request, body, status=status)


# -- submissions -----------------------------------------------------------------------------


def _as_is(payload) -> dict:
    return payload.model_dump()


def _icon_delivery(payload) -> dict:
    return _contact(payload, "icon_delivered")


def _assessment(payload) -> dict:
    record = _contact(payload, "parenting_assessment")
    record["assessment_form"] = record.pop("form_version")
    record["assessment_answers"] = record.pop("answers")
    record.setdefault("outcome", "attended")
    return record


# Each one-record endpoint: the body's schema, the kind of record and the record it is
# read as. A refused
# body is held with its endpoint, so that corrected it is read again exactly as the API
# reads it (``read_body``), not as the internal record it would have become.
BODIES = {
    "people": (PersonIn, rec.PERSON, _as_is),
    "relationships": (RelationshipIn, rec.RELATIONSHIP, _as_is),
    "contacts": (ContactIn, rec.CONTACT, _as_is),
    "referrals": (ReferralIn, rec.CONTACT, _as_is),
    "icon-deliveries": (IconDeliveryIn, rec.CONTACT, _icon_delivery),
    "assessments": (AssessmentIn, rec.CONTACT, _assessment),
}


def _endpoint(request) -> str:
    name = request.path.rstrip("/").rsplit("/", 1)[-1]
    return name if name in BODIES else ""


def read_body(endpoint: str, data: bytes, agency: str) -> tuple[str, dict | None, list[dict]]:
    """A body sent to ``endpoint`` read as the API reads it: (the kind of record, the
    record or None, the reasons it cannot be taken). For a corrected re-submission of a
    body the API refused (``jobs.resubmit``)."""
    if endpoint not in BODIES:
        return "", None, [rec.reason("endpoint", "no longer taken: send it as the API says now")]
    schema, kind, build = BODIES[endpoint]
    # Parsed as ninja parses a body (``json.loads``, then the schema over what it read), not
    # by pydantic's own JSON parser, which refuses what the API takes (a lone surrogate's
    # escape, then refused by the record's check with its field named).
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return kind, None, [rec.reason("body", "not valid JSON")]
    try:
        payload = schema.model_validate(value)
    except PydanticValidationError as exc:
        return kind, None, [_reason(e) for e in exc.errors()[:20]]
    record = build(payload)
    if record.pop("agency", None) not in (None, agency):
        return kind, None, [rec.reason("agency", f"must be this agency's own ({agency})")]
    return kind, {k: v for k, v in record.items() if v is not None}, []


def _reason(error: dict) -> dict:
    where = ".".join(str(x) for x in error.get("loc", ()) if x not in ("body", "payload"))
    return rec.reason(where or "body", error.get("msg", "invalid"))


def _submit(request, endpoint: str, payload):
    _schema, kind, build = BODIES[endpoint]
    return _answer(request, kind, build(payload))


@api.post("/people", response=ANSWERS, summary="Submit a person (and their identity)")
def submit_person(request, payload: PersonIn):
    return _submit(request, "people", payload)


@api.post("/relationships", response=ANSWERS, summary="Submit a relationship between two people")
def submit_relationship(request, payload: RelationshipIn):
    return _submit(request, "relationships", payload)


@api.post("/contacts", response=ANSWERS, summary="Submit a contact, with its outcome and findings")
def submit_contact(request, payload: ContactIn):
    return _submit(request, "contacts", payload)


@api.post("/referrals", response=ANSWERS, summary="Submit a referral to another agency")
def submit_referral(request, payload: ReferralIn):
    return _submit(request, "referrals", payload)


@api.post("/icon-deliveries", response=ANSWERS, summary="Submit an ICON delivery")
def submit_icon(request, payload: IconDeliveryIn):
    return _submit(request, "icon-deliveries", payload)


@api.post("/assessments", response=ANSWERS, summary="Submit a structured parenting assessment")
def submit_assessment(request, payload: AssessmentIn):
    return _submit(request, "assessments", payload)


@api.post(
    "/fhir/Bundle",
    response={**ANSWERS, 503: Refused},
    summary="Submit a FHIR R4 Bundle",
    description="A Bundle of Patient, RelatedPerson, Encounter, Appointment, Observation, Condition, "
    "EpisodeOfCare, ServiceRequest, Flag and QuestionnaireResponse resources (docs/feeds.md). "
    "Each entry is taken or held in quarantine on its own.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/fhir+json": {"schema": {"type": "object"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
def submit_bundle(request, response: HttpResponse):
    system, message = request.system, _message(request)  # the bytes kept first, on their own
    data = request.body  # the same bytes, not read back
    if fhir.bundle_agency(data) not in (None, system.agency):
        Message.objects.filter(pk=message.pk).update(
            status=Message.REFUSED, note="another agency's Bundle"
        )
        raise OutOfScope
    try:
        # Taken again if undone by another server's write of one of its new records (then
        # found), by a deadlock with another transaction (PostgreSQL undoes one), or by
        # another's write of an Encounter it was joining findings to since it read it
        # (``Stale``: read again).
        for attempt in range(1, BUNDLE_ATTEMPTS + 1):
            try:
                result, refused = _write_bundle(request, message, data)
                break
            except WRITE_CONFLICTS as exc:
                request._audited = False  # the entry went with the transaction
                if attempt == BUNDLE_ATTEMPTS or not transient(exc):
                    raise
    except Exception as exc:
        request._audited = False
        if transient(exc) and not isinstance(exc, IntegrityError):
            # Still meeting others' writes of the same records (many calls about one
            # Encounter at once: ``Stale``, a deadlock): not a fault, and sent again it is
            # taken. Held until it is (``resolve_failed``), so that nothing is lost if it
            # never is. (A unique key met three times is no race: another's row under
            # the key, a fault.)
            held = _failed(request, message, exc, why=BUSY, data=data)
            response["Retry-After"] = "1"
            return Status(
                503,
                {
                    "detail": BUSY,
                    "message": message.pk,
                    "quarantined": _held([held] if held else []),
                },
            )
        _failed(request, message, exc, data=data)
        raise
    if refused:
        return Status(
            422,
            {
                "detail": "nothing in the Bundle could be taken: it is held in quarantine",
                "message": message.pk,
                "reasons": result.quarantined[0].reasons,
                "quarantined": _held(result.quarantined),
            },
        )
    if result.families:
        background.kick()  # committed: the evaluator can see the records
    return Status(
        200,
        {
            "message": message.pk,
            "created": result.created,
            "versioned": result.versioned,
            "unchanged": result.unchanged,
            "quarantined": _held(result.quarantined),
        },
    )


def _write_bundle(request, message: Message, data: bytes):
    """The Bundle's records, the call's audit entry and the families queued: one
    transaction, the queue's rows last (after the audit chain's head, HAZ-S13's order)."""
    with transaction.atomic():
        result = jobs.read_fhir(
            message, data, agency=request.system.agency, today=timezone.localdate(), evaluate=False
        )
        mark_done(message)
        summary = (
            f"FHIR Bundle via the API: message {message.pk}: {result.created} created, "
            f"{result.versioned} new versions, {result.unchanged} unchanged, "
            f"{len(result.quarantined)} quarantined; {len(result.families)} families"
        )
        taken = result.created + result.versioned + result.unchanged
        refused = bool(result.quarantined and not taken)
        _audit(request, "submit-refused" if refused else "submit", summary)
        queue_families(result.families)
        if taken:
            resolve_failed([message.pk])  # had it failed before, sent again: settled
        if taken and not result.quarantined:
            resolve_busy(message.agency, jobs.bundle_ids(data))  # or sent anew, whole
    return result, refused


# -- alerts out --------------------------------------------------------------------------------


class AlertOut(Schema):
    id: int
    rule: str
    severity: str
    status: str
    raised_on: date
    due_on: date
    explanation: str
    action: str


class Coding(Schema):
    system: str
    code: str
    display: str | None = None


class Concept(Schema):
    coding: list[Coding]
    text: str | None = None


class Identifier(Schema):
    system: str
    value: str


class SubjectRef(Schema):
    identifier: Identifier


class Period(Schema):
    start: str


class Extension(Schema):
    url: str
    valueCode: str


class FlagOut(Schema):
    resourceType: str
    id: str
    status: str
    category: list[Concept]
    code: Concept
    subject: SubjectRef
    period: Period
    extension: list[Extension] | None = None


class FlagEntry(Schema):
    fullUrl: str
    resource: FlagOut


class FlagBundle(Schema):
    resourceType: str
    type: str
    total: int
    entry: list[FlagEntry]


@api.get("/children/{nhs_number}/alerts", response={200: list[AlertOut], 401: Error, 404: Error})
def child_alerts(request, nhs_number: str):
    """A child's open alerts, each explained as far as the agency's role may read."""
    from cradle.feeds.flags import open_alerts

    found = open_alerts(request.system, nhs_number, timezone.localdate())
    if found is None:
        _audit(request, "read-refused", "a child's alerts: not found")
        return Status(404, {"detail": "Not Found"})
    family, _child, alerts = found
    _audit(request, "read", "a child's open alerts", family)
    return Status(200, [a.as_dict() for a in alerts])


@api.get(
    "/children/{nhs_number}/flags",
    response={200: FlagBundle, 401: Error, 404: Error},
    exclude_none=True,
)
def child_flags(request, nhs_number: str):
    """A child's open alerts as FHIR R4 Flag resources (a searchset Bundle), and a current
    child protection plan as a Flag of its own."""
    from cradle.feeds.flags import as_flag_bundle, open_alerts, plan_flag, plan_since

    found = open_alerts(request.system, nhs_number, timezone.localdate())
    if found is None:
        _audit(request, "read-refused", "a child's flags: not found")
        return Status(404, {"detail": "Not Found"})
    family, child, alerts = found
    _audit(request, "read", "a child's open alerts as FHIR Flags", family)
    number = nhs_number.replace(" ", "")
    since = plan_since(child)
    plan = plan_flag(child, since, number) if since else None
    return Status(200, as_flag_bundle(alerts, number, plan))
