"""The three kinds of record every feed becomes (a person, a relationship, a contact),
and their checks. Plain Python: the API, the CSV and the FHIR readers all produce these
dictionaries, so that one set of checks decides what is taken.

A reason is ``{"field": ..., "problem": ...}`` and never repeats a personal value (a
name, an NHS number, a date, a note): reasons are shown on pages and may reach logs.
Only words of the vocabulary, which are not personal, are quoted back.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date

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
from cradle.records.nhs_number import is_valid_nhs_number

PERSON, RELATIONSHIP, CONTACT = "person", "relationship", "contact"
KINDS = (PERSON, RELATIONSHIP, CONTACT)

# The fields of each kind of record, as the CSV layouts name their columns (docs/feeds.md).
FIELDS: dict[str, tuple[str, ...]] = {
    PERSON: (
        "source_id", "role", "sex", "nhs_number", "given_name", "family_name", "born_on", "due_on",
        "address", "postcode", "do_not_disclose", "child",
    ),
    RELATIONSHIP: ("source_id", "person", "kind", "other", "from_on"),
    CONTACT: (
        "source_id", "kind", "occurred_on", "recorded_on", "outcome", "channel", "to_agency", "touchpoint",
        "subjects", "seen", "delivered_to", "findings", "note", "assessment_form", "assessment_answers",
        "entered_in_error",
    ),
}  # fmt: skip
REQUIRED: dict[str, tuple[str, ...]] = {
    PERSON: ("source_id", "role"),
    RELATIONSHIP: ("source_id", "person", "kind", "other"),
    CONTACT: ("source_id", "kind", "occurred_on", "subjects"),
}
LISTS = ("subjects", "seen", "delivered_to", "findings")
# A contact's findings by the resource that found each (FHIR: an Observation or Condition
# is a record of its own, joined to its encounter): {source id: {"words": [...],
# "subject": id, "added": true when that subject is a subject only through it}}. Not a
# column of the CSV layout, nor a field of the API: the FHIR reader's (cradle.feeds.fhir).
FINDING_SOURCES = "finding_sources"
MAX_ID = 150
MAX_NOTE = 4000
UNENCODABLE = "contains a character that cannot be encoded as UTF-8 (a lone surrogate)"
_WORD = re.compile(r"^[a-z_]{1,40}$")

# The role in the baby's family of a person with this relationship to the baby.
ROLE_OF_KIND = {
    "mother_of": "mother",
    "father_of": "father",
    "partner_of": "partner",
    "sibling_of": "sibling",
    "grandparent_of": "grandparent",
    "lives_with": "household_member",
}


def safe(text, limit: int = 200) -> str:
    """Text fit for a reason: printable only (no NUL, which databases refuse), short."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return text[:limit]


def reason(field: str, problem: str) -> dict:
    return {"field": safe(field, 80), "problem": safe(problem)}


class Problems(list):
    def add(self, field: str, problem: str) -> None:
        self.append(reason(field, problem))


def _word(value) -> str:
    """A vocabulary word is quoted back; anything else is not (it may be personal)."""
    return f"'{value}'" if isinstance(value, str) and _WORD.match(value) else "the value given"


def _text(data: dict, key: str, problems: Problems, limit: int = 100) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add(key, "must be text")
        return ""
    value = value.strip()
    if len(value) > limit:
        problems.add(key, f"longer than {limit} characters")
    if "\x00" in value:
        problems.add(key, "contains a NUL character")
    return value


def _date(data: dict, key: str, problems: Problems) -> date | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        problems.add(key, "must be a date (YYYY-MM-DD)")
        return None
    value = value.strip()
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        problems.add(key, "is not a date (YYYY-MM-DD)")
        return None


def _choice(data: dict, key: str, enum, problems: Problems, what: str) -> str:
    value = _text(data, key, problems, 40)
    if value and value not in enum._value2member_map_:
        problems.add(key, f"{_word(value)} is not {what}")
        return ""
    return value


def _ids(data: dict, key: str, problems: Problems) -> list[str]:
    value = data.get(key)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in (x.strip() for x in value.split(";")) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(key, "must be a list of ids")
        return []
    value = [v.strip() for v in value]
    if any(not v or len(v) > MAX_ID or not v.isprintable() for v in value):
        problems.add(key, f"every id must be 1 to {MAX_ID} printable characters")
    return sorted(set(value)) if key != "subjects" else list(dict.fromkeys(value))


