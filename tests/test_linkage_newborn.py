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
    early = rec("g1", "Olivia", "Smith", "2025-11-28")  # 112 days before the due date
    assert pairs([early, UNBORN]) == {key("midwifery:u1", "gp:g1")}


def test_an_unborn_record_needs_its_surname_on_one_of_the_baby_s_records():
    """Another family's baby born at the address within the window (a mother-and-baby
    unit, two pregnancies in one house) is not enough: the unborn record's surname (the
    mother's) must be on the baby's records, as its "Baby of" record carries it."""
    other_family = rec("g1", "Ruby", "Sherwood", BORN)
    assert pairs([other_family, UNBORN]) == set()
    # Under the father's surname, with the "Baby of" record in the group: corroborated.
    assert key("midwifery:u1", "gp:g1") in pairs([*BABY, BABY_OF, UNBORN], BABY_LINKED)
    assert pairs([*BABY, UNBORN], BABY_LINKED) == set()
    # A part of a double surname in common corroborates; a name inside another does not.
    assert pairs([rec("g1", "Noah", "Smith-Jones", BORN), UNBORN]) == {key("midwifery:u1", "gp:g1")}
    inside = rec("u1", "Unborn", "Li", "2026-03-20", agency="midwifery", sex=None)
    assert pairs([rec("g1", "Noah", "Williams", BORN), inside]) == set()
    # Nor a particle two families' names share ("van der Berg", "van Dijk").
    van = rec("u1", "Unborn", "van der Berg", "2026-03-20", agency="midwifery", sex=None)
    assert pairs([rec("g1", "Noah", "van Dijk", BORN), van]) == set()


def test_twins_stay_apart_even_when_their_newborn_records_are_linked_to_each_other():
    """Splink links two "Baby of Jane" records born one day at one address (no given
    name to tell them apart): one maternity unit's two records there are twins."""
    twin = rec("m2", "Baby of Jane", "Smith", BORN, agency="maternity")
    both = [BABY[0], BABY_OF, twin]
    assert pairs(both, [("maternity:m1", "maternity:m2")]) == set()
    # Two agencies' records of one newborn, linked: one baby.
    neonatal = rec("n1", "Baby of Jane", "Smith", BORN, agency="neonatal")
    assert pairs([BABY[0], BABY_OF, neonatal], [("maternity:m1", "neonatal:n1")]) == {
        key("maternity:m1", "gp:g1"),
        key("neonatal:n1", "gp:g1"),
    }


@pytest.mark.parametrize(
    "vague",
    ["No fixed abode", "Unknown", "NFA", "not known", "N.F.A.", "NFA, Leeds",
     "No Fixed Abode (NFA)", "Homeless - sofa surfing", "Address not known"],
)  # fmt: skip
def test_an_address_that_names_no_home_makes_no_household(vague):
    records = [
        rec("g1", "Leo", "Brown", BORN, home=(vague, "BD9 4PL")),
        rec("m1", "Baby of Jane", "Smith", BORN, agency="maternity", home=(vague, None)),
    ]
    assert pairs(records) == set()


def test_a_link_a_person_undid_joins_no_group_and_their_pairs_are_never_returned():
    """Ava and Eva (twins, their link undone by a reviewer) are two groups, whatever
    this run's Splink says of them; a pair a person rejected is not linked by the rule."""
    ava, eva = rec("g1", "Ava", "Smith", BORN), rec("g2", "Eva", "Smith", BORN, agency="hv")
    undone = [("gp:g1", "hv:g2")]
    assert pairs([ava, eva, BABY_OF], undone) == {
        key("maternity:m1", "gp:g1"),
        key("maternity:m1", "hv:g2"),
    }
    frame = records_to_frame([ava, eva, BABY_OF])
    assert newborn_pairs([frame], "dedupe_only", undone, different=undone) == set()
    rejected = [("gp:g1", "maternity:m1")]
    assert (
        newborn_pairs([records_to_frame([ava, BABY_OF])], "dedupe_only", [], different=rejected)
        == set()
    )


def test_groups_are_joined_through_records_elsewhere():
    """The baby's GP record at the address and its health visiting record at a new flat
    (another postcode), linked through a third record: one baby, one group."""
    moved = rec("h1", "Olivia", "Okafor", BORN, agency="hv", home=(HOME[0], "BD9 4PL"))
    third = rec("x1", "Olivia", "Okafor", None, agency="housing")
    second = rec("m2", "Baby of Jane", "Smith", BORN, agency="neonatal", home=(HOME[0], "BD9 4PL"))
    through = [("gp:g1", "housing:x1"), ("housing:x1", "hv:h1")]
    # Two newborn records claim the one baby (through the third record) and are not
    # linked to each other: nothing links.
    assert pairs([BABY[0], moved, third, BABY_OF, second], through) == set()


def test_records_sharing_an_id_make_the_rule_link_nothing_rather_than_fail():
    frame = records_to_frame([BABY[0], BABY_OF, BABY[0]])
    assert newborn_pairs([frame], "dedupe_only", []) == set()


def test_when_linking_two_data_sets_only_pairs_across_them_link():
    left = records_to_frame([BABY_OF])
    right = records_to_frame([BABY[0]])
    both_left = records_to_frame([BABY_OF, BABY[0]])
    assert newborn_pairs([left, right], "link_only", []) == {key("maternity:m1", "gp:g1")}
    assert newborn_pairs([both_left, records_to_frame([])], "link_only", []) == set()
    # A second baby born that day on the placeholder's own side still makes it ambiguous.
    amara = rec("g2", "Amara", "Okafor", BORN)
    assert newborn_pairs([records_to_frame([BABY_OF, amara]), right], "link_only", []) == set()


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


def test_an_address_more_records_share_than_a_block_holds_is_no_household():
    """A placeholder address (or a hospital's) shared by more records than a linkage block
    holds: each placeholder there would be paired with every record (3,000 took about a
    gigabyte), and no one baby is meant."""
    records = [records_to_frame([*BABY, BABY_OF])]
    assert newborn_pairs(records, "dedupe_only", BABY_LINKED, max_home=3)
    assert newborn_pairs(records, "dedupe_only", BABY_LINKED, max_home=2) == set()
