"""The newborn rule (cradle.linkage.newborn): a "Baby of" or unborn record links to the
baby's own records at its address, and only when nothing there is ambiguous.

Plain pandas, no Splink: the groups the rule reads are given as the pairs already
linked. People and numbers are invented."""

from __future__ import annotations

import pytest

from cradle.linkage.frame import IdentityRecord, records_to_frame
from cradle.linkage.link import NEWBORN_RULE, link
from cradle.linkage.model import default_model
from cradle.linkage.newborn import newborn_pairs, placeholder_kind

HOME = ("4 Elm Road", "LS6 1AB")
BORN = "2026-03-02"


def rec(source, given, family, dob, *, agency="gp", sex="f", nhs=None, home=HOME):
    return IdentityRecord(agency, source, given, family, sex, dob, nhs, home[0], home[1])


def pairs(records, linked=(), link_type="dedupe_only"):
    return newborn_pairs([records_to_frame(records)], link_type, linked)


def key(a, b):
    return (a, b) if a < b else (b, a)


# The baby's two named records under the father's surname, already linked to each other;
# the "Baby of" and unborn records under the mother's.
BABY = [rec("g1", "Olivia", "Okafor", BORN), rec("h1", "Olivia", "Okafor", BORN, agency="hv")]
BABY_LINKED = [("gp:g1", "hv:h1")]
BABY_OF = rec("m1", "Baby of Jane", "Smith", BORN, agency="maternity")
UNBORN = rec("u1", "Unborn", "Smith", "2026-03-20", agency="midwifery", sex=None)


@pytest.mark.parametrize(
    ("given", "kind"),
    [
        ("Baby of Jane", "newborn"),
        ("baby", "newborn"),
        ("Infant Smith", "newborn"),
        ("Unborn", "unborn"),
        (" unborn smith", "unborn"),
        ("Olivia", None),
        (None, None),
        ("Babette", None),
    ],
)
def test_placeholder_kinds(given, kind):
    assert placeholder_kind(given) == kind


def test_a_newborn_and_an_unborn_record_link_to_the_one_baby_at_their_address():
    found = pairs([*BABY, BABY_OF, UNBORN], BABY_LINKED)
    assert found == {
        key("maternity:m1", "gp:g1"),
        key("maternity:m1", "hv:h1"),
        # The unborn record: the baby's named records and its "Baby of" record.
        key("midwifery:u1", "gp:g1"),
        key("midwifery:u1", "hv:h1"),
        key("midwifery:u1", "maternity:m1"),
    }


def test_a_missing_postcode_is_no_conflict_but_another_postcode_is():
    moved = rec("g1", "Olivia", "Okafor", BORN, home=(HOME[0], "BD9 4PL"))
    unknown = rec("g1", "Olivia", "Okafor", BORN, home=(HOME[0], None))
    assert pairs([moved, BABY_OF]) == set()
    assert pairs([unknown, BABY_OF]) == {key("maternity:m1", "gp:g1")}


@pytest.mark.parametrize(
    "records",
    [
        # Twins: two babies born that day, two "Baby of" records.
        pytest.param(
            [
                *BABY,
                rec("g2", "Amara", "Okafor", BORN),
                BABY_OF,
                rec("m2", "Baby of Jane", "Smith", BORN, agency="maternity"),
            ],
            id="twins",
        ),
        # Two babies born that day at one address (a mother-and-baby unit), one
        # "Baby of" record: which is it?
        pytest.param([*BABY, rec("g2", "Ruby", "Sherwood", BORN), BABY_OF], id="two babies"),
        pytest.param(
            [rec("g1", "Olivia", "Okafor", BORN, sex="m"), BABY_OF], id="another recorded sex"
        ),
        pytest.param(
            [
                rec("g1", "Olivia", "Okafor", BORN, nhs="9434765919"),
                rec("m1", "Baby of Jane", "Smith", BORN, agency="maternity", nhs="9990000018"),
            ],
            id="another valid NHS number",
        ),
        pytest.param([rec("g1", "Olivia", "Okafor", "2026-03-03"), BABY_OF], id="born another day"),
        pytest.param(
            [rec("g1", "Olivia", "Okafor", BORN, home=("19 Mill Lane", "HX1 2QT")), BABY_OF],
            id="another address",
        ),
        # An older sibling: born ten months before this pregnancy's due date.
        pytest.param(
            [rec("g1", "Noah", "Smith", "2025-05-20"), UNBORN], id="unborn, a sibling born before"
        ),
        pytest.param(
            [rec("g1", "Noah", "Smith", "2026-05-10"), UNBORN], id="unborn, born too late"
        ),
        pytest.param([rec("g1", "Jane", "Smith", "1996-03-20"), UNBORN], id="unborn, the mother"),
    ],
)
def test_nothing_links_where_the_baby_is_ambiguous_or_conflicts(records):
    assert pairs(records, BABY_LINKED) == set()


def test_the_baby_s_records_must_be_one_group_already():
    """Two named records born that day, not linked to each other, may be two babies."""
    assert pairs([*BABY, BABY_OF]) == set()
    assert pairs([*BABY, BABY_OF], BABY_LINKED) == {
        key("maternity:m1", "gp:g1"),
        key("maternity:m1", "hv:h1"),
    }


def test_two_newborn_records_of_one_baby_link_when_they_are_linked_to_each_other():
    second = rec("n1", "Baby of Jane", "Smith", BORN, agency="neonatal")
    assert pairs([*BABY, BABY_OF, second], BABY_LINKED) == set()
    both = pairs([*BABY, BABY_OF, second], [*BABY_LINKED, ("maternity:m1", "neonatal:n1")])
    assert key("neonatal:n1", "gp:g1") in both and key("maternity:m1", "hv:h1") in both


def test_a_baby_born_sixteen_weeks_early_is_still_the_unborn_record_s_baby():
    early = rec("g1", "Olivia", "Okafor", "2025-11-28")  # 112 days before the due date
    assert pairs([early, UNBORN]) == {key("midwifery:u1", "gp:g1")}


def test_when_linking_two_data_sets_only_pairs_across_them_link():
    left = records_to_frame([BABY_OF])
    right = records_to_frame([BABY[0]])
    both_left = records_to_frame([BABY_OF, BABY[0]])
    assert newborn_pairs([left, right], "link_only", []) == {key("maternity:m1", "gp:g1")}
    assert newborn_pairs([both_left, records_to_frame([])], "link_only", []) == set()


def test_link_makes_the_rule_s_pairs_links_with_their_own_method():
    """Through Splink: the "Baby of" record under the mother's surname scores just under
    the link threshold (model version 5) and would wait for a person; the rule links it
    and says so, and a baby born that day elsewhere is still nobody's."""
    records = [
        *BABY,
        BABY_OF,
        UNBORN,
        rec("g3", "Ruby", "Sherwood", BORN, home=("7 Crag View", "BD9 4PL")),
    ]
    result = link([records_to_frame(records)], "dedupe_only", model=default_model())
    methods = {p.key: p.method for p in result.links}
    assert methods[key("maternity:m1", "gp:g1")] == NEWBORN_RULE
    assert methods[key("midwifery:u1", "hv:h1")] in (NEWBORN_RULE, "splink")
    review = {p.key for p in result.review}
    assert not review & set(methods), "a pair is linked or waiting, never both"
    assert not any("gp:g3" in k for k in set(methods) | review)
