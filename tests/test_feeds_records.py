"""The feeds' record checks and the SNOMED CT table: plain Python, no database."""

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cradle.domain import Finding
from cradle.feeds import records as rec
from cradle.feeds.snomed import TABLE, finding_for, is_sctid, table, verhoeff_valid

TODAY = date(2026, 11, 26)
BABY = {"source_id": "b1", "role": "child", "sex": "female", "born_on": "2026-10-01"}
VISIT = {"source_id": "c1", "kind": "home_visit", "occurred_on": "2026-11-20", "subjects": ["b1"]}


def reasons(kind, data):
    return rec.check(kind, data, TODAY)[1]


# Any text, a lone surrogate among it often: JSON's "\ud800" escape reads as one (valid
# JSON, not Unicode: no database can write it as UTF-8). Hypothesis's own text never has one.
CHARACTERS = st.characters(exclude_categories=()) | st.characters(categories=["Cs"])


def text(max_size: int):
    return st.text(CHARACTERS, max_size=max_size)


def encodable(value) -> bool:
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("person", {**BABY, "nhs_number": "9434765918"}, "nhs_number"),  # wrong check digit
        ("person", {**BABY, "role": "aunt"}, "role"),
        ("person", {**BABY, "born_on": "2027-01-01"}, "born_on"),  # born after it was received
        ("person", {**BABY, "born_on": "01/10/2026"}, "born_on"),
        ("person", {**BABY, "colour": "blue"}, "colour"),
        ("person", {"role": "child"}, "source_id"),
        (
            "relationship",
            {"source_id": "r", "person": "a", "kind": "uncle_of", "other": "b"},
            "kind",
        ),
        (
            "relationship",
            {"source_id": "r", "person": "a", "kind": "father_of", "other": "a"},
            "other",
        ),
        ("contact", {**VISIT, "occurred_on": "2026-11-27"}, "occurred_on"),  # after it was received
        ("contact", {**VISIT, "recorded_on": "2026-11-10"}, "occurred_on"),  # after it was recorded
        ("contact", {**VISIT, "outcome": "noaccess"}, "outcome"),
        ("contact", {**VISIT, "findings": ["bruise", "sadness"]}, "findings"),
        ("contact", {**VISIT, "seen": ["m1"]}, "seen"),
        ("contact", {**VISIT, "subjects": []}, "subjects"),
        ("contact", {**VISIT, "kind": "referral"}, "to_agency"),
        ("contact", {**VISIT, "kind": "icon_delivered"}, "delivered_to"),
        ("contact", {**VISIT, "note": "x\x00y"}, "note"),
        ("person", {**BABY, "given_name": "Test\ud800a"}, "given_name"),  # a lone surrogate
        ("person", {**BABY, "source_id": "b\udfff"}, "source_id"),
        ("contact", {**VISIT, "subjects": ["b1", "\ud800"]}, "subjects"),
        (
            "contact",
            {**VISIT, "assessment_answers": {"q": ["yes", {"why": "\udc00"}]}},
            "assessment_answers",
        ),
        ("contact", {**VISIT, "assessment_answers": {"q\ud83d": "yes"}}, "assessment_answers"),
        ("contact", {**VISIT, "assessment_answers": "{not json"}, "assessment_answers"),
        ("visit", VISIT, "type"),
    ],
)
def test_a_record_that_cannot_be_taken_says_which_field_and_why(kind, data, field):
    found = reasons(kind, data)
    assert field in {r["field"] for r in found}, found
    assert all(set(r) == {"field", "problem"} and r["problem"] for r in found)


def test_a_good_record_is_made_canonical():
    clean, problems = rec.check(
        "contact", {**VISIT, "findings": "bruise;bruise", "seen": "b1"}, TODAY
    )
    assert problems == []
    assert clean["findings"] == ["bruise"] and clean["seen"] == ["b1"]
    assert clean["recorded_on"] == TODAY  # received today unless said otherwise
    assert rec.content_hash(clean) == rec.content_hash(
        rec.check("contact", {**VISIT, "findings": ["bruise"], "seen": ["b1"]}, TODAY)[0]
    )


def test_reasons_never_repeat_a_personal_value():
    secret_number, secret_date = "9434765918", "01/10/2026"
    found = reasons(
        "person", {**BABY, "nhs_number": secret_number, "born_on": secret_date, "given_name": 5}
    )
    text = repr(found)
    assert secret_number not in text and secret_date not in text
    assert "'noaccess'" in repr(
        reasons("contact", {**VISIT, "outcome": "noaccess"})
    )  # a word is quoted


@given(
    st.dictionaries(
        text(12),
        st.one_of(
            text(30),
            st.integers(),
            st.none(),
            st.lists(text(5), max_size=3),
        ),
        max_size=8,
    )
)
def test_any_dictionary_is_either_taken_or_refused_with_reasons(data):
    for kind in rec.KINDS:
        clean, problems = rec.check(kind, data, TODAY)
        assert problems or (clean["source_id"] and encodable(clean))
        for r in problems:
            assert r["field"].isprintable() and "\x00" not in r["problem"]
            assert encodable(r)


