"""The linkage core: NHS numbers, names, the identity frame, households, the saved model.

Everything here is plain Python over pandas; the Splink tests run Splink on DuckDB
for real (no mocks). People and numbers are invented (the synthetic NHS range 999...).
"""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest

from cradle.domain.nhs_number import is_valid_nhs_number
from cradle.linkage import names
from cradle.linkage.frame import IdentityRecord, clean_dob, records_to_frame
from cradle.linkage.households import household_of, households
from cradle.linkage.link import Thresholds, deterministic_pairs, link
from cradle.linkage.model import MODEL_VERSION, ModelError, SavedModel, default_model

VALID = "9434765919"  # check digit 9
VALID_2 = "9990000018"


@pytest.mark.parametrize(
    ("number", "valid", "why"),
    [
        (VALID, True, "ten digits, check digit right"),
        ("943 476 5919", True, "spaces as people write them"),
        ("9434765918", False, "check digit wrong"),
        ("9434765991", False, "two digits transposed"),
        ("943476591", False, "nine digits"),
        ("", False, "empty"),
        (None, False, "missing"),
        ("T12345678", False, "a temporary hospital number"),
    ],
)
def test_nhs_number_check_digit(number, valid, why):
    assert is_valid_nhs_number(number) is valid, why


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("Bill", "william"), ("billy", "william"), ("William", "william"), ("Kate", "catherine")],
)
def test_nicknames_map_to_one_name(given, canonical):
    assert names.canonical_given(names.normalise(given)) == canonical


def test_the_nickname_table_is_data_with_no_name_mapped_twice():
    lines = [
        line
        for line in names.NICKNAMES_FILE.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    nicks = [line.split(",")[0] for line in lines]
    assert len(nicks) == len(set(nicks)) > 50


def test_surnames_split_into_parts_for_hyphenated_names():
    assert names.surname_parts(names.normalise("Smith-Jones")) == ["smith", "jones"]
    assert names.normalise("O'Neill") == "oneill"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("2025-02-03", "2025-02-03"),
        ("20250203", "2025-02-03"),
        ("2025-02-31", None),  # impossible
        ("0000-01-01", None),
        ("not a date", None),
        (None, None),
    ],
)
def test_dates_of_birth_are_cleaned_and_impossible_ones_dropped(raw, clean):
    assert clean_dob(raw) == clean


def _records():
    return [
        IdentityRecord(
            "gp", "1", "William", "Smith", "male", "1990-04-05", VALID, "1 High St", "LS6 1AB"
        ),
        IdentityRecord(
            "police", "7", "Bill", "Smith", "m", "1990-05-04", None, "1 high street", "ls61ab"
        ),
        IdentityRecord(
            "midwifery",
            "3",
            "Baby of Jane",
            "Smith",
            "f",
            "2026-01-02",
            "T1234567",
            "1 High St",
            "LS6 1AB",
        ),
        IdentityRecord("housing", "9", None, None, None, "2025-02-31", "1234567890", None, None),
    ]


def test_the_frame_keeps_each_record_and_flags_bad_input():
    frame = records_to_frame(_records())
    assert list(frame["unique_id"]) == ["gp:1", "police:7", "midwifery:3", "housing:9"]
    row = frame.set_index("unique_id")
    assert row.loc["police:7", "given_canon"] == "william"
    assert row.loc["housing:9", "dob_s"] is None
    assert "impossible date of birth" in row.loc["housing:9", "problems"]
    assert "check digit" in row.loc["housing:9", "problems"]
    # A newborn placeholder names nobody and its temporary number is no NHS number.
    assert row.loc["midwifery:3", "placeholder"]
    assert row.loc["midwifery:3", "given"] is None
    assert row.loc["midwifery:3", "nhs"] is None
    # The raw values stay as they arrived.
    assert row.loc["midwifery:3", "given_name"] == "Baby of Jane"


def test_households_group_records_at_one_normalised_address():
    frame = records_to_frame(_records())
    groups = households(frame)
    assert list(groups.values()) == [["gp:1", "midwifery:3"]]
    assert household_of(frame, "gp:1") == ["midwifery:3"]
    assert household_of(frame, "housing:9") == []


