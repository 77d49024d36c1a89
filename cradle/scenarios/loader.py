"""Reads a ``cradle-scenario/1`` case file into a :class:`Case`.

Everything is checked before anything is built, and every problem is reported
with the file, the entry (``events[7].outcome``) and what is wrong, so a case
file is either loaded whole or not at all.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from cradle.domain import (
    Agency,
    Channel,
    Event,
    EventKind,
    Finding,
    Harm,
    HarmKind,
    Identity,
    Outcome,
    Person,
    Relationship,
    RelationshipKind,
    Role,
    Sex,
    Timeline,
    Touchpoint,
    sort_events,
)
from cradle.scenarios.case import Case, Expectation

FORMAT = "cradle-scenario/1"

TOP_KEYS = {
    "format": True,
    "id": True,
    "title": True,
    "source": True,
    "birth_date": True,
    "index_child": False,
    "due_day": False,
    "people": True,
    "relationships": False,
    "events": True,
    "harm": False,
    "expect": False,
}
PERSON_KEYS = {"id": True, "role": True, "sex": True, "born_day": False, "identity": False, "known_to": False}
IDENTITY_KEYS = {"given": False, "family": False, "nhs_number": False, "address": False, "postcode": False}
RELATIONSHIP_KEYS = {"person": True, "kind": True, "other": True, "recorded_by": True, "from_day": False}
EVENT_KEYS = {
    "day": True,
    "recorded_day": False,
    "agency": True,
    "kind": True,
    "subjects": True,
    "outcome": False,
    "channel": False,
    "seen": False,
    "findings": False,
    "to_agency": False,
    "delivered_to": False,
    "touchpoint": False,
    "note": False,
}
HARM_KEYS = {"day": True, "kind": True}
EXPECT_KEYS = {
    "rule": True,
    "by_day": False,
    "from_day": False,
    "step": False,
    "child": False,
    "never": False,
    "until_day": False,
}


class CaseFileError(ValueError):
    """A case file that cannot be loaded; ``problems`` lists every reason."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  {path}: {p}" for p in problems)
        super().__init__(f"{path}: cannot load this case file ({len(problems)} problem(s)):\n{lines}")


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}" if where else problem)

    def mapping(self, value: Any, where: str, keys: Mapping[str, bool]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(where, f"expected a mapping of keys, found {_kind(value)}")
            return None
        ok = True
        for key in value:
            if key not in keys:
                hint = _did_you_mean(str(key), keys)
                self.fail(_join(where, str(key)), f"unknown key{hint}")
                ok = False
        for key, required in keys.items():
            if required and key not in value:
                self.fail(where or "the file", f"missing required key '{key}'")
                ok = False
        return value if ok or isinstance(value, dict) else None

    def day(self, value: Any, where: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"expected a whole number of days, found {_show(value)}")
            return None
        return value

    def text(self, value: Any, where: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"expected text, found {_show(value)}")
            return None
        return value

    def word(self, value: Any, where: str, vocabulary: type[StrEnum], what: str) -> Any:
        if not isinstance(value, str):
            self.fail(where, f"expected {what}, found {_show(value)}")
            return None
        try:
            return vocabulary(value)
        except ValueError:
            hint = _did_you_mean(value, [w.value for w in vocabulary])
            self.fail(where, f"'{value}' is not {what}{hint}")
            return None

    def words(self, value: Any, where: str, vocabulary: type[StrEnum], what: str) -> tuple:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(where, f"expected a list, found {_show(value)}")
            return ()
        out = [self.word(v, f"{where}[{i}]", vocabulary, what) for i, v in enumerate(value)]
        return tuple(w for w in out if w is not None)

    def ids(self, value: Any, where: str, declared: Iterable[str]) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(where, f"expected a list of person ids, found {_show(value)}")
            return ()
        declared = set(declared)
        out = []
        for i, v in enumerate(value):
            if self.person_id(v, f"{where}[{i}]", declared):
                out.append(str(v))
        return tuple(out)

    def person_id(self, value: Any, where: str, declared: set[str]) -> bool:
        if not isinstance(value, str) or value not in declared:
            hint = _did_you_mean(str(value), declared)
            self.fail(where, f"person '{value}' is not declared in people{hint}")
            return False
        return True


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text"}.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def load_case(path: str | Path, rule_ids: Iterable[str] | None = None) -> Case:
    """Load a case file; raise :class:`CaseFileError` naming every problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseFileError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    return parse_case(raw, str(path), rule_ids=rule_ids, path=path)


def parse_case(
    raw: bytes | str, name: str = "<case>", rule_ids: Iterable[str] | None = None, path: Path | None = None
) -> Case:
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CaseFileError(name, [f"not a text file (not UTF-8 at byte {exc.start})"]) from None
    else:
        text = raw
    if not text.strip():
        raise CaseFileError(name, ["the file is empty"])
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CaseFileError(name, [f"{where}not valid YAML ({problem})"]) from None
    if data is None:
        raise CaseFileError(name, ["the file is empty"])
    if not isinstance(data, dict):
        raise CaseFileError(name, [f"not a case file: expected a mapping of keys, found {_kind(data)}"])
    if rule_ids is None:
        from cradle.rules import RULE_IDS

        rule_ids = RULE_IDS
    return _build(data, name, set(rule_ids), path)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML, but duplicate keys are an error rather than silently overwritten."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def _build(data: dict, name: str, rule_ids: set[str], path: Path | None) -> Case:
    c = _Checker()
    c.mapping(data, "", TOP_KEYS)
    if "format" in data and data["format"] != FORMAT:
        c.fail("format", f"expected '{FORMAT}', found {_show(data['format'])}")
        raise CaseFileError(name, c.problems)
    for key in ("id", "title", "source"):
        if key in data:
            c.text(data[key], key)

    origin = _birth_date(c, data.get("birth_date"))
    due_day = c.day(data["due_day"], "due_day") if "due_day" in data else 0

    people, declared = _people(c, data.get("people"))
    index_child = _index_child(c, data, people, declared)

    relationships = _relationships(c, data.get("relationships"), declared)
    events = _events(c, data.get("events"), declared)

    harm = None
    if data.get("harm") is not None:
        h = c.mapping(data["harm"], "harm", HARM_KEYS)
        if h is not None:
            day = c.day(h.get("day"), "harm.day") if "day" in h else None
            kind = c.word(h.get("kind"), "harm.kind", HarmKind, "a kind of harm") if "kind" in h else None
            if day is not None and kind is not None:
                harm = Harm(day=day, kind=kind)

    expectations = _expectations(c, data.get("expect"), declared, index_child, rule_ids)

    if c.problems:
        raise CaseFileError(name, c.problems)

    if index_child is not None:
        people = tuple(
            _with_due(p, due_day if p.id == index_child else None) for p in people
        )
    timeline = Timeline(
        origin=origin,  # type: ignore[arg-type]
        people=people,
        relationships=relationships,
        events=sort_events(events),
        index_child=index_child,
    )
    return Case(
        id=data["id"],
        title=data["title"],
        source=" ".join(str(data["source"]).split()),
        timeline=timeline,
        due_day=due_day or 0,
        harm=harm,
        expectations=expectations,
        path=path,
    )


def _with_due(person: Person, due_day: int | None) -> Person:
    born = person.born_day
    if due_day is None and born is None:
        return person
    return person._replace(born_day=born if born is not None else 0, due_day=due_day)


def _birth_date(c: _Checker, value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    c.fail("birth_date", f"expected a calendar date (YYYY-MM-DD), found {_show(value)}")
    return None


def _people(c: _Checker, value: Any) -> tuple[tuple[Person, ...], set[str]]:
    if not isinstance(value, list) or not value:
        c.fail("people", f"expected a list of people, found {_show(value)}")
        return (), set()
    people: list[Person] = []
    declared: set[str] = set()
    for i, entry in enumerate(value):
        where = f"people[{i}]"
        p = c.mapping(entry, where, PERSON_KEYS)
        if p is None:
            continue
        pid = p.get("id")
        if not isinstance(pid, str) or not pid:
            c.fail(f"{where}.id", f"expected a person id, found {_show(pid)}")
            continue
        if pid in declared:
            c.fail(f"{where}.id", f"person '{pid}' is declared twice")
            continue
        declared.add(pid)
        role = c.word(p.get("role"), f"{where}.role", Role, "a role") if "role" in p else None
        sex = c.word(p.get("sex"), f"{where}.sex", Sex, "a sex") if "sex" in p else None
        born = c.day(p["born_day"], f"{where}.born_day") if p.get("born_day") is not None else None
        identity = Identity()
        if p.get("identity") is not None:
            ident = c.mapping(p["identity"], f"{where}.identity", IDENTITY_KEYS)
            if ident is not None:
                fields = {}
                for k in IDENTITY_KEYS:
                    if ident.get(k) is not None:
                        v = ident[k]
                        if not isinstance(v, str | int) or isinstance(v, bool):
                            c.fail(f"{where}.identity.{k}", f"expected text, found {_show(v)}")
                        else:
                            fields[k] = str(v)
                identity = Identity(**fields)
        known_to = c.words(p.get("known_to"), f"{where}.known_to", Agency, "an agency")
        if role is not None and sex is not None:
            people.append(
                Person(
                    id=pid, role=role, sex=sex, born_day=born, identity=identity, known_to=frozenset(known_to)
                )
            )
    return tuple(people), declared


def _index_child(c: _Checker, data: dict, people: tuple[Person, ...], declared: set[str]) -> str | None:
    if "index_child" in data:
        value = data["index_child"]
        if c.person_id(value, "index_child", declared):
            return value
        return None
    children = [p.id for p in people if p.role == Role.CHILD]
    if len(children) == 1:
        return children[0]
    if people:
        c.fail(
            "index_child",
            f"missing: required when the number of people with role 'child' is not one (found {len(children)})",
        )
    return None


def _relationships(c: _Checker, value: Any, declared: set[str]) -> tuple[Relationship, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        c.fail("relationships", f"expected a list, found {_show(value)}")
        return ()
    out = []
    for i, entry in enumerate(value):
        where = f"relationships[{i}]"
        r = c.mapping(entry, where, RELATIONSHIP_KEYS)
        if r is None:
            continue
        ok = c.person_id(r.get("person"), f"{where}.person", declared) if "person" in r else False
        ok &= c.person_id(r.get("other"), f"{where}.other", declared) if "other" in r else False
        kind = c.word(r.get("kind"), f"{where}.kind", RelationshipKind, "a relationship kind") if "kind" in r else None
        if "recorded_by" in r and not isinstance(r["recorded_by"], list):
            c.fail(f"{where}.recorded_by", f"expected a list of agencies (possibly empty), found {_show(r['recorded_by'])}")
        recorded_by = c.words(r.get("recorded_by"), f"{where}.recorded_by", Agency, "an agency")
        from_day = c.day(r["from_day"], f"{where}.from_day") if r.get("from_day") is not None else None
        if ok and r.get("person") == r.get("other"):
            c.fail(where, "a person cannot be related to themselves")
            ok = False
        if ok and kind is not None:
            out.append(
                Relationship(
                    id=f"r{i}",
                    person=r["person"],
                    kind=kind,
                    other=r["other"],
                    recorded_by=frozenset(recorded_by),
                    from_day=from_day,
                )
            )
    return tuple(out)


def _events(c: _Checker, value: Any, declared: set[str]) -> list[Event]:
    if not isinstance(value, list):
        c.fail("events", f"expected a list of events, found {_show(value)}")
        return []
    out = []
    for i, entry in enumerate(value):
        where = f"events[{i}]"
        e = c.mapping(entry, where, EVENT_KEYS)
        if e is None:
            continue
        n = len(c.problems)
        day = c.day(e.get("day"), f"{where}.day") if "day" in e else None
        recorded = c.day(e["recorded_day"], f"{where}.recorded_day") if e.get("recorded_day") is not None else day
        if day is not None and recorded is not None and recorded < day:
            c.fail(f"{where}.recorded_day", f"day {recorded} is before the event happened (day {day})")
        agency = c.word(e.get("agency"), f"{where}.agency", Agency, "an agency") if "agency" in e else None
        kind = c.word(e.get("kind"), f"{where}.kind", EventKind, "an event kind") if "kind" in e else None
        subjects = c.ids(e.get("subjects"), f"{where}.subjects", declared)
        if "subjects" in e and not e.get("subjects"):
            c.fail(f"{where}.subjects", "an event must be about at least one person")
        outcome = c.word(e["outcome"], f"{where}.outcome", Outcome, "an outcome") if e.get("outcome") is not None else None
        channel = c.word(e["channel"], f"{where}.channel", Channel, "a channel") if e.get("channel") is not None else None
        seen = c.ids(e.get("seen"), f"{where}.seen", declared)
        findings = c.words(e.get("findings"), f"{where}.findings", Finding, "a finding")
        to_agency = c.word(e["to_agency"], f"{where}.to_agency", Agency, "an agency") if e.get("to_agency") is not None else None
        delivered_to = c.ids(e.get("delivered_to"), f"{where}.delivered_to", declared)
        touchpoint = (
            c.word(e["touchpoint"], f"{where}.touchpoint", Touchpoint, "an ICON touchpoint")
            if e.get("touchpoint") is not None
            else None
        )
        note = e.get("note") or ""
        if not isinstance(note, str):
            c.fail(f"{where}.note", f"expected text, found {_show(note)}")
        if len(c.problems) == n:
            out.append(
                Event(
                    id=f"e{i}",
                    day=day,  # type: ignore[arg-type]
                    recorded_day=recorded,  # type: ignore[arg-type]
                    agency=agency,
                    kind=kind,
                    subjects=subjects,
                    outcome=outcome,
                    channel=channel,
                    seen=seen,
                    findings=findings,
                    to_agency=to_agency,
                    delivered_to=delivered_to,
                    touchpoint=touchpoint,
                    note=" ".join(note.split()) if isinstance(note, str) else "",
                )
            )
    return out


STEPPED_RULES = {"no-access-stepped": 3, "unlinked-household-adult": 2, "econsult-infant": 2}


def _expectations(
    c: _Checker, value: Any, declared: set[str], index_child: str | None, rule_ids: set[str]
) -> tuple[Expectation, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        c.fail("expect", f"expected a list, found {_show(value)}")
        return ()
    out = []
    for i, entry in enumerate(value):
        where = f"expect[{i}]"
        x = c.mapping(entry, where, EXPECT_KEYS)
        if x is None:
            continue
        n = len(c.problems)
        rule = x.get("rule")
        if not isinstance(rule, str) or rule not in rule_ids:
            c.fail(f"{where}.rule", f"'{rule}' is not a rule id{_did_you_mean(str(rule), rule_ids)}")
        never = x.get("never", False)
        if not isinstance(never, bool):
            c.fail(f"{where}.never", f"expected true or false, found {_show(never)}")
        child = x.get("child", index_child)
        if "child" in x:
            c.person_id(child, f"{where}.child", declared)
        days = {}
        for key in ("by_day", "from_day", "until_day"):
            if x.get(key) is not None:
                days[key] = c.day(x[key], f"{where}.{key}")
        step = None
        if x.get("step") is not None:
            step = x["step"]
            top = STEPPED_RULES.get(str(rule))
            if top is None and isinstance(rule, str) and rule in rule_ids:
                c.fail(f"{where}.step", f"rule '{rule}' has no steps")
            elif isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= (top or 3):
                c.fail(f"{where}.step", f"expected a step from 1 to {top or 3}, found {_show(step)}")
        if never is True:
            if "by_day" in x or "from_day" in x:
                c.fail(where, "a 'never' expectation takes 'until_day', not 'by_day' or 'from_day'")
        else:
            if "by_day" not in x:
                c.fail(where, "missing required key 'by_day' (or 'never: true')")
            if "until_day" in x:
                c.fail(f"{where}.until_day", "only a 'never' expectation takes 'until_day'")
        if len(c.problems) == n and child is not None:
            out.append(
                Expectation(
                    rule=rule,
                    child=child,
                    by_day=days.get("by_day"),
                    from_day=days.get("from_day"),
                    step=step,
                    never=never,
                    until_day=days.get("until_day"),
                    entry=where,
                )
            )
    return tuple(out)