# A record of each kind that is taken, and the fields of it that are text sent as is.
_TAKEN = {
    "person": ({"source_id": "m1", "role": "mother", "child": "b1"},
               ("source_id", "given_name", "family_name", "nhs_number", "address", "postcode",
                "child")),
    "relationship": ({"source_id": "r1", "person": "m1", "kind": "mother_of", "other": "b1"},
                     ("source_id", "person", "other")),
    "contact": (VISIT, ("source_id", "note", "assessment_form", "subjects", "assessment_answers")),
}  # fmt: skip
_ANSWER = st.recursive(
    text(8), lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text(5), inner, max_size=3)
)


@given(st.data())
def test_text_that_cannot_be_encoded_as_utf8_is_refused_in_any_field_at_any_depth(data):
    """A lone surrogate anywhere (an id, a text, a key or value of the answers, however
    deep) is refused with its field named, and what is taken always encodes as UTF-8."""
    kind = data.draw(st.sampled_from(sorted(_TAKEN)))
    base, fields = _TAKEN[kind]
    field = data.draw(st.sampled_from(fields))
    if field == "subjects":
        value = data.draw(st.lists(text(10), min_size=1, max_size=3))
    elif field == "assessment_answers":
        value = data.draw(st.dictionaries(text(5), _ANSWER, min_size=1, max_size=3))
    else:
        value = data.draw(text(20))
    clean, problems = rec.check(kind, {**base, field: value}, TODAY)
    assert ({"field": field, "problem": rec.UNENCODABLE} in problems) == (not encodable(value))
    assert problems or encodable(clean)


# -- SNOMED CT -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["35489007", "125667009", "82271004", "900000000000207008"])
def test_the_verhoeff_check_digit_accepts_real_identifiers(code):
    assert verhoeff_valid(code) and is_sctid(code)


@pytest.mark.parametrize("code", ["35489008", "125667019", "82271040", "", "12a45", "0123456"])
def test_the_verhoeff_check_digit_refuses_a_typo(code):
    assert not is_sctid(code)


def test_every_code_in_the_mapping_table_has_a_valid_check_digit_a_finding_and_a_source():
    import tomllib

    with open(TABLE, "rb") as f:
        raw = tomllib.load(f)["codes"]
    assert raw and table() == raw
    for code, entry in raw.items():
        assert is_sctid(code), f"{code}: Verhoeff check digit"
        assert Finding(entry["finding"]) and entry["source"] and entry["display"]
        # Nothing could be checked against a SNOMED CT release: every entry says so.
        assert entry.get("unverified") is True, code
    assert finding_for("125667009") == "bruise" and finding_for("999") is None


@pytest.mark.parametrize(
    "sources",
    [
        "o1",
        {"o1": ["bruise"]},
        {"o1": {"words": ["grumpy"], "subject": "b1"}},
        {"o1": {"words": ["bruise"], "subject": 7}},
        {"": {"words": ["bruise"], "subject": "b1"}},
    ],
)
def test_findings_kept_by_resource_are_checked(sources):
    assert [r["field"] for r in reasons("contact", {**VISIT, "finding_sources": sources})] == [
        "finding_sources"
    ]


def test_findings_kept_by_resource_are_in_a_contact_only_when_there_are_some():
    clean, problems = rec.check("contact", {**VISIT, "finding_sources": {}}, TODAY)
    assert not problems and "finding_sources" not in clean  # a record's hash as it was
    sources = {"o2": {"words": ["bruise", "bruise"], "subject": "b1", "added": True}}
    visit = {**VISIT, "findings": ["bruise"]}
    clean, problems = rec.check("contact", {**visit, "finding_sources": sources}, TODAY)
    assert not problems
    assert clean["finding_sources"] == {"o2": {"words": ["bruise"], "subject": "b1", "added": True}}
    # They must add up to the contact's findings and be among its subjects.
    for wrong in (
        {"o2": {"words": ["bruise", "depression"], "subject": "b1"}},
        {"o2": {"words": ["bruise"], "subject": "m1"}},
    ):
        problems = reasons("contact", {**visit, "finding_sources": wrong})
        assert [p["field"] for p in problems] == ["finding_sources"]
    # What was withdrawn counts for nothing: its words and whom it named are not the
    # contact's (and "added" means nothing of it).
    withdrawn = {"o3": {"words": ["depression"], "subject": "m1", "withdrawn": True, "added": True}}
    clean, problems = rec.check(
        "contact", {**visit, "finding_sources": {**sources, **withdrawn}}, TODAY
    )
    assert not problems
    assert clean["finding_sources"]["o3"] == {
        "words": ["depression"],
        "subject": "m1",
        "withdrawn": True,
    }
    # Not a column of the CSV layout.
    assert "finding_sources" not in rec.FIELDS["contact"]