def test_deterministic_pairs_need_a_valid_nhs_number_and_respect_the_link_type():
    a = records_to_frame(
        [IdentityRecord("gp", "1", nhs_number=VALID), IdentityRecord("gp", "2", nhs_number=VALID)]
    )
    b = records_to_frame(
        [
            IdentityRecord("police", "1", nhs_number=VALID),
            IdentityRecord("police", "2", nhs_number="1234567890"),
        ]
    )
    assert deterministic_pairs([a], "dedupe_only") == {("gp:1", "gp:2")}
    assert deterministic_pairs([a, b], "link_only") == {("gp:1", "police:1"), ("gp:2", "police:1")}


def test_thresholds_are_ordered_probabilities():
    Thresholds(0.99, 0.5)
    with pytest.raises(ValueError):
        Thresholds(0.5, 0.9)
    with pytest.raises(ValueError):
        Thresholds(1.0, 0.5)


def test_a_saved_model_carries_its_version_and_a_hash_of_its_content(tmp_path):
    model = SavedModel(splink={"link_type": "dedupe_only", "comparisons": []})
    path = model.save(tmp_path / "model.json")
    data = json.loads(path.read_text())
    assert data["cradle_model_version"] == MODEL_VERSION
    assert SavedModel.load(path).hash == model.hash == data["hash"]
    data["splink"]["link_type"] = "link_only"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="hash"):
        SavedModel.load(path)
    data["cradle_model_version"] = MODEL_VERSION + 1
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="version"):
        SavedModel.load(path)


@pytest.fixture(scope="module")
def small_population():
    from cradle.linkage.synthetic import population

    return population(people=300, seed=11)


def test_the_synthetic_population_is_reproducible_and_carries_its_truth(small_population):
    from cradle.linkage.synthetic import population

    frame, truth = small_population
    again, truth_again = population(people=300, seed=11)
    pd.testing.assert_frame_equal(frame, again)
    assert truth == truth_again
    assert frame["placeholder"].any()  # Baby of / Unborn records
    numbers = frame.loc[frame["nhs_valid"], "nhs"]
    assert numbers.str.startswith("9").all()  # the synthetic range
    assert all(a < b for a, b in truth)


def test_linking_a_small_population_with_bad_records_never_crashes_and_explains_each_pair(
    small_population,
):
    frame, truth = small_population
    bad = records_to_frame(
        [
            IdentityRecord("housing", "x1", None, None, None, "2025-02-31", "123", None, None),
            IdentityRecord("housing", "x2", "", "", "", "", "", "", ""),
        ]
    )
    both = pd.concat([frame, bad], ignore_index=True)
    # A population this small is linked with the shipped model (trained on a larger one).
    result = link([both], "dedupe_only", model=default_model(), thresholds=Thresholds(0.99, 0.5))
    assert result.records == len(both)
    linked = result.link_keys()
    # Recall 0.993 and precision 1.0 (model version 5 with the newborn rule; 0.945
    # without the rule, newborn records under the mother's surname waiting at 0.988).
    assert len(linked & truth) / len(truth) > 0.98
    assert len(linked & truth) / len(linked) > 0.99
    assert not any("housing:x" in k for key in linked for k in key)
    for pair in result.review:
        assert 0.5 <= pair.probability < 0.99  # never linked automatically
        assert pair.weights[0].comparison == "prior"
        total = sum(w.weight for w in pair.weights)
        assert total == pytest.approx(pair.match_weight, abs=0.05)
    splink_links = [p for p in result.links if p.method == "splink"]
    assert splink_links and all(p.probability >= 0.99 for p in splink_links)


def test_the_shipped_default_model_loads_and_is_of_this_code_version():
    model = default_model()
    assert model.version == MODEL_VERSION
    names_in_model = {c["output_column_name"] for c in model.splink["comparisons"]}
    assert {"given_name", "family_name", "date_of_birth", "nhs_number", "address"} <= names_in_model