def named_ids(data: dict, key: str) -> list[str]:
    """The ids in a field of a record as sent, whatever is wrong with them (the ids a
    refused record names: ``ingest.mark_many`` keeps those that could be ids)."""
    return _ids(data, key, Problems())


def _bool(data: dict, key: str, problems: Problems) -> bool:
    value = data.get(key)
    if value in (None, ""):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    problems.add(key, "must be true or false")
    return False


def check(kind: str, data, today: date) -> tuple[dict, list[dict]]:
    """The record made clean (every field present, in its canonical form), and the reasons
    it cannot be taken (none when it can)."""
    problems = Problems()
    if kind not in KINDS:
        problems.add(
            "type", f"{_word(kind)} is not a kind of record (person, relationship, contact)"
        )
        return {}, problems
    if not isinstance(data, dict):
        problems.add("record", "must be an object of named fields")
        return {}, problems
    unknown = sorted(
        k for k in data if k not in FIELDS[kind] and not (kind == CONTACT and k == FINDING_SOURCES)
    )
    for key in unknown:
        problems.add(str(key)[:40], f"is not a field of a {kind} record")
    for key in REQUIRED[kind]:
        if data.get(key) in (None, "", []):
            problems.add(key, "is required")
    clean: dict = {"source_id": _text(data, "source_id", problems, MAX_ID)}
    if kind == PERSON:
        clean["role"] = _choice(data, "role", Role, problems, "a role in the family")
        clean["sex"] = (
            _choice(data, "sex", Sex, problems, "a sex (female, male, unknown)") or "unknown"
        )
        nhs = _text(data, "nhs_number", problems, 20).replace(" ", "")
        if nhs and not is_valid_nhs_number(nhs):
            problems.add(
                "nhs_number", "is not a valid NHS number (ten digits, the last a check digit)"
            )
        clean["nhs_number"] = nhs
        clean["given_name"] = _text(data, "given_name", problems)
        clean["family_name"] = _text(data, "family_name", problems)
        born, due = _date(data, "born_on", problems), _date(data, "due_on", problems)
        if born and born > today:
            problems.add("born_on", "is after the day it was received")
        clean["born_on"], clean["due_on"] = born, due
        clean["address"] = _text(data, "address", problems, 200)
        clean["postcode"] = _text(data, "postcode", problems, 10)
        clean["do_not_disclose"] = _bool(data, "do_not_disclose", problems)
        clean["child"] = _text(data, "child", problems, MAX_ID)
        if clean["role"] == "child" and clean["child"]:
            problems.add("child", "a child is the baby of their own family: leave it empty")
    elif kind == RELATIONSHIP:
        clean["person"] = _text(data, "person", problems, MAX_ID)
        clean["kind"] = _choice(data, "kind", RelationshipKind, problems, "a kind of relationship")
        clean["other"] = _text(data, "other", problems, MAX_ID)
        clean["from_on"] = _date(data, "from_on", problems)
        if clean["person"] and clean["person"] == clean["other"]:
            problems.add("other", "a person cannot be related to themselves")
        if clean["from_on"] and clean["from_on"] > today:
            problems.add("from_on", "is after the day it was received")
    else:
        clean["kind"] = _choice(data, "kind", EventKind, problems, "a kind of contact")
        occurred, recorded = (
            _date(data, "occurred_on", problems),
            _date(data, "recorded_on", problems),
        )
        recorded = recorded or today
        if recorded > today:
            problems.add("recorded_on", "is after the day it was received")
        if occurred and occurred > recorded:
            problems.add(
                "occurred_on",
                "is after the day it was recorded or received: an event cannot be reported before it happens",
            )
        clean["occurred_on"], clean["recorded_on"] = occurred, recorded
        clean["outcome"] = _choice(data, "outcome", Outcome, problems, "an outcome")
        clean["channel"] = _choice(data, "channel", Channel, problems, "a channel")
        clean["to_agency"] = _choice(data, "to_agency", Agency, problems, "an agency")
        clean["touchpoint"] = _choice(
            data, "touchpoint", Touchpoint, problems, "an ICON touchpoint"
        )
        for key in ("subjects", "seen", "delivered_to"):
            clean[key] = _ids(data, key, problems)
        words = _ids(data, "findings", problems)
        for w in words:
            if w not in Finding._value2member_map_:
                problems.add("findings", f"{_word(w)} is not a finding")
        clean["findings"] = [w for w in words if w in Finding._value2member_map_]
        clean["note"] = _text(data, "note", problems, MAX_NOTE)
        clean["assessment_form"] = _text(data, "assessment_form", problems, 20)
        answers = data.get("assessment_answers")
        if isinstance(answers, str) and answers.strip():
            try:
                answers = json.loads(answers)
            except ValueError:
                problems.add("assessment_answers", "is not JSON")
                answers = None
        if answers in (None, ""):
            answers = None
        elif not isinstance(answers, dict):
            problems.add("assessment_answers", "must be an object of answers")
            answers = None
        clean["assessment_answers"] = answers
        if clean["kind"] == "referral" and not clean["to_agency"]:
            problems.add("to_agency", "a referral says to which agency")
        if clean["kind"] == "icon_delivered" and not (
            clean["touchpoint"] and clean["delivered_to"]
        ):
            problems.add("delivered_to", "an ICON delivery says to whom and at which touchpoint")
        if (
            clean["kind"] == "parenting_assessment"
            and answers is not None
            and not clean["assessment_form"]
        ):
            problems.add("assessment_form", "a structured assessment names its form version")
        seen_not_subject = set(clean["seen"]) - set(clean["subjects"]) - set(clean["delivered_to"])
        if seen_not_subject:
            problems.add("seen", "everyone seen must also be a subject")
        # The sender withdrawing what it sent: kept, counting for nothing. Only when true, so
        # that a record's content (and its hash: re-sent, unchanged) is as it always was.
        if _bool(data, "entered_in_error", problems):
            clean["entered_in_error"] = True
        sources = _finding_sources(data.get(FINDING_SOURCES), problems)
        if sources:  # only when there are some: other records' content is as it was
            clean[FINDING_SOURCES] = sources
            # What they found is the contact's findings, and whom, among its subjects (but
            # for what was withdrawn).
            standing = [v for v in sources.values() if not v.get("withdrawn")]
            if {w for v in standing for w in v["words"]} - set(clean["findings"]) or {
                v["subject"] for v in standing if v["subject"]
            } - set(clean["subjects"]):
                problems.add(FINDING_SOURCES, "names findings or subjects the contact does not")
    # Text that is not Unicode (a lone surrogate: JSON's "\ud800" escape reads as one)
    # cannot be written as UTF-8 by any database: refused, wherever it is (an id, a text,
    # a key or a value of the assessment answers, at any depth).
    unencodable = sorted(key for key, value in clean.items() if _unencodable(value))
    for key in unencodable:
        problems.add(key, UNENCODABLE)
    if (
        clean["source_id"]
        and not clean["source_id"].isprintable()
        and "source_id" not in unencodable
    ):
        problems.add("source_id", "contains control characters")
    # Databases refuse NUL in text and JSON. Every text and id above is checked for it (an id
    # must be printable); what is left is the structure of a contact's assessment answers.
    if _has_nul(clean.get("assessment_answers")):
        problems.add("record", "contains a NUL character")
    return clean, list(problems)


