"""FHIR R4 resources, as agency systems exchange them (shaped like the UK Core profiles),
read into Cradle's three kinds of record. Each resource is validated with the
``fhir.resources`` R4B models (docs/feeds.md says where R4 and R4B differ for these
resources), one by one, so that one bad entry of a Bundle is held in quarantine and the
others are taken.

Ids: a resource's source id is ``<type>/<id>`` (``Patient/123``), so that references
(``Patient/123``, or a ``urn:uuid:`` fullUrl within the Bundle) name it directly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from cradle.feeds import records as rec
from cradle.feeds.ingest import Item
from cradle.feeds.snomed import SYSTEM as SNOMED
from cradle.feeds.snomed import finding_for, is_sctid

NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
# Cradle's own codes, where FHIR has no common one (docs/feeds.md).
KIND_SYSTEM = "urn:cradle:event-kind"
AGENCY_SYSTEM = "urn:cradle:agency"
FLAG_SYSTEM = "urn:cradle:flag"
# Someone an Encounter or Appointment was about who was not there (valueReference): FHIR
# R4 has no element for it (the subject is "present at the encounter"), and a contact
# about the baby without the baby is what seen-without-baby is for (HAZ-R11).
NOT_SEEN = "urn:cradle:extension:not-seen"
CP_PLAN = "child-protection-plan"
CONFIDENTIAL = {"R", "V"}  # v3-Confidentiality: restricted, very restricted

TAKEN = (
    "Patient", "RelatedPerson", "Encounter", "Appointment", "Observation", "Condition",
    "EpisodeOfCare", "ServiceRequest", "Flag", "QuestionnaireResponse",
)  # fmt: skip
_ORDER = {"Patient": 0, "RelatedPerson": 1}  # people first, then what refers to them
_SIMPLE = re.compile(r"^[A-Za-z]{1,40}$")

# v3-RoleCode (a RelatedPerson's relationship to the patient): the baby's family role
# and the relationship recorded.
RELATED = {
    "MTH": ("mother", "mother_of"), "NMTH": ("mother", "mother_of"), "BMTH": ("mother", "mother_of"),
    "GESTM": ("mother", "mother_of"), "FTH": ("father", "father_of"), "NFTH": ("father", "father_of"),
    "BFTH": ("father", "father_of"), "STPMTH": ("female_carer", "carer_of"),
    "STPFTH": ("male_carer", "carer_of"), "FMRSPS": ("partner", ""), "GRMTH": ("grandparent", "grandparent_of"),
    "GRFTH": ("grandparent", "grandparent_of"), "GRPRN": ("grandparent", "grandparent_of"),
    "SIB": ("sibling", "sibling_of"), "BRO": ("sibling", "sibling_of"), "SIS": ("sibling", "sibling_of"),
    "NSIB": ("sibling", "sibling_of"), "FAMMEMB": ("relative", ""), "ROOM": ("household_member", ""),
}  # fmt: skip
ENCOUNTER_CLASS = {
    "HH": ("home_visit", "home_visit"),
    "AMB": ("clinic_contact", "clinic"),
    "EMER": ("ed_attendance", "hospital"),
    "IMP": ("hospital_admission", "inpatient"),
    "ACUTE": ("hospital_admission", "inpatient"),
    "VR": ("phone_contact", "phone"),
}
# A Condition entered in error or refuted is withdrawn, as an Observation entered in error.
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
# A contact's resource sent with status entered-in-error is read as if with this status
# (what it would have been), then marked entered in error.
WITHDRAWN_AS = {
    "Encounter": "finished",
    "Appointment": "fulfilled",
    "EpisodeOfCare": "finished",
    "ServiceRequest": "completed",
    "Flag": "inactive",
    "QuestionnaireResponse": "completed",
}
CHANNEL_OF_KIND = {
    "home_visit": "home_visit",
    "new_birth_visit": "home_visit",
    "ed_attendance": "hospital",
}


class Unreadable(Exception):
    def __init__(self, field_: str, problem: str):
        super().__init__(problem)
        self.reasons = [{"field": field_, "problem": problem}]


@dataclass
class Bundle:
    items: list[Item] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)  # the message as a whole


def _word(value) -> str:
    return f"'{value}'" if isinstance(value, str) and _SIMPLE.match(value) else "another type"


def load_models() -> None:
    """Import the fhir.resources models Cradle validates with (about 0.6 s, once a
    process): a server or an import does it as it starts, before it settles
    (``cradle.domain.collector.settle``), rather than on its first Bundle."""
    from fhir.resources.R4B import get_fhir_model_class

    for name in ("Bundle", *TAKEN):
        get_fhir_model_class(name)


_UTF8_BOM = b"\xef\xbb\xbf"


def parse(data: bytes) -> dict:
    """The message as JSON, or why not (never repeating its content). A leading UTF-8
    byte-order mark is allowed, as in a CSV file (only read past: the bytes kept are
    those received)."""
    bom = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise Unreadable(
                "message",
                "not UTF-8 text: it starts with a UTF-16 byte-order mark (it looks like "
                "UTF-16): save it as UTF-8",
            ) from None
        raise Unreadable("message", f"not UTF-8 text (byte {bom + exc.start})") from None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise Unreadable("message", f"not valid JSON{where}") from None
    if not isinstance(doc, dict):
        raise Unreadable("message", "a FHIR resource is a JSON object")
    return doc


def bundle_agency(data: bytes) -> str | None:
    """The agency a Bundle says it is from (``meta.tag`` in urn:cradle:agency), if it says."""
    try:
        doc = parse(data)
    except Unreadable:
        return None
    tags = (doc.get("meta") or {}).get("tag") if isinstance(doc.get("meta"), dict) else None
    found = _codes(tags if isinstance(tags, list) else [], AGENCY_SYSTEM)
    return found[0] if found else None


def _validate(resource: dict) -> list[dict]:
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    rtype = resource.get("resourceType")
    try:
        get_fhir_model_class(rtype).model_validate(resource)
    except ValidationError as exc:
        return [
            # pydantic's message, never its "input" (which may be personal)
            rec.reason(".".join(str(x) for x in e.get("loc", ())) or rtype, e.get("msg", "invalid"))
            for e in exc.errors()[:20]
        ]
    except (ValueError, TypeError, RecursionError) as exc:
        return [{"field": rtype, "problem": f"not a valid {rtype} ({type(exc).__name__})"}]
    return []


def read_bundle(data: bytes, today: date, *, agency: str, lookups=None, bar=None) -> Bundle:
    """A Bundle's entries as records (items), each validated, converted, or with reasons
    (``bar``: a progress bar, told the entries' number and each one read)."""
    out = Bundle()
    try:
        doc = parse(data)
    except Unreadable as exc:
        out.problems = exc.reasons
        return out
    if doc.get("resourceType") != "Bundle":
        out.problems = [
            {
                "field": "resourceType",
                "problem": f"expected a Bundle, not {_word(doc.get('resourceType'))}",
            }
        ]
        return out
    entries = doc.get("entry") or []
    shell = (
        {
            **doc,
            "entry": [
                {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
                for e in entries
            ],
        }
        if isinstance(entries, list)
        else doc
    )
    problems = _validate(shell)
    if problems or not isinstance(entries, list):
        out.problems = problems or [{"field": "entry", "problem": "must be a list"}]
        return out
    reader = _Reader(today, agency, lookups or Lookups())
    reader.index(entries)
    converted: list[tuple[int, int, Item]] = []
    if bar is not None:
        bar.reset(total=len(entries))
    for i, entry in enumerate(entries):
        if bar is not None:
            bar.update(1)
        resource = entry.get("resource") if isinstance(entry, dict) else None
        locator = f"entry {i}"
        raw = json.dumps(resource, sort_keys=True).encode() if resource is not None else b""
        if not isinstance(resource, dict):
            converted.append(
                (
                    9,
                    i,
                    Item(
                        locator,
                        "",
                        raw,
                        None,
                        [{"field": f"entry[{i}]", "problem": "has no resource"}],
                    ),
                )
            )
            continue
        rtype = resource.get("resourceType")
        rtype_text = rtype if isinstance(rtype, str) and _SIMPLE.match(rtype) else "unknown"
        context = {"format": "fhir"}
        if not (isinstance(resource.get("id"), str) and resource["id"]):
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and full_url:
                # Named by its fullUrl alone: kept, to name it when held and corrected.
                context["fullUrl"] = full_url
        if rtype not in TAKEN:
            why = f"{_word(rtype)} is not a resource Cradle takes ({', '.join(TAKEN)})"
            converted.append(
                (
                    9,
                    i,
                    Item(
                        locator,
                        "",
                        raw,
                        None,
                        [{"field": "resourceType", "problem": why}],
                        f"fhir:{rtype_text}",
                        context,
                    ),
                )
            )
            continue
        problems = _validate(resource)
        if problems:
            converted.append(
                (9, i, Item(locator, "", raw, None, problems, f"fhir:{rtype}", context))
            )
            continue
        try:
            records = reader.convert(resource, entry.get("fullUrl"))
        except Unreadable as exc:
            converted.append(
                (9, i, Item(locator, "", raw, None, exc.reasons, f"fhir:{rtype}", context))
            )
            continue
        for j, (kind, record) in enumerate(records):
            loc = locator if len(records) == 1 else f"{locator}.{j}"
            # People first, then relationships (a RelatedPerson's too: after every person
            # it may name), then what refers to them.
            order = 2 if kind == rec.RELATIONSHIP else _ORDER.get(rtype, 3)
            converted.append((order, i, Item(loc, kind, raw, record, [], f"fhir:{rtype}", context)))
    reader.attach_findings(converted)
    for _o, _i, item in converted:
        if item.kind == rec.CONTACT and item.data and item.data["source_id"] in reader.read:
            # Made from what was last sent: written only over that version (``Stale``).
            item.based_on = reader.read[item.data["source_id"]]
    converted.sort(key=lambda t: (t[0], t[1]))
    out.items = [item for _o, _i, item in converted]
    return out


@dataclass
class Lookups:
    """What a reader may ask of the database (kept apart so the reading stays testable)."""

    is_child = staticmethod(lambda source_id: False)
    # source id -> (its version, the content last sent), for the contacts sent before
    contact_contents = staticmethod(lambda source_ids: {})


def db_lookups(agency: str) -> Lookups:
    from django.db.models import F

    from cradle.feeds.models import SourceRecord, SourceVersion
    from cradle.records.bulk import IN_CHUNK
    from cradle.records.models import FamilyMember

    def is_child(source_id: str) -> bool:
        pk = (
            SourceRecord.objects.filter(agency=agency, kind=rec.PERSON, source_id=source_id)
            .values_list("person_id", flat=True)
            .first()
        )
        return pk is not None and FamilyMember.objects.filter(person_id=pk, role="child").exists()

    def contact_contents(source_ids) -> dict[str, tuple[int, dict]]:
        """The version and content last sent of each of these contacts sent before."""
        out: dict[str, tuple[int, dict]] = {}
        for start in range(0, len(source_ids), IN_CHUNK):
            rows = SourceVersion.objects.filter(
                record__agency=agency,
                record__kind=rec.CONTACT,
                record__source_id__in=source_ids[start : start + IN_CHUNK],
                version=F("record__version"),
            ).values_list("record__source_id", "version", "content")
            out.update((sid, (version, dict(content))) for sid, version, content in rows)
        return out

    found = Lookups()
    found.is_child = is_child
    found.contact_contents = contact_contents
    return found


def _date_of(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text[:10] if len(text) >= 10 else None  # a partial date (2026 or 2026-05) is not a day


def _codes(concepts, system: str) -> list[str]:
    if isinstance(concepts, dict):
        concepts = [concepts]
    out = []
    for concept in concepts or []:
        if not isinstance(concept, dict):
            continue
        codings = concept.get("coding") if "coding" in concept else [concept]
        if isinstance(codings, dict):
            codings = [codings]
        if not isinstance(codings, list):
            continue  # not a list of codings: nothing to read
        for coding in codings:
            if (
                isinstance(coding, dict)
                and coding.get("system") == system
                and isinstance(coding.get("code"), str)
            ):
                out.append(coding["code"])
    return out


def source_id(resource: dict, full_url) -> str | None:
    """A resource's source id, ``type/id``, or ``type/fullUrl`` for one named by its Bundle
    entry's fullUrl alone (as sent: ``records.check`` keeps it with the white space at its
    ends stripped, so it is looked up so, ``_Reader.sent_before``)."""
    rtype, rid = resource.get("resourceType"), resource.get("id")
    if isinstance(rid, str) and rid:
        return f"{rtype}/{rid}"
    if isinstance(full_url, str) and full_url:
        return f"{rtype}/{full_url}"
    return None


class _Reader:
    def __init__(self, today: date, agency: str, lookups: Lookups):
        self.today, self.agency, self.lookups = today, agency, lookups
        self.full_urls: dict[str, str] = {}
        self.born: dict[str, str | None] = {}
        # encounter -> [(finding's source id, words, subject, withdrawn)], in Bundle order
        self.findings: dict[str, list[tuple[str, list[str], str, bool]]] = {}
        # contact -> the version of it read (0: none sent before), for every contact whose
        # content last sent was looked up: what this Bundle writes of it is made from that
        self.read: dict[str, int] = {}

    def sent_before(self, source_ids) -> dict[str, dict]:
        """The content last sent of each of these contacts sent before; the versions read
        (and the ids never sent) noted. Looked up as they are kept, the white space at
        their ends stripped ("Encounter/urn:uuid:e1 " named by a fullUrl so is kept as
        "Encounter/urn:uuid:e1"): looked up as sent, it was never found, and every Bundle
        that changed it was refused as stale."""
        kept = {sid: sid.strip() for sid in source_ids}
        found = self.lookups.contact_contents(sorted(set(kept.values())))
        for sid in source_ids:
            self.read.setdefault(sid, found[kept[sid]][0] if kept[sid] in found else 0)
        return {sid: found[kept[sid]][1] for sid in source_ids if kept[sid] in found}

    def index(self, entries: list) -> None:
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
                continue
            resource = entry["resource"]
            sid = source_id(resource, entry.get("fullUrl"))
            if sid and isinstance(entry.get("fullUrl"), str):
                self.full_urls[entry["fullUrl"]] = sid
            if sid and resource.get("resourceType") == "Patient":
                self.born[sid] = (
                    resource.get("birthDate")
                    if isinstance(resource.get("birthDate"), str)
                    else None
                )

    def ref(self, reference, field_: str, required: bool = True) -> str | None:
        text = reference.get("reference") if isinstance(reference, dict) else None
        if not isinstance(text, str) or not text:
            if required:
                raise Unreadable(field_, "a reference is required here")
            return None
        if text in self.full_urls:
            return self.full_urls[text]
        parts = text.rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] in ("Patient", "RelatedPerson", "Encounter"):
            return f"{parts[-2]}/{parts[-1]}"
        raise Unreadable(
            field_, "the reference names nothing in this Bundle or sent before (Patient/<id>)"
        )

    def convert(self, resource: dict, full_url) -> list[tuple[str, dict]]:
        sid = source_id(resource, full_url)
        if not sid:
            raise Unreadable("id", "a resource needs an id (or a fullUrl in the Bundle)")
        rtype = resource["resourceType"]
        if resource.get("status") == "entered-in-error" and rtype in WITHDRAWN_AS:
            return self._withdrawn(resource, rtype, sid)
        return getattr(self, "_" + rtype.lower())(resource, sid)

    def _withdrawn(self, resource: dict, rtype: str, sid: str) -> list[tuple[str, dict]]:
        """The sender withdraws what it sent: the contact as it was last sent, kept, and
        marked entered in error (it counts for nothing; the alerts it caused are
        withdrawn). Sent again with its real status, it counts again. A resource never
        sent before is read as it would have been (``WITHDRAWN_AS``) and kept so."""
        sids = [f"{sid}#start", f"{sid}#end"] if rtype == "Flag" else [sid]
        sent = self.sent_before(sids)
        earlier = [sent[s] for s in sids if s in sent]
        if earlier:
            return [(rec.CONTACT, {**c, "entered_in_error": True}) for c in earlier]
        try:
            read = getattr(self, "_" + rtype.lower())(
                {**resource, "status": WITHDRAWN_AS[rtype]}, sid
            )
        except Unreadable as exc:
            why = exc.reasons[0]
            raise Unreadable(
                why["field"], f"a withdrawal of nothing sent before: {why['problem']}"
            ) from exc
        return [(kind, {**record, "entered_in_error": True}) for kind, record in read]

    # -- people ------------------------------------------------------------------------------
    def _identity(self, r: dict) -> dict:
        out: dict = {}
        for ident in r.get("identifier") or []:
            if ident.get("system") == NHS_SYSTEM and ident.get("value"):
                out["nhs_number"] = str(ident["value"]).replace(" ", "")
        names = r.get("name") or []
        name = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
        if name:
            if name.get("given"):
                out["given_name"] = name["given"][0]
            if name.get("family"):
                out["family_name"] = name["family"]
        gender = r.get("gender")
        if gender in ("female", "male"):
            out["sex"] = gender
        if r.get("birthDate"):
            born = _date_of(r["birthDate"])
            if born is None:
                raise Unreadable("birthDate", "a full date of birth is needed (YYYY-MM-DD)")
            out["born_on"] = born
        addresses = r.get("address") or []
        if addresses:
            a = addresses[0]
            out["address"] = ", ".join(
                [*(a.get("line") or []), *([a["city"]] if a.get("city") else [])]
            )[:200]
            if a.get("postalCode"):
                out["postcode"] = a["postalCode"]
        security = (r.get("meta") or {}).get("security") or []
        if any(s.get("code") in CONFIDENTIAL for s in security if isinstance(s, dict)):
            out["do_not_disclose"] = True
        return {k: v for k, v in out.items() if v not in ("", None)}

    def _is_infant(self, born: str | None, on: date | None = None) -> bool:
        if not born or len(born) < 10:
            return False
        try:
            return 0 <= ((on or self.today) - date.fromisoformat(born[:10])).days < 366
        except ValueError:
            return False

    def _patient(self, r: dict, sid: str) -> list[tuple[str, dict]]:
        person = {"source_id": sid, **self._identity(r)}
        person["role"] = "child" if self._is_infant(person.get("born_on")) else "adult"
        return [(rec.PERSON, person)]

    def _relatedperson(self, r: dict, sid: str) -> list[tuple[str, dict]]:
        patient = self.ref(r.get("patient"), "patient")
        codes = _codes(r.get("relationship"), "http://terminology.hl7.org/CodeSystem/v3-RoleCode")
        role, kind = next((RELATED[c] for c in codes if c in RELATED), ("relative", ""))
        person = {"source_id": sid, "role": role, "child": patient, **self._identity(r)}
        out = [(rec.PERSON, person)]
        if kind:
            out.append(
                (
                    rec.RELATIONSHIP,
                    {
                        "source_id": f"{sid}#relationship",
                        "person": sid,
                        "kind": kind,
                        "other": patient,
                    },
                )
            )
        return out

    # -- contacts ----------------------------------------------------------------------------
    def _contact(self, sid: str, kind: str, on, subjects: list[str], **more) -> dict:
        occurred = _date_of(on)
        if occurred is None:
            raise Unreadable("date", "when it happened is required (a full date)")
        record = {"source_id": sid, "kind": kind, "occurred_on": occurred, "subjects": subjects}
        record.update({k: v for k, v in more.items() if v not in ("", None, [])})
        return record

    def _recorded(self, r: dict) -> str | None:
        return _date_of((r.get("meta") or {}).get("lastUpdated"))

    def _not_seen(self, r: dict) -> list[str]:
        """The people the contact was about who were not there (``NOT_SEEN``)."""
        refs = [
            e.get("valueReference")
            for e in r.get("extension") or []
            if isinstance(e, dict) and e.get("url") == NOT_SEEN
        ]
        absent = self._people(refs, "extension")
        if len(absent) < len(refs):
            raise Unreadable(
                "extension", "not-seen names a Patient or RelatedPerson (valueReference)"
            )
        return absent

    def _people(self, refs, field_: str) -> list[str]:
        out = []
        for ref in refs:
            text = ref.get("reference") if isinstance(ref, dict) else None
            if not isinstance(text, str):
                continue
            # Practitioners, locations, devices take part too: only people of the family count.
            target = self.full_urls.get(text, text)
            if target.rstrip("/").split("/")[-2:-1] not in (["Patient"], ["RelatedPerson"]):
                continue
            sid = self.ref(ref, field_, required=False)
            if sid:
                out.append(sid)
        return out

    def _encounter(self, r: dict, sid: str) -> list[tuple[str, dict]]:
        subject = self.ref(r.get("subject"), "subject")
        kinds = _codes(r.get("type"), KIND_SYSTEM)
        klass = (r.get("class") or {}).get("code")
        kind, channel = (
            (kinds[0], CHANNEL_OF_KIND.get(kinds[0], ""))
            if kinds
            else ENCOUNTER_CLASS.get(klass, ("", ""))
        )
        if not kind:
            raise Unreadable(
                "type",
                f"say what kind of contact: a type coded in {KIND_SYSTEM}, or class HH, AMB, EMER, IMP or VR",
            )
        if klass in ENCOUNTER_CLASS and not channel:
            channel = ENCOUNTER_CLASS[klass][1]
        status = r.get("status")
        if status in ("planned",):
            raise Unreadable("status", "a planned encounter has not happened: send it once it has")
        outcome = {"cancelled": "cancelled_by_service"}.get(
            status, "attended" if status != "unknown" else ""
        )
        others = self._people(
            [p.get("individual") for p in r.get("participant") or [] if isinstance(p, dict)],
            "participant",
        )
        absent = self._not_seen(r)
        subjects = list(dict.fromkeys([subject, *others, *absent]))
        seen = [p for p in subjects if p not in absent] if outcome == "attended" else []
        start = (r.get("period") or {}).get("start")
        return [
            (
                rec.CONTACT,
                self._contact(
                    sid,
                    kind,
                    start,
                    subjects,
                    outcome=outcome,
                    channel=channel,
                    seen=seen,
                    recorded_on=self._recorded(r),
                ),
            )
        ]

    def _appointment(self, r: dict, sid: str) -> list[tuple[str, dict]]:
        people = self._people(
            [p.get("actor") for p in r.get("participant") or [] if isinstance(p, dict)],
            "participant",
        )
        if not people:
            raise Unreadable(
                "participant", "an appointment names the patient among its participants"
            )
        absent = self._not_seen(r)  # about them too, and not there
        people = list(dict.fromkeys([*people, *absent]))
        kinds = _codes(
            [
                *(r.get("serviceType") or []),
                *([r["appointmentType"]] if r.get("appointmentType") else []),
            ],
            KIND_SYSTEM,
        )
        appt_codes = _codes(
            r.get("appointmentType"), "http://terminology.hl7.org/CodeSystem/v2-0276"
        )
        home = (kinds and kinds[0] in ("home_visit", "new_birth_visit")) or "HH" in appt_codes
        kind = kinds[0] if kinds else ("home_visit" if home else "clinic_contact")
        channel = "home_visit" if home else "clinic"
        on = _date_of(r.get("start"))
        status = r.get("status")
        if status == "fulfilled":
            outcome = "attended"
        elif status == "noshow":
            on_day = date.fromisoformat(on) if on else None
            child = any(
                p.startswith("Patient/")
                and (
                    self._is_infant(self.born.get(p), on_day)
                    if p in self.born
                    else self.lookups.is_child(p)
                )
                for p in people
            )
            # A visit at home that finds nobody in is no access; a baby not brought to a clinic
            # is the baby's missed care (was not brought); an adult's own, did not attend.
            outcome = "no_access" if home else ("was_not_brought" if child else "did_not_attend")
        elif status == "cancelled":
            reasons = _codes(
                r.get("cancelationReason"),
                "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
            )
            outcome = (
                "cancelled_by_family"
                if any(c.startswith("pat") for c in reasons)
                else "cancelled_by_service"
            )
        else:
            raise Unreadable(
                "status",
                "an appointment is taken once it has happened: fulfilled, noshow or cancelled",
            )
        seen = [p for p in people if p not in absent] if outcome == "attended" else []
        return [
            (
                rec.CONTACT,
                self._contact(
                    sid,
                    kind,
                    r.get("start"),
                    people,
                    outcome=outcome,
                    channel=channel,
                    seen=seen,
                    recorded_on=self._recorded(r),
                ),
            )
        ]

    def _finding(self, r: dict, sid: str, concepts) -> list[tuple[str, dict]]:
        codes = _codes(concepts, SNOMED)
        if not codes:
            raise Unreadable("code", "no SNOMED CT code (system http://snomed.info/sct)")
        bad = [c for c in codes if not is_sctid(c)]
        words = [w for w in (finding_for(c) for c in codes) if w]
        if not words:
            why = (
                "a SNOMED CT code's check digit is wrong"
                if bad
                else "no mapped SNOMED CT code (see cradle/feeds/snomed_findings.toml)"
            )
            raise Unreadable("code", why)
        encounter = self.ref(r.get("encounter"), "encounter", required=False)
        if not encounter:
            raise Unreadable(
                "encounter", "an Observation or Condition is taken with its Encounter (encounter)"
            )
        subject = self.ref(r.get("subject"), "subject")
        # Sent entered in error or cancelled (a Condition: entered in error or refuted),
        # the finding is withdrawn from its encounter.
        withdrawn = r.get("status") in ("entered-in-error", "cancelled") or bool(
            {"entered-in-error", "refuted"}
            & set(_codes(r.get("verificationStatus"), CONDITION_VERIFICATION))
        )
        self.findings.setdefault(encounter, []).append((sid, words, subject, withdrawn))
        return [("finding", {"source_id": sid, "encounter": encounter})]

    def _observation(self, r: dict, sid: str):
        return self._finding(r, sid, [r.get("code"), r.get("valueCodeableConcept")])

    def _condition(self, r: dict, sid: str):
        return self._finding(r, sid, [r.get("code")])

    def _episodeofcare(self, r: dict, sid: str):
        if r.get("status") in ("planned", "waitlist"):
            raise Unreadable("status", "an episode of care is taken once it has begun")
        patient = self.ref(r.get("patient"), "patient")
        start = (r.get("period") or {}).get("start")
        return [
            (
                rec.CONTACT,
                self._contact(sid, "registration", start, [patient], recorded_on=self._recorded(r)),
            )
        ]

    def _servicerequest(self, r: dict, sid: str):
        subject = self.ref(r.get("subject"), "subject")
        kinds = _codes(r.get("category"), KIND_SYSTEM)
        kind = (
            kinds[0] if kinds and kinds[0] in ("referral", "safeguarding_referral") else "referral"
        )
        to = _codes([r.get("performerType"), *(r.get("category") or [])], AGENCY_SYSTEM)
        return [
            (
                rec.CONTACT,
                self._contact(
                    sid,
                    kind,
                    r.get("authoredOn"),
                    [subject],
                    to_agency=to[0] if to else "",
                    recorded_on=self._recorded(r),
                ),
            )
        ]

    def _flag(self, r: dict, sid: str):
        if CP_PLAN not in _codes(r.get("code"), FLAG_SYSTEM):
            raise Unreadable(
                "code", f"only child protection plan flags are taken ({FLAG_SYSTEM}#{CP_PLAN})"
            )
        subject = self.ref(r.get("subject"), "subject")
        period = r.get("period") or {}
        out = [
            (
                rec.CONTACT,
                self._contact(
                    f"{sid}#start", "child_protection_plan_start", period.get("start"), [subject]
                ),
            )
        ]
        if period.get("end"):
            out.append(
                (
                    rec.CONTACT,
                    self._contact(
                        f"{sid}#end", "child_protection_plan_end", period.get("end"), [subject]
                    ),
                )
            )
        return out

    def _questionnaireresponse(self, r: dict, sid: str):
        if r.get("status") not in ("completed", "amended"):
            raise Unreadable("status", "an assessment is taken once completed")
        subject = self.ref(r.get("subject"), "subject")
        form = str(r.get("questionnaire") or "")
        version = form.split("|", 1)[1] if "|" in form else form.rstrip("/").rsplit("/", 1)[-1]
        answers: dict = {}

        def walk(items):
            for item in items or []:
                for answer in item.get("answer") or []:
                    for key, value in answer.items():
                        if key.startswith("value"):
                            answers[str(item.get("linkId"))[:100]] = (
                                value.get("code") if isinstance(value, dict) else value
                            )
                    walk(answer.get("item"))
                walk(item.get("item"))

        walk(r.get("item"))
        return [
            (
                rec.CONTACT,
                self._contact(
                    sid, "parenting_assessment", r.get("authored"), [subject], outcome="attended", seen=[subject],
                    assessment_form=version[:20] or "unversioned", assessment_answers=answers,
                ),
            )
        ]  # fmt: skip

    # -- findings join their encounter ------------------------------------------------------
    def attach_findings(self, converted: list[tuple[int, int, Item]]) -> None:
        """Each finding joins its encounter's contact, kept there by the resource that
        found it (``finding_sources``: its words, and its subject when the encounter was
        not about them), so that the Encounter sent again keeps what its Observations
        found, and an Observation sent again, changed or withdrawn changes only its own."""
        contacts = {
            item.data["source_id"]: item
            for _o, _i, item in converted
            if item.kind == rec.CONTACT and item.data and not item.problems
        }
        wanted = {sid for sid in contacts if sid.startswith("Encounter/")}
        wanted |= {item.data["encounter"] for _o, _i, item in converted if item.kind == "finding"}
        earlier = self.sent_before(sorted(wanted)) if wanted else {}
        for index, (_order, i, item) in enumerate(converted):
            if item.kind != "finding":
                continue
            encounter = item.data["encounter"]
            if encounter in contacts:
                converted[index] = (99, i, None)
                continue
            if encounter not in earlier:
                item.problems = [
                    {
                        "field": "encounter",
                        "problem": "its Encounter is neither in this Bundle nor sent before",
                    }
                ]
                item.kind, item.data = "", None
                continue
            # A finding about an encounter sent before is a new version of that contact.
            before = earlier[encounter]
            target = Item(
                item.locator,
                rec.CONTACT,
                item.raw,
                {k: v for k, v in before.items() if v not in ("", None, [])},
                [],
                item.record_type,
                item.context,
            )
            contacts[encounter] = target
            converted[index] = (3, i, target)
        for sid, target in contacts.items():
            found = self.findings.pop(sid, [])
            if found or sid in earlier:
                _join_findings(target.data, found, earlier.get(sid))
        converted[:] = [t for t in converted if t[2] is not None]


def _join_findings(data: dict, found: list, before: dict | None) -> None:
    """The contact ``data`` with its findings by resource: those it had (its own, when it
    is the content last sent, as for a finding about an encounter sent before or a
    withdrawal; else those last sent), and ``found`` in this Bundle over them, in order:
    a resource's words replaced, or taken away when it is withdrawn. The subjects are
    the contact's own, then those only a finding names (sorted: the content, and its
    hash, the same however often it is sent)."""
    if rec.FINDING_SOURCES in data:
        sources = _sources_of(data)
        added = {v["subject"] for v in sources.values() if v.get("added")}
        own = [s for s in data["subjects"] if s not in added]
    else:  # the Encounter as sent now (or last sent before findings were kept by resource)
        sources, own = _sources_of(before or data), list(data["subjects"])
    for sid, words, subject, withdrawn in found:
        taken: list[str] = []
        if LEGACY in sources:  # its words were among those kept by word: no longer
            kept = set(sources[LEGACY]["words"])
            taken = sorted(kept & set(words))
            sources[LEGACY]["words"] = sorted(kept - set(words))
        if withdrawn:
            # Kept, marked withdrawn, with what it had found (not what the withdrawal
            # says): it counts for nothing, and an alert it raised is withdrawn, not
            # resolved (cradle.records.evaluation). Nothing is kept of a resource that
            # had found nothing here.
            was = sources.pop(sid, None)
            if was is not None and (was.get("withdrawn") or was["words"]):
                sources[sid] = {"words": was["words"], "subject": was["subject"], "withdrawn": True}
            elif was is None and taken:
                sources[sid] = {"words": taken, "subject": "", "withdrawn": True}
        else:
            sources[sid] = {"words": sorted(set(words)), "subject": subject}
    added = set()
    for source in sources.values():
        source.pop("added", None)
        if source.get("withdrawn"):
            continue
        if source["subject"] and source["subject"] not in own:
            source["added"] = True
            added.add(source["subject"])
    if LEGACY in sources and not sources[LEGACY]["words"]:
        del sources[LEGACY]
    data["subjects"] = [*own, *sorted(added)]
    data.pop("findings", None)
    data.pop(rec.FINDING_SOURCES, None)
    words = sorted({w for v in sources.values() if not v.get("withdrawn") for w in v["words"]})
    if words:
        data["findings"] = words
    if set(sources) - {LEGACY}:  # words kept by word alone stay as they were sent
        data[rec.FINDING_SOURCES] = sources


# The findings of a contact last sent before they were kept by resource.
LEGACY = "*"


def _sources_of(content: dict) -> dict:
    sources = content.get(rec.FINDING_SOURCES)
    if sources:
        return {k: dict(v) for k, v in sources.items()}
    if content.get("findings"):
        return {LEGACY: {"words": list(content["findings"]), "subject": ""}}
    return {}