def test_training_is_reproducible_with_a_fixed_seed(small_population):
    from cradle.linkage.link import fit

    frame, _ = small_population
    _assert_same_parameters(fit([frame]).splink, fit([frame]).splink)


def _assert_same_parameters(first: dict, second: dict) -> None:
    def parameters(spec):
        return [
            (level.get("m_probability"), level.get("u_probability"))
            for c in spec["comparisons"]
            for level in c["comparison_levels"]
        ] + [spec["probability_two_random_records_match"]]

    # Equal but for the last bits of DuckDB's parallel sums.
    for a, b in zip(parameters(first), parameters(second), strict=True):
        if isinstance(a, tuple):
            for x, y in zip(a, b, strict=True):
                assert x == y if x is None or y is None else x == pytest.approx(y, rel=1e-6)
        else:
            assert a == pytest.approx(b, rel=1e-6)


def test_names_swapped_and_mistyped_are_blocked_and_compared_on_duckdb_and_spark_sql():
    from cradle.linkage.link import _level_labels, make_db_api, make_linker
    from cradle.linkage.model import blocking_rules_for_prediction, settings

    # Names swapped and both mistyped, the date one day out, the address written
    # another way: only the postcode with each other's initials brings them together.
    frame = records_to_frame(
        [
            IdentityRecord(
                "gp", "1", "Jonathan", "Smith", "m", "1990-04-05", None, "1 High St", "LS6 1AB"
            ),
            IdentityRecord(
                "police",
                "2",
                "Smyth",
                "Jonathon",
                "m",
                "1990-04-06",
                None,
                "1 high street",
                "LS6 1AB",
            ),
        ]
    )
    linker = make_linker([frame], "dedupe_only", default_model(), make_db_api())
    scored = linker.inference.predict(warning_mode="never").as_pandas_dataframe()
    assert len(scored) == 1
    rule = blocking_rules_for_prediction()[int(scored.iloc[0]["match_key"])]
    assert rule == "l.postcode_n = r.postcode_n AND substr(l.given, 1, 1) = substr(r.family, 1, 1)"
    labels = _level_labels(linker)
    row = scored.iloc[0]
    assert labels["given_name"][row["gamma_given_name"]] == "names swapped, given name mistyped"
    assert labels["family_name"][row["gamma_family_name"]] == "names swapped, family name mistyped"
    # (What the levels weigh is the training data's business: the synthetic population
    # behind the shipped model never swaps names, so there they count against a match.)

    # The same level in each backend's own Jaro-Winkler function.
    for dialect, function in (("duckdb", "jaro_winkler_similarity("), ("spark", "jaro_winkler(")):
        spec = settings().get_settings(dialect).as_dict()
        swapped = [
            level["sql_condition"]
            for c in spec["comparisons"]
            for level in c["comparison_levels"]
            if "mistyped" in level.get("label_for_charts", "")
        ]
        assert len(swapped) == 2 and all(s.startswith(function) for s in swapped)


def _baby(agency, source, given, family, dob, address, postcode, sex="f"):
    return IdentityRecord(agency, source, given, family, sex, dob, None, address, postcode)


def test_a_newborn_record_is_the_baby_at_its_address_not_every_baby_born_that_day():
    """A "Baby of" record counts its birthday once (model version 4): born the same day,
    at the same address, it is the baby; born the same day to another family elsewhere,
    it is not even worth a person's look. (Counted twice, in version 3, such pairs were
    likely matches by the million at national scale.)"""
    frame = records_to_frame(
        [
            _baby(
                "maternity", "m1", "Baby of Jane", "Smith", "2026-03-02", "4 Elm Road", "LS6 1AB"
            ),
            _baby("gp", "g1", "Olivia", "Smith", "2026-03-02", "4 Elm Road", "LS6 1AB"),
            _baby("gp", "g2", "Amara", "Okafor", "2026-03-02", "19 Mill Lane", "HX1 2QT"),
            _baby("gp", "g3", "Ruby", "Sherwood", "2026-03-02", "7 Crag View", "BD9 4PL"),
            # The unborn record: the due date, three days after the birth, same home.
            _baby(
                "midwifery", "u1", "Unborn", "Smith", "2026-03-05", "4 Elm Road", "LS6 1AB", None
            ),
        ]
    )
    result = link([frame], "dedupe_only", model=default_model())
    found = result.link_keys() | {p.key for p in result.review}
    assert ("gp:g1", "maternity:m1") in result.link_keys()
    assert ("gp:g1", "midwifery:u1") in found
    for other in ("gp:g2", "gp:g3"):
        assert not any(other in key for key in found), other


