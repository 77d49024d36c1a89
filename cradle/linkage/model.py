"""The Splink model: comparisons and blocking rules for UK names and addresses,
unsupervised training, and a saved, versioned model.

Training uses no labels: u probabilities by random sampling of record pairs
(with a fixed seed, so a model is reproducible), m probabilities by expectation
maximisation on three blocked samples, each estimating the comparisons it does
not block on, and the prior (the probability that two random records match)
from deterministic rules with an assumed recall.

The same settings run on DuckDB and on Spark: every level comes from Splink's
level library (or plain SQL both dialects share, or, for swapped names, the
dialect's own Jaro-Winkler function as Splink's levels name it), so Splink
writes each backend's functions.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Bump when the comparisons, blocking or training change: a saved model of another
# version is refused rather than silently applied to columns it was not trained on.
MODEL_VERSION = 5
SEED = 6
# Each EM session samples at most this many blocked pairs (all of them on small data).
EM_MAX_PAIRS = 2e6


def _levels():
    import splink.comparison_level_library as cll

    return cll


def _swapped_near(name: str, other: str, threshold: float, label: str):
    """A level: the left record's ``name`` near the right record's ``other``
    (Jaro-Winkler at or above ``threshold``).

    Splink's ColumnsReversedLevel asks for the swapped names to be equal; a record
    with given and family name swapped often has one of them mistyped as well. The
    SQL takes the dialect's own Jaro-Winkler function, as Splink's levels do, so the
    level runs on DuckDB and on Spark alike."""
    from splink.internals.column_expression import ColumnExpression
    from splink.internals.comparison_level_creator import ComparisonLevelCreator

    class SwappedNearLevel(ComparisonLevelCreator):
        def create_sql(self, sql_dialect) -> str:
            a, b = ColumnExpression(name), ColumnExpression(other)
            a.sql_dialect = b.sql_dialect = sql_dialect
            jw = sql_dialect.jaro_winkler_function_name
            return f"{jw}({a.name_l}, {b.name_r}) >= {threshold}"

        def create_label_for_charts(self) -> str:
            return label

    return SwappedNearLevel()


def comparisons() -> list:
    import splink.comparison_library as cl

    cll = _levels()
    given = cl.CustomComparison(
        output_column_name="given_name",
        comparison_description="given name",
        comparison_levels=[
            cll.NullLevel("given"),
            cll.ExactMatchLevel("given", term_frequency_adjustments=True),
            cll.ExactMatchLevel("given_canon").configure(label_for_charts="same name by nickname"),
            cll.ColumnsReversedLevel("given", "family").configure(
                label_for_charts="given and family names swapped"
            ),
            cll.JaroWinklerLevel("given", 0.92),
            # After a near name in its own field: that explains a pair better than a swap.
            _swapped_near("given", "family", 0.88, "names swapped, given name mistyped"),
            cll.JaroWinklerLevel("given", 0.8),
            cll.JaroWinklerLevel("given", 0.7),
            cll.ElseLevel(),
        ],
    )
    family = cl.CustomComparison(
        output_column_name="family_name",
        comparison_description="family name",
        comparison_levels=[
            cll.NullLevel("family"),
            cll.ExactMatchLevel("family", term_frequency_adjustments=True),
            cll.ColumnsReversedLevel("family", "given").configure(
                label_for_charts="given and family names swapped"
            ),
            cll.JaroWinklerLevel("family", 0.92),
            cll.ArrayIntersectLevel("family_parts", 1).configure(
                label_for_charts="shares a part of a double or hyphenated surname"
            ),
            # After a near name in its own field: that explains a pair better than a swap.
            _swapped_near("family", "given", 0.88, "names swapped, family name mistyped"),
            cll.JaroWinklerLevel("family", 0.8),
            cll.JaroWinklerLevel("family", 0.7),
            # A "Baby of <mother>" or unborn record carries the mother's surname, which
            # the baby's own records need not: another surname is weaker evidence here.
            cll.CustomLevel("placeholder_l OR placeholder_r").configure(
                label_for_charts="another surname on a newborn record (the mother's)"
            ),
            cll.ElseLevel(),
        ],
    )
    dob = cl.CustomComparison(
        output_column_name="date_of_birth",
        comparison_description="date of birth",
        comparison_levels=[
            cll.NullLevel("dob_s"),
            cll.ExactMatchLevel("dob_s"),
            # An unborn record's date is the due date: within a month of a birth, the
            # baby's, as a date a month out would not be an adult's.
            cll.And(
                cll.CustomLevel("placeholder_l OR placeholder_r"),
                cll.AbsoluteDateDifferenceLevel(
                    "dob_s", input_is_string=True, threshold=31, metric="day"
                ),
            ).configure(label_for_charts="an unborn record due within a month of the birth"),
            cll.CustomLevel(
                "substr(dob_s_l, 1, 4) = substr(dob_s_r, 1, 4) "
                "AND substr(dob_s_l, 6, 2) = substr(dob_s_r, 9, 2) "
                "AND substr(dob_s_l, 9, 2) = substr(dob_s_r, 6, 2)",
                label_for_charts="day and month transposed",
            ),
            cll.DamerauLevenshteinLevel("dob_s", 1).configure(label_for_charts="one digit apart"),
            cll.AbsoluteDateDifferenceLevel(
                "dob_s", input_is_string=True, threshold=31, metric="day"
            ).configure(label_for_charts="within a month"),
            cll.ElseLevel(),
        ],
    )
    nhs = cl.CustomComparison(
        output_column_name="nhs_number",
        comparison_description="NHS number",
        comparison_levels=[
            cll.NullLevel("nhs"),
            cll.ExactMatchLevel("nhs"),
            cll.DamerauLevenshteinLevel("nhs", 1).configure(label_for_charts="one digit apart"),
            cll.ElseLevel(),
        ],
    )
    # A "Baby of <mother>" or unborn record names nobody, so its given name is null
    # and counts neither way, and its surname is the mother's (a level of its own
    # above); its date counts once, in the date of birth. Model version 3 had a
    # newborn comparison that scored "a newborn record born on the same day" beside
    # the date of birth's exact match: the birthday counted twice, and at a million
    # records every placeholder was a likely match for every baby born that day.
    sex = cl.CustomComparison(
        output_column_name="sex",
        comparison_description="sex",
        comparison_levels=[cll.NullLevel("sex_n"), cll.ExactMatchLevel("sex_n"), cll.ElseLevel()],
    )
    # One comparison for the address and its postcode: they are not independent
    # evidence (a move changes both), so two comparisons would count a move twice.
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_description="address and postcode",
        comparison_levels=[
            cll.And(cll.NullLevel("address_n"), cll.NullLevel("postcode_n")),
            cll.And(cll.ExactMatchLevel("address_n"), cll.ExactMatchLevel("postcode_n")).configure(
                label_for_charts="same address and postcode"
            ),
            cll.Or(
                cll.ExactMatchLevel("address_n"),
                cll.And(cll.ExactMatchLevel("postcode_n"), cll.JaroWinklerLevel("address_n", 0.88)),
            ).configure(label_for_charts="same address, postcode differs or near"),
            cll.Or(
                cll.ExactMatchLevel("address_sorted"), cll.JaroWinklerLevel("address_n", 0.88)
            ).configure(label_for_charts="similar address"),
            cll.JaroWinklerLevel("address_sorted", 0.88).configure(
                label_for_charts="similar address, words in another order"
            ),
            cll.ExactMatchLevel("postcode_n").configure(label_for_charts="same postcode"),
            cll.Or(
                cll.DamerauLevenshteinLevel("postcode_n", 1),
                cll.ExactMatchLevel("postcode_district"),
            ).configure(label_for_charts="near postcode"),
            cll.ElseLevel(),
        ],
    )
    return [given, family, dob, nhs, sex, address]


# The rules above that cross fields (names swapped), each with the key it takes of the
# left record and of the right: a pair is blocked where the two are equal.
CROSSED_KEYS = (
    (
        "l.dob_s = r.dob_s AND substr(l.given, 1, 1) = substr(r.family, 1, 1) "
        "AND substr(l.family, 1, 1) = substr(r.given, 1, 1)",
        ("dob_s", "substr(given, 1, 1)", "substr(family, 1, 1)"),
        ("dob_s", "substr(family, 1, 1)", "substr(given, 1, 1)"),
    ),
    (
        "l.postcode_n = r.postcode_n AND substr(l.given, 1, 1) = substr(r.family, 1, 1)",
        ("postcode_n", "substr(given, 1, 1)"),
        ("postcode_n", "substr(family, 1, 1)"),
    ),
    (
        "l.postcode_n = r.postcode_n AND substr(l.family, 1, 1) = substr(r.given, 1, 1)",
        ("postcode_n", "substr(family, 1, 1)"),
        ("postcode_n", "substr(given, 1, 1)"),
    ),
    ("l.given = r.family AND l.family = r.given", ("given", "family"), ("family", "given")),
)


def blocking_rules_for_prediction() -> list:
    """Rules whose union makes the candidate pairs: each admits pairs the others miss.

    A valid NHS number alone, or the first five digits of a mistyped one with the
    family initial; the date of birth with the first two letters of the family
    name, the given name's initial, both names' initials crossed (names swapped)
    or the postcode district (changed surname, moved house: not all at once);
    given name by nickname with family name (transposed or mistyped date); given
    name with postcode (a changed surname and a mistyped date); the postcode with
    the family name's initial, or with each other's initials (names swapped), or
    the whole address (a newborn or unborn record, no given name and a due date
    for a birth date; a mistyped surname); given and family names swapped.

    Sized for a national run (``bench/bench_link.py``): a million records make some
    22 million candidate pairs. Model version 3's rules made 69 million: the date of
    birth with only the family initial (babies: some 900 records a birthday in a
    million), the NHS number's first five digits alone (a few thousand prefixes for
    every number in the country), and each crossed initial on its own. Each was
    narrowed where the pairs it alone found on FEBRL3, FEBRL4 and the synthetic
    population were found by another rule too (FEBRL3: 6 of 6,538 true pairs no
    longer blocked).
    """
    from splink import block_on

    return [
        block_on("nhs"),
        # The date of birth with one more thing, never alone: at national scale some
        # 1,600 babies share each birthday, and one block per day would be millions of pairs.
        block_on("dob_s", "substr(family, 1, 2)"),
        block_on("dob_s", "substr(given_canon, 1, 1)"),
        block_on("dob_s", "postcode_district"),
        # Names swapped: Splink puts a pair one way round (by id, or by data set when
        # linking), so the initials are crossed both ways.
        CROSSED_KEYS[0][0],
        block_on("given_canon", "family"),
        block_on("given_canon", "postcode_n"),
        # The postcode with the initial of the family name, in either field: a mistyped
        # surname, names swapped. A postcode holds some fifteen addresses.
        block_on("postcode_n", "substr(family, 1, 1)"),
        CROSSED_KEYS[1][0],
        CROSSED_KEYS[2][0],
        block_on("address_n"),
        block_on("substr(nhs, 1, 5)", "substr(family, 1, 1)"),
        CROSSED_KEYS[3][0],
        block_on("substr(given, 1, 2)", "substr(family, 1, 2)", "substr(dob_s, 1, 4)"),
    ]


# The keys of the rules above that are one key on both sides (``block_on``): each makes,
# for n records sharing a value, n(n-1)/2 pairs. (Held to the rules by
# tests/test_linkage_core.py.)
BLOCK_KEYS = (
    ("nhs",),
    ("dob_s", "substr(family, 1, 2)"),
    ("dob_s", "substr(given_canon, 1, 1)"),
    ("dob_s", "postcode_district"),
    ("given_canon", "family"),
    ("given_canon", "postcode_n"),
    ("postcode_n", "substr(family, 1, 1)"),
    ("address_n",),
    ("substr(nhs, 1, 5)", "substr(family, 1, 1)"),
    ("substr(given, 1, 2)", "substr(family, 1, 2)", "substr(dob_s, 1, 4)"),
)
# A block of more records than this sharing one of those keys makes no pairs
# (``cradle.linkage.link.crowded_blocks``): at national scale the largest real blocks are a
# birthday with a family name's first letters (some 30 in a million records) or a
# hostel's address (hundreds); thousands sharing a name, a birth date and an address
# are a placeholder given to people nobody identified ("Baby Unknown", 01/01/1900),
# and every pair of them scored and linked made millions of links (13 GB and a
# MemoryError for 5,000 such records).
MAX_BLOCK = 1000

_KEY_WORDS = {
    "nhs": "NHS number",
    "dob_s": "date of birth",
    "family": "family name",
    "given_canon": "given name",
    "given": "given name",
    "postcode_n": "postcode",
    "postcode_district": "postcode district",
    "address_n": "address",
}


def key_columns(keys: tuple[str, ...]) -> list[str]:
    """The columns a blocking key's expressions read, in order ("substr(family, 1, 2)":
    family)."""
    import re

    return [w for k in keys for w in re.findall(r"[a-z_]+", k) if w in _KEY_WORDS]


def describe_key(keys: tuple[str, ...]) -> str:
    """A blocking key in words ("date of birth and family name"), never its values."""
    words: list[str] = []
    for column in key_columns(keys):
        if _KEY_WORDS[column] not in words:
            words.append(_KEY_WORDS[column])
    return " and ".join(words)


def settings(link_type: str = "dedupe_only", *, retain_columns: bool = True) -> dict:
    from splink import SettingsCreator

    creator = SettingsCreator(
        link_type=link_type,
        unique_id_column_name="unique_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocking_rules_for_prediction(),
        retain_intermediate_calculation_columns=retain_columns,
        retain_matching_columns=retain_columns,
        additional_columns_to_retain=["agency"],
    )
    return creator


def train(linker, *, seed: int = SEED, max_pairs: float = 3e6) -> None:
    """Fit the model without labels (module docstring)."""
    from splink import block_on

    linker.training.estimate_probability_two_random_records_match(
        [
            "l.nhs = r.nhs AND l.nhs_valid AND r.nhs_valid",
            block_on("given", "family", "dob_s"),
        ],
        recall=0.8,
    )
    # Every chunk, not Splink's early stop at 100 per level: rare levels (an exact
    # NHS number between two different people) need the whole sample.
    linker.training.estimate_u_using_random_sampling(
        max_pairs=max_pairs, seed=seed, min_count_per_level=None
    )
    sessions = [
        # The first session also sets the prior from what EM found among its pairs
        # (the deterministic estimate above assumes a recall no one measured).
        (block_on("dob_s"), True),  # sampled to max_pairs at scale (below)
        (block_on("given_canon", "family"), False),
        # Newborn and unborn records: only pairs in one household show enough of them.
        (block_on("family", "address_n"), False),
    ]
    for rule, sets_prior in sessions:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule,
                max_pairs=EM_MAX_PAIRS,
                estimate_without_term_frequencies=True,
                populate_probability_two_random_records_match_from_trained_values=sets_prior,
            )
        except ValueError as exc:
            # On a small or unusual data set an m probability can underflow to 0 in
            # Splink's EM, which refuses it; the other sessions' estimates stand.
            log.warning("linkage: one EM session was skipped (%s)", str(exc)[:80])


# No comparison level is impossible among true matches: expectation maximisation gives
# a level it never saw among matches (names swapped, in a population that never swaps
# them; another recorded sex) an m probability near zero, and a weight near minus
# infinity that no other evidence can outweigh. At least one match in a thousand is
# allowed to look like any level (a floor set without labels, as the thresholds are).
M_FLOOR = 1e-3


def floor_m(spec: dict[str, Any], floor: float = M_FLOOR) -> dict[str, Any]:
    """The model with every level's m probability at least ``floor``, each comparison's
    m probabilities still summing to one: the levels below the floor are raised to it
    and the others scaled down to make room, again while scaling pushes one below it."""
    spec = json.loads(json.dumps(spec))
    for comparison in spec["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if "m_probability" in lv]
        if not levels:
            continue
        if floor * len(levels) >= 1:
            raise ValueError(f"an m floor of {floor} leaves no room for {len(levels)} levels")
        held: list[dict] = []
        while True:
            free = [lv for lv in levels if not any(lv is h for h in held)]
            scale = (1.0 - floor * len(held)) / sum(lv["m_probability"] for lv in free)
            below = [lv for lv in free if lv["m_probability"] * scale < floor]
            if not below:
                break
            held += below
        for lv in held:
            lv["m_probability"] = floor
        for lv in free:
            lv["m_probability"] *= scale
    return spec


@dataclass(frozen=True)
class SavedModel:
    """A trained model as Splink writes it, with Cradle's version and a hash of its content."""

    splink: dict[str, Any]
    version: int = MODEL_VERSION
    # Records left out of its training, in crowded blocks (``link.fit``): not what was
    # learnt, so neither saved nor hashed.
    left_out: int = field(default=0, compare=False)

    @property
    def hash(self) -> str:
        # Splink gives every linker a random id; it is not part of what was learnt. And
        # DuckDB's parallel sums can differ in the last bits from run to run: the hash
        # reads each number to ten significant digits.
        content = {k: v for k, v in self.splink.items() if k != "linker_uid"}
        text = json.dumps(_rounded(content), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def as_dict(self) -> dict[str, Any]:
        return {"cradle_model_version": self.version, "hash": self.hash, "splink": self.splink}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SavedModel:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        version = data.get("cradle_model_version")
        if version != MODEL_VERSION:
            raise ModelError(
                f"{path}: model version {version} is not this code's version {MODEL_VERSION}: "
                "train it again (cradle link train)"
            )
        model = cls(splink=data["splink"], version=version)
        if data.get("hash") != model.hash:
            raise ModelError(f"{path}: the model's content does not match its hash (edited?)")
        return model

    def for_link_type(self, link_type: str, dialect: str = "duckdb") -> dict[str, Any]:
        """The model as Splink settings for a backend.

        Splink writes its SQL in the dialect the model was trained in (DuckDB quotes
        names as Spark quotes strings), so for another backend the comparisons are
        rebuilt from their definitions and the learnt parameters copied across."""
        if dialect == self.splink.get("sql_dialect", "duckdb"):
            spec = dict(self.splink)
            spec["link_type"] = link_type
            return spec
        spec = settings(link_type).get_settings(dialect).as_dict()
        learnt = {c["output_column_name"]: c for c in self.splink["comparisons"]}
        for comparison in spec["comparisons"]:
            trained = learnt[comparison["output_column_name"]]["comparison_levels"]
            if len(trained) != len(comparison["comparison_levels"]):
                raise ModelError("the saved model's comparisons differ from this code's")
            for level, source in zip(comparison["comparison_levels"], trained, strict=True):
                for key in ("m_probability", "u_probability"):
                    if key in source:
                        level[key] = source[key]
        spec["probability_two_random_records_match"] = self.splink[
            "probability_two_random_records_match"
        ]
        return spec


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


class ModelError(Exception):
    pass


DEFAULT_MODEL_FILE = Path(__file__).with_name("default_model.json")


def default_model() -> SavedModel:
    """The model shipped with the code, trained (without labels) on the synthetic
    population (``cradle link train --synthetic``): for a database too small to
    train on, as a new partnership's is. Retrain it when ``MODEL_VERSION`` changes."""
    return SavedModel.load(DEFAULT_MODEL_FILE)


def quiet_splink(level: int = logging.ERROR) -> None:
    """Splink logs every step at INFO; Cradle shows its own progress instead."""
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(level)