def _finding_sources(value, problems: Problems) -> dict:
    if value in (None, "", {}):
        return {}
    bad = "must map the id of each resource that found something to its words and subject"
    if not isinstance(value, dict):
        problems.add(FINDING_SOURCES, bad)
        return {}
    out = {}
    for sid, found in value.items():
        if not (isinstance(sid, str) and 0 < len(sid) <= MAX_ID and sid.isprintable()):
            problems.add(FINDING_SOURCES, bad)
            continue
        words = found.get("words") if isinstance(found, dict) else None
        subject = found.get("subject", "") if isinstance(found, dict) else None
        if not (
            isinstance(words, list)
            and all(isinstance(w, str) and w in Finding._value2member_map_ for w in words)
            and isinstance(subject, str)
            and len(subject) <= MAX_ID
            and subject.isprintable()
        ):
            problems.add(FINDING_SOURCES, bad)
            continue
        out[sid] = {"words": sorted(set(words)), "subject": subject}
        if found.get("withdrawn") is True:
            out[sid]["withdrawn"] = True
        elif found.get("added") is True:
            out[sid]["added"] = True
    return dict(sorted(out.items()))


def _strings(value):
    """Every text in a record's value: itself, or the keys and values of its structure."""
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def _unencodable(value) -> bool:
    """Does ``value`` hold text that cannot be encoded as UTF-8 (a lone surrogate)?"""
    for text in _strings(value):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def content_hash(clean: dict) -> str:
    return hashlib.sha256(canonical(clean).encode()).hexdigest()


def canonical(clean: dict) -> str:
    return json.dumps(clean, sort_keys=True, default=str, separators=(",", ":"))


def as_json(clean: dict) -> dict:
    """The clean record with dates as text (what a version keeps)."""
    return json.loads(canonical(clean))