def test_duckdb_memory_is_capped_by_the_setting_and_a_bad_value_refused(monkeypatch):
    from cradle.linkage.link import make_db_api

    def limit() -> str:
        return (
            make_db_api("duckdb")
            .duckdb_con.execute("SELECT current_setting('memory_limit')")
            .fetchone()[0]
        )

    monkeypatch.delenv("CRADLE_LINK_MEMORY", raising=False)
    default = limit()
    monkeypatch.setenv("CRADLE_LINK_MEMORY", "500MB")
    capped = limit()
    assert capped != default and capped.replace(" ", "").upper() in ("476.8MIB", "500.0MB")
    monkeypatch.setenv("CRADLE_LINK_MEMORY", "lots")
    with pytest.raises(ValueError, match="CRADLE_LINK_MEMORY"):
        make_db_api("duckdb")


def test_no_level_is_impossible_among_matches():
    """A level never seen among matches in training (names swapped, in a population that
    never swaps them) keeps an m probability of at least M_FLOOR, so no single comparison
    can outweigh all the other evidence (model version 5)."""
    from cradle.linkage.model import M_FLOOR, floor_m

    spec = {
        "comparisons": [
            {
                "comparison_levels": [
                    {"is_null_level": True},
                    {"m_probability": 0.9},
                    {"m_probability": 1e-12},
                    {"m_probability": 0.1 - 1e-12},
                ]
            }
        ]
    }
    floored = floor_m(spec)
    ms = [lv["m_probability"] for lv in floored["comparisons"][0]["comparison_levels"][1:]]
    assert ms[1] == M_FLOOR and sum(ms) == pytest.approx(1.0)
    assert ms[0] < 0.9 and ms[0] / ms[2] == pytest.approx(0.9 / (0.1 - 1e-12))
    assert spec["comparisons"][0]["comparison_levels"][2]["m_probability"] == 1e-12  # a copy
    # A level just above the floor is not scaled below it to make room for another.
    near = {
        "comparisons": [
            {"comparison_levels": [{"m_probability": x} for x in (0.5, 0.4985, 0.001, 0.0005)]}
        ]
    }
    ms = [lv["m_probability"] for lv in floor_m(near)["comparisons"][0]["comparison_levels"]]
    assert min(ms) >= M_FLOOR and sum(ms) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        floor_m(near, floor=0.3)
    shipped = default_model().splink["comparisons"]
    for comparison in shipped:
        for level in comparison["comparison_levels"]:
            if "m_probability" in level:
                assert level["m_probability"] >= M_FLOOR * (1 - 1e-9), level


def _found(pairs, among=None) -> set:
    """Pairs as a run classed them, each with its probability and method; ``among``: only
    those with one of these records."""
    return {
        (p.key, round(p.probability, 9), p.method)
        for p in pairs
        if among is None or p.left in among or p.right in among
    }


