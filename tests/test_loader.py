"""The case-file loader: every kind of bad input is refused with a clear reason."""

from pathlib import Path

import pytest
import yaml

from cradle.domain import Agency, EventKind, Finding, Outcome, RelationshipKind, Role
from cradle.scenarios import CaseFileError, load_case, parse_case

CASES = Path(__file__).resolve().parent.parent / "cases"
GOOD = (CASES / "calderdale-2022.yaml").read_text()


def broken(change) -> str:
    doc = yaml.safe_load(GOOD)
    change(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def problems(text: str | bytes, name: str = "bad.yaml") -> list[str]:
    with pytest.raises(CaseFileError) as info:
        parse_case(text, name)
    assert name in str(info.value)
    return info.value.problems


def test_the_calderdale_case_loads_whole():
    case = load_case(CASES / "calderdale-2022.yaml")
    assert case.index_child == "baby"
    assert len(case.timeline.events) == 16
    assert [e.day for e in case.timeline.events] == sorted(e.day for e in case.timeline.events)
    dad = case.timeline.person("dad")
    assert dad.known_to == {Agency.GP}
    father = next(r for r in case.timeline.relationships if r.kind == RelationshipKind.FATHER_OF)
    assert not father.known_on(44) and father.known_on(45)
    partner = next(r for r in case.timeline.relationships if r.kind == RelationshipKind.PARTNER_OF)
    assert not partner.known_on(10**6)  # recorded by no agency: never known to the rules


BAD = [
    ("an unknown key", lambda d: d["events"][7].update(colour="red"), "events[7].colour: unknown key"),
    ("an unknown word", lambda d: d["events"][7].update(outcome="noaccess"), "events[7].outcome: 'noaccess' is not an outcome"),
    ("an unknown finding", lambda d: d["events"][0]["findings"].append("sad"), "events[0].findings[5]: 'sad' is not a finding"),
    ("an undeclared person", lambda d: d["events"][3].update(subjects=["nan"]), "events[3].subjects[0]: person 'nan' is not declared"),
    ("an undeclared relationship person", lambda d: d["relationships"][0].update(person="gran"), "relationships[0].person: person 'gran'"),
    ("a non-integer day", lambda d: d["events"][2].update(day=4.5), "events[2].day: expected a whole number of days"),
    ("a day written as text", lambda d: d["events"][2].update(day="-42"), "events[2].day: expected a whole number of days"),
    ("a boolean day", lambda d: d["harm"].update(day=True), "harm.day: expected a whole number of days"),
    ("a missing required key", lambda d: d["events"][4].pop("agency"), "events[4]: missing required key 'agency'"),
    ("a missing top-level key", lambda d: d.pop("people"), "the file: missing required key 'people'"),
    ("a wrong format", lambda d: d.update(format="cradle-scenario/2"), "format: expected 'cradle-scenario/1'"),
    ("recorded before it happened", lambda d: d["events"][2].update(recorded_day=-50), "events[2].recorded_day: day -50 is before the event happened"),
    ("an unknown rule in expect", lambda d: d["expect"][0].update(rule="medication-stoped"), "expect[0].rule: 'medication-stoped' is not a rule id (did you mean 'medication-stopped-in-pregnancy'?)"),
    ("a step on a rule without steps", lambda d: d["expect"][0].update(step=2), "expect[0].step: rule 'medication-stopped-in-pregnancy' has no steps"),
    ("a bad birth date", lambda d: d.update(birth_date="7 March"), "birth_date: expected a calendar date"),
    ("two children and no index child", lambda d: d["people"].append({"id": "twin", "role": "child", "sex": "male"}), "index_child: missing"),
]


@pytest.mark.parametrize(("description", "change", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_the_entry_and_the_problem(description, change, message):
    found = problems(broken(change))
    assert any(message in p for p in found), found


def test_every_problem_is_reported_at_once():
    def two(d):
        d["events"][1]["kind"] = "visit"
        d["events"][5]["agency"] = "nhs"

    found = problems(broken(two))
    assert len(found) == 2


def test_a_near_miss_suggests_the_word():
    found = problems(broken(lambda d: d["events"][7].update(outcome="no_acess")))
    assert "did you mean 'no_access'?" in found[0]


def test_yaml_syntax_error_names_the_line():
    found = problems("format: cradle-scenario/1\npeople: [\n  - id: x\n")
    assert "not valid YAML" in found[0] and "line" in found[0]


def test_duplicate_keys_are_refused():
    found = problems(GOOD + "\nid: again\n")
    assert "duplicate key 'id'" in found[0]


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n"])
def test_an_empty_file(text):
    assert problems(text) == ["the file is empty"]


def test_a_file_that_is_not_yaml_at_all():
    assert "not a text file" in problems(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")[0]
    assert "not a case file" in problems("- just\n- a list\n")[0]
    assert "not a case file" in problems("plain words\n")[0]


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CaseFileError, match="cannot read the file"):
        load_case(tmp_path / "nope.yaml")


def test_every_vocabulary_word_is_accepted():
    """Each word of every enumeration loads (the vocabulary only ever grows)."""
    doc = yaml.safe_load(GOOD)
    doc["people"] += [{"id": f"p{i}", "role": r.value, "sex": "unknown"} for i, r in enumerate(Role) if r != Role.CHILD]
    base = doc["events"][0]
    doc["events"] = [
        {**base, "kind": k.value, "agency": a.value, "outcome": o.value, "findings": [f.value]}
        for k, a, o, f in zip(
            list(EventKind),
            (list(Agency) * 3)[: len(EventKind)],
            (list(Outcome) * 6)[: len(EventKind)],
            (list(Finding) * 2)[: len(EventKind)],
            strict=True,
        )
    ]
    doc["events"] += [{**base, "findings": [f.value]} for f in Finding]
    doc["relationships"] += [{"person": "mum", "kind": k.value, "other": "p1", "recorded_by": ["gp"]} for k in RelationshipKind]
    case = parse_case(yaml.safe_dump(doc), "vocab.yaml")
    used = {e.kind for e in case.timeline.events}
    assert used == set(EventKind)
    assert {w for e in case.timeline.events for w in e.findings} == set(Finding)