def test_linking_only_new_records_finds_what_a_whole_run_finds_with_them(small_population):
    frame, truth = small_population
    model = default_model()
    whole = link([frame], "dedupe_only", model=model)
    # Some records arrived since the rest were linked (among them both records of some
    # people, and records of others the rest hold): the links among the rest are known.
    new = {uid for pair in sorted(truth)[:15] for uid in pair}
    new |= set(frame["unique_id"].sample(25, random_state=3))
    before = [p.key for p in whole.links if p.left not in new and p.right not in new]
    part = link([frame], "dedupe_only", model=model, new=new, known_same=before)
    assert _found(part.links, new) == _found(whole.links, new)
    assert _found(part.review, new) == _found(whole.review, new)
    # New with new, and new with the rest, both found.
    assert [p for p in whole.links if p.left in new and p.right in new]
    assert [p for p in whole.links if (p.left in new) != (p.right in new)]
    # Only the newborn rule, which looks at every record, finds pairs of the rest again,
    # and only pairs the whole run links.
    others = [p for p in part.links if p.left not in new and p.right not in new]
    assert {p.method for p in others} <= {"newborn"}
    assert {p.key for p in others} <= whole.link_keys()
    assert not [p for p in part.review if p.left not in new and p.right not in new]
    # Every record new: the whole run.
    every = link([frame], "dedupe_only", model=model, new=set(frame["unique_id"]))
    assert _found(every.links) == _found(whole.links)
    assert _found(every.review) == _found(whole.review)


def test_linking_only_new_records_is_for_one_frame_of_records(small_population):
    frame, _truth = small_population
    with pytest.raises(ValueError, match="dedupe_only"):
        link([frame, frame], "link_only", model=default_model(), new={"x"})


@pytest.mark.parametrize("arrived", ["gp:a1", "police:b1"])
def test_a_pair_with_names_swapped_scores_the_same_whichever_record_is_new(
    small_population, arrived
):
    """Some blocking rules and levels look one way only (a given name equal to the other
    record's family name): a whole run has the record whose id sorts first on the left,
    and so must a run of only the new records, whichever of the two arrived last."""
    frame, _truth = small_population
    swapped = records_to_frame(
        [
            IdentityRecord("gp", "a1", "Johnathan", "Smithers", "m", "1980-03-04", None, "1 High St", "HX1 1AA"),
            IdentityRecord("police", "b1", "Smithers", "Jonathan", "m", "1980-03-04", None, "9 Low Rd", "HX2 2BB"),
        ]
    )  # fmt: skip
    both = pd.concat([frame, swapped], ignore_index=True)
    low = Thresholds(0.99, 0.05)
    whole = link([both], "dedupe_only", model=default_model(), thresholds=low)
    part = link([both], "dedupe_only", model=default_model(), thresholds=low, new={arrived})
    pair = {"gp:a1", "police:b1"}
    expected = _found([p for p in whole.links + whole.review if set(p.key) == pair])
    assert expected  # the model does score them
    assert _found([p for p in part.links + part.review if set(p.key) == pair]) == expected


def test_the_crowding_keys_are_the_one_key_blocking_rules():
    """``BLOCK_KEYS`` (what ``crowded`` counts) are exactly the rules that block on one
    key both sides: a rule added or changed without them would go uncounted."""
    from splink import block_on

    from cradle.linkage.model import (
        BLOCK_KEYS,
        CROSSED_KEYS,
        blocking_rules_for_prediction,
        describe_key,
    )

    def sql(rule) -> str:
        return rule.get_blocking_rule("duckdb").blocking_rule_sql

    one_key = {sql(r) for r in blocking_rules_for_prediction() if not isinstance(r, str)}
    assert one_key == {sql(block_on(*keys)) for keys in BLOCK_KEYS}
    assert len(BLOCK_KEYS) == len(one_key)
    crossed = [r for r in blocking_rules_for_prediction() if isinstance(r, str)]
    assert crossed == [rule for rule, _left, _right in CROSSED_KEYS]
    assert describe_key(("dob_s", "substr(family, 1, 2)")) == "date of birth and family name"
    assert describe_key(("given_canon", "postcode_n")) == "given name and postcode"


def _placeholders(n: int, **details) -> pd.DataFrame:
    """n people nobody identified, given one made-up name, birth date and address."""
    fields = dict(
        given_name="Unknown", family_name="Baby", sex="F", dob="1900-01-01",
        address="1 Placeholder Street", postcode="ZZ9 9ZZ",
    ) | details  # fmt: skip
    return records_to_frame(
        [IdentityRecord("housing", f"u{i}", nhs_number=None, **fields) for i in range(n)]
    )


def test_a_block_of_too_many_sharing_a_key_makes_no_pairs_and_its_records_link_otherwise(
    small_population,
):
    """Placeholder details shared by more records than a block may hold: every pair of
    them would be scored and linked (5,000 made 12.5 million links and ran out of memory).
    Such a block makes no pair; its records stay in the run, compared through their other
    keys: people with no fixed abode sharing one address still link by name and birth,
    and by NHS number."""
    frame, _truth = small_population
    model = default_model()
    alone = link([frame], "dedupe_only", model=model, max_block=50)
    assert alone.crowded == 0 and not alone.crowded_keys
    both = pd.concat([frame, _placeholders(60)], ignore_index=True)
    result = link([both], "dedupe_only", model=model, max_block=50)
    assert result.records == len(both) and result.crowded == 60
    assert "date of birth and family name" in result.crowded_keys
    assert "address" in result.crowded_keys
    assert not [p for p in result.links + result.review if "housing:u" in p.left + p.right]
    assert result.link_keys() == alone.link_keys()
    # Given a name that is also their family name, the rules that cross names pair them
    # too (given to family and family to given): counted the same way.
    same = link(
        [pd.concat([frame, _placeholders(60, family_name="Unknown")], ignore_index=True)],
        "dedupe_only", model=model, max_block=50,
    )  # fmt: skip
    assert same.crowded == 60 and any("crossed" in k for k in same.crowded_keys)
    assert not [p for p in same.links + same.review if "housing:u" in p.left + p.right]
    # Only the new records scored: the same pairs as a whole run (the blocks counted
    # over every record, as a whole run counts them).
    new = {f"housing:u{i}" for i in range(0, 60, 7)} | set(frame["unique_id"][:40])
    part = link([both], "dedupe_only", model=model, max_block=50, new=new)
    assert part.crowded == 60
    assert _found(part.links, new) == _found(result.links, new)
    assert _found(part.review, new) == _found(result.review, new)
    # Under the limit they are scored, and link to each other (what the limit is for).
    few = link([pd.concat([frame, _placeholders(40)])], "dedupe_only", model=model, max_block=50)
    assert few.crowded == 0
    assert len([p for p in few.links if "housing:u" in p.left]) == 40 * 39 // 2
    # Sixty different people at one address (no fixed abode): only the address's block
    # is crowded. The one also known to a GP under his NHS number, and the one recorded
    # twice, still link.
    homeless = records_to_frame(
        [
            IdentityRecord("housing", f"h{i}", given, family, "M",
                           f"19{60 + i % 40}-0{1 + i % 9}-1{i % 10}", None,
                           "No fixed abode", None)
            for i, (given, family) in enumerate(itertools.product(
                ["Aled", "Bryn", "Cai", "Dafydd", "Emyr", "Ffion", "Gethin", "Huw", "Iolo",
                 "Jac"],
                ["Morgan", "Pryce", "Rees", "Thomas", "Vaughan", "Whitlock"],
            ))
        ]
        + [
            IdentityRecord("housing", "h60", "Ronan", "Quill", "M", "1988-03-04", VALID,
                           "No fixed abode", None),
            IdentityRecord("gp", "g60", "Ronan", "Quill", "M", "1988-03-04", VALID,
                           "4 Elm Road", "ZZ9 1AA"),
            IdentityRecord("housing", "h61", "Tobias", "Wren", "M", "1979-07-08", None,
                           "No fixed abode", None),
            IdentityRecord("probation", "p61", "Tobias", "Wren", "M", "1979-07-08", None,
                           "No fixed abode", None),
        ]
    )  # fmt: skip
    moved = link([homeless], "dedupe_only", model=model, max_block=50)
    assert moved.crowded == 63 and moved.crowded_keys == ("address",)
    assert ("gp:g60", "housing:h60") in moved.link_keys()
    assert ("housing:h61", "probation:p61") in moved.link_keys()
    assert len(moved.links) == 2


def test_a_number_shared_by_more_than_a_block_holds_makes_no_pairs(small_population):
    """Sixty different people given one valid NHS number (a data fault): the number links
    none of them, deterministically or through its block."""
    frame, _truth = small_population
    people = records_to_frame(
        [
            IdentityRecord("housing", f"n{i}", given, family, "F", f"19{70 + i % 30}-0{1 + i % 9}-2{i % 8}",
                           VALID, f"{i} Mill Lane", None)
            for i, (given, family) in enumerate(itertools.product(
                ["Ada", "Bea", "Cara", "Dina", "Eve", "Fay", "Gwen", "Hana", "Ida", "Jo"],
                ["Ashby", "Brook", "Croft", "Dale", "Eaves", "Frost"],
            ))
        ]
    )  # fmt: skip
    both = pd.concat([frame, people], ignore_index=True)
    result = link([both], "dedupe_only", model=default_model(), max_block=50)
    assert result.crowded == 60 and "NHS number" in result.crowded_keys
    shared = [p for p in result.links if "housing:n" in p.left and "housing:n" in p.right]
    assert not shared, shared[:3]


def test_linking_only_counts_a_block_by_its_pairs_across_the_frames(small_population):
    """Linking two frames, a value many records of one frame share and few of the other
    makes few pairs: its block is not crowded."""
    frame, _truth = small_population
    model = default_model()
    one = pd.concat([frame, _placeholders(60)], ignore_index=True)
    other = records_to_frame(
        [IdentityRecord("police", "x1", "Unknown", "Baby", "F", "1900-01-01", None,
                        "1 Placeholder Street", "ZZ9 9ZZ")]
    )  # fmt: skip
    result = link([one, other], "link_only", model=model, max_block=50)
    assert result.crowded == 0  # 60 pairs, under 50 records' 1,225
    assert len([p for p in result.links if "police:x1" in (p.left, p.right)]) == 60


def test_a_block_is_crowded_past_the_limit_and_not_at_it_on_every_rule():
    """Exactly as many identical records as the limit make no crowded block, by the rules
    that cross names too (a record is never paired with itself); one more does. Linking
    two frames, the pairs across them are what count."""
    from cradle.linkage.link import crowded_blocks

    def crowded(frames, link_type="dedupe_only"):
        _frames, ids, keys = crowded_blocks(frames, link_type, 50)
        return len(ids), keys

    assert crowded([_placeholders(50, family_name="Unknown")]) == (0, [])
    count, keys = crowded([_placeholders(51, family_name="Unknown")])
    assert count == 51 and "given name and family name, crossed" in keys
    many = _placeholders(60, family_name="Unknown")
    one = _placeholders(1, family_name="Unknown").assign(unique_id="police:x1")
    assert crowded([many, one], "link_only") == (0, [])  # 60 pairs across the frames


def test_records_in_crowded_blocks_are_left_out_of_training(small_population):
    """5,000 "Baby Unknown" among 8,000 people trained a model in which two random
    records were the same person 99 times in 100 (their pairs were most of what the
    training saw). Records in crowded blocks are left out of training, which learns from
    the others what it learns without them, and says how many it left out."""
    from cradle.linkage.link import fit

    frame, _ = small_population
    alone = fit([frame], max_block=50)
    model = fit([pd.concat([frame, _placeholders(60)], ignore_index=True)], max_block=50)
    assert (alone.left_out, model.left_out) == (0, 60)
    _assert_same_parameters(model.splink, alone.splink)
    assert model.hash == alone.hash  # what is left out is not part of the model
    # A set of records nothing but placeholders has nothing left to train on: said so,
    # not Splink's error about its frames.
    from cradle.linkage.model import ModelError

    police = _placeholders(60).assign(unique_id=[f"police:x{i}" for i in range(60)])
    with pytest.raises(ModelError, match="nothing to train on: 120 records left out"):
        fit([pd.concat([frame, _placeholders(60)], ignore_index=True), police], "link_only",
            max_block=50)  # fmt: skip
