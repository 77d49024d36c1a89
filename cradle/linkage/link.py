"""Linking identity records: deterministic on valid NHS numbers, then Splink.

Two thresholds on Splink's match probability (``Thresholds``): a pair at or
above ``link`` links; a pair at or above ``review`` but below ``link`` goes to
the review queue and is never linked automatically; anything lower is dropped.
A pair sharing a valid NHS number (check digit verified) links whatever Splink
says; so does a newborn or unborn record with the baby's own records at its
address, when nothing there is ambiguous (``cradle.linkage.newborn``).

The default thresholds are chosen without any truth labels, from what the
model's probability means: Splink's probability is the posterior that a pair is
the same person, so linking at 0.99 accepts, by the model's own account, at most
one wrong link in a hundred, and 0.5 is the point where a match becomes more
likely than not, below which a person need not look. (Neither was tuned on the
evaluation data; ``cradle link evaluate`` measures them.)
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from cradle.linkage import model as linkage_model
from cradle.linkage.frame import MODEL_COLUMNS
from cradle.linkage.model import (
    BLOCK_KEYS,
    CROSSED_KEYS,
    ModelError,
    SavedModel,
    describe_key,
    floor_m,
    key_columns,
    quiet_splink,
    settings,
    train,
)
from cradle.linkage.newborn import newborn_pairs

# A link made by the newborn rule (cradle.linkage.newborn), as "nhs_number" names
# the deterministic NHS number rule and "splink" the model.
NEWBORN_RULE = "newborn"


@dataclass(frozen=True)
class Thresholds:
    link: float = 0.99
    review: float = 0.5

    def __post_init__(self):
        if not 0 < self.review <= self.link < 1:
            raise ValueError("thresholds must satisfy 0 < review <= link < 1")


DEFAULT_THRESHOLDS = Thresholds()
_RUNS = itertools.count(1)


class Weight(NamedTuple):
    """One bar of the waterfall: a comparison's level and its match weight (log2 Bayes factor)."""

    comparison: str
    level: str
    weight: float


class Breakdown:
    """Every review pair's comparison levels and weights, held as columns; a pair's
    waterfall is read from them only when asked for (a national run queues millions)."""

    def __init__(self, prior: Weight, columns: list[tuple[str, list[int], np.ndarray]], labels):
        self.prior, self.columns, self.labels = prior, columns, labels

    def row(self, j: int) -> tuple[Weight, ...]:
        return (
            self.prior,
            *(
                Weight(
                    name, self.labels[name].get(gammas[j], str(gammas[j])), round(float(ws[j]), 3)
                )
                for name, gammas, ws in self.columns
            ),
        )


class Pair:
    """A pair of records as the run classed it: ids, Splink's probability and match
    weight, and the method ("nhs_number" or "newborn", the deterministic rules, or
    "splink"); a review pair can give its waterfall.

    A plain class with slots rather than a frozen dataclass: a national run makes two
    million of these, and a frozen dataclass's ``__init__`` costs three times as much.
    Equal, and hashed, by its ids, scores and method, as the dataclass was."""

    __slots__ = ("breakdown", "left", "match_weight", "method", "probability", "right", "row")

    def __init__(
        self,
        left: str,
        right: str,
        probability: float,
        match_weight: float,
        method: str,
        breakdown: Breakdown | None = None,
        row: int = -1,
    ):
        self.left, self.right, self.method = left, right, method
        self.probability, self.match_weight = probability, match_weight
        self.breakdown, self.row = breakdown, row

    def _compared(self) -> tuple:
        return (self.left, self.right, self.probability, self.match_weight, self.method)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pair):
            return NotImplemented
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        return (
            f"Pair(left={self.left!r}, right={self.right!r}, probability={self.probability!r}, "
            f"match_weight={self.match_weight!r}, method={self.method!r})"
        )

    @property
    def weights(self) -> tuple[Weight, ...]:
        """The waterfall: the prior, then each comparison's level and match weight."""
        return self.breakdown.row(self.row) if self.breakdown is not None else ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.left, self.right) if self.left <= self.right else (self.right, self.left)


@dataclass
class LinkageResult:
    links: list[Pair]
    review: list[Pair]
    records: int
    seconds: float
    model_hash: str
    steps: dict[str, float] = field(default_factory=dict)
    # Records in blocks of more than ``MAX_BLOCK`` sharing a blocking key, whose pairs
    # there were not made (``crowded_blocks``), and those keys in words.
    crowded: int = 0
    crowded_keys: tuple[str, ...] = ()

    def link_keys(self) -> set[tuple[str, str]]:
        return {p.key for p in self.links}


BLOCK_KEY = "block_key_"  # + the index of the key in BLOCK_KEYS: a crowded key's column
NHS_KEY = f"{BLOCK_KEY}{BLOCK_KEYS.index(('nhs',))}"
CROSSED_KEY = "crossed_key_"  # + the index in CROSSED_KEYS, + "_l" or "_r"


def crowded_blocks(
    frames: Sequence[pd.DataFrame], link_type: str, limit: int
) -> tuple[list[pd.DataFrame], set[str], list[str]]:
    """The frames, with columns for each blocking rule some value of which is shared by
    so many records that its block would make more pairs than ``limit`` records do: the
    rule's key as text, or null where it is such a value (or a part of it is missing), so
    that the rule, blocking on those columns instead (``_blocking_rules``), makes no pair
    there. Those records are still compared through their other keys. With the ids of
    the records in such blocks, and the keys in words (never their values).

    A rule of one key (``BLOCK_KEYS``) makes n(n-1)/2 pairs of n records sharing a value
    (across the frames only, when linking only: (n² - Σ n_f²)/2); a rule that crosses
    fields (``CROSSED_KEYS``, names swapped) pairs a left key with an equal right key,
    about n_left x n_right pairs (counted over every frame). A placeholder given to
    people nobody identified ("Baby Unknown" born 01/01/1900 at one address) made every
    pair of them a candidate and, the records being identical, a link: five thousand
    such records, 12.5 million links and a MemoryError. Counted in DuckDB whatever the
    backend; a key with a part missing blocks nothing, as in Splink's join."""
    import duckdb

    used = ["unique_id", *sorted(set(key_columns(_ALL_KEY_PARTS)))]
    parts = []
    for i, df in enumerate(frames):
        part = df[used].copy()
        part["frame__"], part["row__"] = i, np.arange(len(part))
        parts.append(part)
    records = pd.concat(parts, ignore_index=True)
    most = limit * (limit - 1) // 2
    columns: dict[str, np.ndarray] = {}
    crowded_ids: set[str] = set()
    why: list[str] = []
    with duckdb.connect() as con:
        con.register("records", records)

        def values(keys) -> str:  # the key's parts as k0, k1...: present records only
            named = ", ".join(f"{k} AS k{j}" for j, k in enumerate(keys))
            present = " AND ".join(f"({k}) IS NOT NULL" for k in keys)
            return f"SELECT {named}, frame__ FROM records WHERE {present}"

        def column(keys, crowd: str) -> np.ndarray:
            """The key as text for each record in order, null where crowded or missing;
            the crowded records' ids kept."""
            names = ", ".join(f"k{j}" for j in range(len(keys)))
            named = ", ".join(f"{k} AS k{j}" for j, k in enumerate(keys))
            text = " || chr(31) || ".join(f"CAST(r.k{j} AS VARCHAR)" for j in range(len(keys)))
            rows = con.execute(
                f"SELECT r.unique_id, c.k0 IS NOT NULL AS crowded, "
                f"CASE WHEN c.k0 IS NULL THEN {text} END AS key "
                f"FROM (SELECT {named}, frame__, row__, unique_id FROM records) AS r "
                f"LEFT JOIN ({crowd}) AS c USING ({names}) ORDER BY r.frame__, r.row__"
            ).fetchdf()
            crowded_ids.update(rows.loc[rows["crowded"], "unique_id"])
            return rows["key"].to_numpy(dtype=object)

        for index, keys in enumerate(BLOCK_KEYS):
            names = ", ".join(f"k{j}" for j in range(len(keys)))
            if link_type == "link_only" and len(frames) > 1:
                # Pairs across the frames only: (n² - Σ n_f²) / 2.
                crowd = (
                    f"SELECT {names} FROM (SELECT {names}, frame__, count(*) AS n FROM "
                    f"({values(keys)}) GROUP BY {names}, frame__) GROUP BY {names} "
                    f"HAVING (sum(n) * sum(n) - sum(n * n)) / 2 > {most}"
                )
            else:  # n(n-1)/2 pairs: more than the limit's when n is more than the limit
                crowd = (
                    f"SELECT {names} FROM ({values(keys)}) GROUP BY {names} "
                    f"HAVING count(*) > {int(limit)}"
                )
            if con.execute(f"SELECT count(*) FROM ({crowd})").fetchone()[0]:
                columns[f"{BLOCK_KEY}{index}"] = column(keys, crowd)
                if describe_key(keys) not in why:
                    why.append(describe_key(keys))
        for index, (_sql, left, right) in enumerate(CROSSED_KEYS):
            names = ", ".join(f"k{j}" for j in range(len(left)))
            # Ordered pairs of a left key equal to a right key, as many as one-key pairs
            # of ``limit`` records both ways round: all of them less a record with itself
            # (both its keys the value), or when linking only, less those within a frame.
            if link_type == "link_only" and len(frames) > 1:
                less = (
                    f"SELECT {names}, sum(n * m) AS less FROM (SELECT {names}, frame__, "
                    f"count(*) AS n FROM ({values(left)}) GROUP BY ALL) JOIN "
                    f"(SELECT {names}, frame__, count(*) AS m FROM ({values(right)}) "
                    f"GROUP BY ALL) USING ({names}, frame__) GROUP BY ALL"
                )
            else:
                both = " AND ".join(f"({a}) = ({b})" for a, b in zip(left, right, strict=True))
                less = f"SELECT {names}, count(*) AS less FROM ({values(left)} AND {both}) GROUP BY ALL"
            crowd = (
                f"SELECT {names} FROM (SELECT {names}, count(*) AS n FROM ({values(left)}) "
                f"GROUP BY {names}) JOIN (SELECT {names}, count(*) AS m FROM "
                f"({values(right)}) GROUP BY {names}) USING ({names}) "
                f"LEFT JOIN ({less}) USING ({names}) "
                f"WHERE n * m - coalesce(less, 0) > {2 * most}"
            )
            if con.execute(f"SELECT count(*) FROM ({crowd})").fetchone()[0]:
                columns[f"{CROSSED_KEY}{index}_l"] = column(left, crowd)
                columns[f"{CROSSED_KEY}{index}_r"] = column(right, crowd)
                words = f"{describe_key(left)}, crossed"
                if words not in why:
                    why.append(words)
    if not columns:
        return list(frames), set(), []
    out, at = [], 0
    for df in frames:
        out.append(df.assign(**{c: v[at : at + len(df)] for c, v in columns.items()}))
        at += len(df)
    return out, crowded_ids, why


_ALL_KEY_PARTS = (
    *(k for keys in BLOCK_KEYS for k in keys),
    *(k for _sql, left, right in CROSSED_KEYS for k in (*left, *right)),
)


def _splink_frame(df: pd.DataFrame) -> pd.DataFrame:
    """What Splink is given of a frame: the model's columns, and the crowded keys'."""
    return df[[*MODEL_COLUMNS, *(c for c in df.columns if c.startswith((BLOCK_KEY, CROSSED_KEY)))]]


def _blocking_rules(spec: dict, frames: Sequence[pd.DataFrame], dialect: str) -> dict:
    """The model's settings with each crowded rule blocking on its key's columns
    (``crowded_blocks``): the same pairs but those of its crowded values."""
    from splink import block_on

    present = {c for df in frames for c in df.columns}
    swaps = {}
    for index, keys in enumerate(BLOCK_KEYS):
        column = f"{BLOCK_KEY}{index}"
        if column in present:
            sql = block_on(*keys).get_blocking_rule(dialect).blocking_rule_sql
            swaps[sql] = (f"l.{column} = r.{column}", describe_key(keys))
    for index, (sql, left, _right) in enumerate(CROSSED_KEYS):
        column = f"{CROSSED_KEY}{index}"
        if f"{column}_l" in present:
            swaps[sql] = (f"l.{column}_l = r.{column}_r", describe_key(left))
    if not swaps:
        return spec
    rules = [dict(r) for r in spec["blocking_rules_to_generate_predictions"]]
    for rule in rules:
        if rule["blocking_rule"] in swaps:
            rule["blocking_rule"] = swaps.pop(rule["blocking_rule"])[0]
    if swaps:
        missing = ", ".join(words for _rule, words in swaps.values())
        raise ModelError(f"the model has no blocking rule on {missing}")
    return {**spec, "blocking_rules_to_generate_predictions": rules}


def deterministic_pairs(frames: Sequence[pd.DataFrame], link_type: str) -> set[tuple[str, str]]:
    """Pairs of records sharing a valid NHS number (across the frames when linking only),
    but for a number shared by too many (``crowded_blocks``)."""
    parts = []
    for i, df in enumerate(frames):
        usable = df["nhs_valid"] & df["nhs"].notna()
        if NHS_KEY in df.columns:  # a number shared by too many
            usable &= df[NHS_KEY].notna()
        valid = df.loc[usable, ["unique_id", "nhs"]].copy()
        valid["side"] = i
        parts.append(valid)
    both = pd.concat(parts, ignore_index=True)
    both = both[both.duplicated("nhs", keep=False)]
    if both.empty:
        return set()
    pairs = both.merge(both, on="nhs", suffixes=("_l", "_r"))
    pairs = pairs[pairs["unique_id_l"] < pairs["unique_id_r"]]
    if link_type == "link_only":
        pairs = pairs[pairs["side_l"] != pairs["side_r"]]
    return set(zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True))


def make_db_api(backend: str = "duckdb", spark=None):
    if backend == "duckdb":
        import duckdb
        from splink import DuckDBAPI

        from cradle.linkage.settings import duckdb_memory_limit

        connection = duckdb.connect()
        connection.execute("SET enable_progress_bar = false")  # Cradle shows its own
        # DuckDB would take 80% of the machine's memory; capped, it spills its joins to
        # disk instead (CRADLE_LINK_MEMORY, cradle.linkage.settings).
        connection.execute(f"SET memory_limit = '{duckdb_memory_limit()}'")
        connection.execute("SET preserve_insertion_order = false")
        return DuckDBAPI(connection)
    if backend == "spark":
        from splink import SparkAPI

        if spark is None:
            from cradle.linkage.spark import local_session

            spark = local_session()
        return SparkAPI(spark_session=spark, break_lineage_method="persist")
    raise ValueError(f"unknown backend {backend!r}: duckdb or spark")


def make_linker(frames: Sequence[pd.DataFrame], link_type: str, model: SavedModel | None, db_api):
    from splink import Linker

    # Unique names: a Spark session outlives one linker, and its tables with it.
    run = next(_RUNS)
    registered = [
        db_api.register(_splink_frame(df), dataset_display_name=f"records_{run}_{chr(97 + i)}")
        for i, df in enumerate(frames)
    ]
    dialect = db_api.sql_dialect.sql_dialect_str
    if model:
        spec = _blocking_rules(model.for_link_type(link_type, dialect), frames, dialect)
    else:
        spec = settings(link_type)
    return Linker(registered if len(registered) > 1 else registered[0], spec, log_level=None)


def fit(
    frames: Sequence[pd.DataFrame],
    link_type: str = "dedupe_only",
    *,
    backend: str = "duckdb",
    spark=None,
    seed: int | None = None,
    max_pairs: float = 3e6,
    max_block: int | None = None,
) -> SavedModel:
    """Train a model on these records without labels and return it (not yet saved).

    The records in a block of more than ``max_block`` sharing a blocking key
    (``crowded_blocks``: a placeholder given to people nobody identified) are left out:
    thousands of identical records made their pairs most of what the training saw, and
    5,000 "Baby Unknown" among 8,000 people trained a model in which two random records
    are the same person 99 times in 100 (an agreement on anything linked). The model
    says how many were left out (``SavedModel.left_out``); a set of records with none
    left is a ``ModelError`` (link it with a saved model)."""
    from cradle.linkage.model import SEED

    frames, left_out = trainable(frames, link_type, max_block)
    if any(len(df) == 0 for df in frames):
        raise ModelError(
            f"nothing to train on: {left_out} records left out of training, in blocks of "
            f"more than {max_block or linkage_model.MAX_BLOCK:,} sharing a blocking key, left "
            "a set of records empty (link it with a saved model)"
            if left_out
            else "nothing to train on: a set of records is empty"
        )
    quiet_splink()
    linker = make_linker(frames, link_type, None, make_db_api(backend, spark))
    train(linker, seed=SEED if seed is None else seed, max_pairs=max_pairs)
    return SavedModel(splink=floor_m(linker.misc.save_model_to_json()), left_out=left_out)


def trainable(
    frames: Sequence[pd.DataFrame], link_type: str, max_block: int | None = None
) -> tuple[list[pd.DataFrame], int]:
    """The frames less their records in blocks of more than ``max_block`` (``MAX_BLOCK``)
    sharing a blocking key (``crowded_blocks``), and how many those were: what a model is
    trained on (``fit``)."""
    _marked, crowded_ids, _why = crowded_blocks(
        frames, link_type, max_block or linkage_model.MAX_BLOCK
    )
    if not crowded_ids:
        return list(frames), 0
    return [df[~df["unique_id"].isin(crowded_ids)] for df in frames], len(crowded_ids)


def link(
    frames: Sequence[pd.DataFrame],
    link_type: str = "dedupe_only",
    *,
    model: SavedModel | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    backend: str = "duckdb",
    spark=None,
    progress: bool = False,
    known_same: Iterable[tuple[str, str]] = (),
    known_different: Collection[tuple[str, str]] = (),
    new: Collection[str] | None = None,
    max_block: int | None = None,
) -> LinkageResult:
    """Link the records: deterministic NHS-number pairs, then Splink's pairs by threshold.

    Trains a model on the records first when none is given. Nothing here writes
    anywhere: the caller stores the result, so a failed run changes nothing.
    ``known_same`` and ``known_different`` are what people and earlier runs decided
    (links in force; links undone and candidates rejected): the newborn rule's
    groups are made with the first and without the second.

    ``new``, the ids of records new or changed since the records were last linked:
    only the pairs with at least one of them are scored (Splink's ``predict_between``
    the others and ``predict_within`` themselves), the same pairs, with the same
    probabilities, as a whole run finds with them; the newborn rule still looks at
    every record, as a new link can settle a birth between two others. Dedupe only.

    A block of more records sharing a blocking key than ``max_block`` (``MAX_BLOCK``)
    makes no pair, NHS numbers' included (``crowded_blocks``): its records are compared
    through their other keys, and counted in the result (``crowded``, ``crowded_keys``).
    """
    if new is not None and link_type != "dedupe_only":
        raise ValueError("linking only new records is for one frame of records (dedupe_only)")
    from tqdm import tqdm

    quiet_splink()
    started = time.perf_counter()
    steps: dict[str, float] = {}
    bar = tqdm(total=5, desc="link", unit="step", disable=not progress)

    def step(name: str, t0: float, following: str = "") -> float:
        now = time.perf_counter()
        steps[name] = now - t0
        bar.set_postfix_str(following)
        bar.update(1)
        return now

    bar.set_postfix_str("nhs_number")
    t = time.perf_counter()
    total = sum(len(df) for df in frames)
    limit = max_block or linkage_model.MAX_BLOCK
    frames, crowded_ids, crowded_keys = crowded_blocks(frames, link_type, limit)
    sure = deterministic_pairs(frames, link_type)
    if new is not None:
        new = set(new)
        sure = {k for k in sure if k[0] in new or k[1] in new}
    t = step("nhs_number", t, "train" if model is None else "predict")
    if model is None:
        model = fit(frames, link_type, backend=backend, spark=spark, max_block=limit)
    t = step("train", t, "predict")
    db_api = make_db_api(backend, spark)
    linker = make_linker(frames, link_type, model, db_api)
    levels = _level_labels(linker)
    # Only what is used leaves the backend: the pairs that link with their ids and
    # scores, and the review band with its comparisons' levels and weights for the
    # waterfall. (Every pair with every column, as one pandas frame, took 19 GB for a
    # million records.)
    ids = "unique_id_l, unique_id_r, match_probability, match_weight"
    above, band = [], []
    for predictions, where in _predictions(linker, db_api, frames, thresholds, new):
        above.append(
            _read_out(
                predictions,
                f"SELECT {ids} FROM {{this}} WHERE {where} "
                f"AND match_probability >= {thresholds.link!r}",
            )
        )
        band.append(
            _read_out(
                predictions,
                f"SELECT {ids}{_breakdown_columns(predictions, levels)} FROM {{this}} "
                f"WHERE {where} AND match_probability < {thresholds.link!r}",
            )
        )
        predictions.drop_table_from_database_and_remove_from_cache()
    above, band = pd.concat(above, ignore_index=True), pd.concat(band, ignore_index=True)
    t = step("predict", t, "newborn")
    # Newborn and unborn records with the baby's own records, where nothing is
    # ambiguous (cradle.linkage.newborn), from the groups the links above make.
    linked = pd.concat(
        [
            above[["unique_id_l", "unique_id_r"]],
            pd.DataFrame(
                [*sure, *known_same], columns=["unique_id_l", "unique_id_r"], dtype=object
            ),
        ],
        ignore_index=True,
    )
    births = (
        newborn_pairs(frames, link_type, linked, different=known_different, max_home=limit) - sure
    )
    t = step("newborn", t, "classify")
    prior = _prior_weight(model)
    review: list[Pair] = []
    keys = _ordered_keys(above)
    seen = set(keys)
    links = [
        Pair(k[0], k[1], 1.0, w, "nhs_number") if k in sure else Pair(k[0], k[1], p, w, "splink")
        for k, p, w in zip(
            keys,
            above["match_probability"].astype(float).tolist(),
            above["match_weight"].astype(float).tolist(),
            strict=True,
        )
    ]
    unsure = []
    # A plain loop over arrays: only the pairs a person will look at get their breakdown.
    for i, (a, b, _p, w) in enumerate(_pairs(band)):
        key = (a, b) if a <= b else (b, a)
        seen.add(key)
        if key in sure:
            links.append(Pair(*key, 1.0, w, "nhs_number"))
        elif key in births:
            links.append(Pair(*key, 1.0, w, NEWBORN_RULE))
        else:
            unsure.append(i)
    if unsure:
        review = _breakdowns(band, unsure, levels, prior)
    for key in sure - seen:
        links.append(Pair(*key, 1.0, math.inf, "nhs_number"))
        seen.add(key)
    for key in births - seen:
        links.append(Pair(*key, 1.0, math.inf, NEWBORN_RULE))
    step("classify", t)
    bar.close()
    return LinkageResult(
        links=links,
        review=review,
        records=total,
        seconds=time.perf_counter() - started,
        model_hash=model.hash,
        steps=steps,
        crowded=len(crowded_ids),
        crowded_keys=tuple(crowded_keys),
    )


def _predictions(linker, db_api, frames, thresholds: Thresholds, new: set[str] | None):
    """Splink's scored pairs at or above the review threshold, each table with the
    condition on its rows that keeps a pair as a whole run scores it: of every blocked
    pair, or, given the new records' ids, of the pairs with one of them (the rest of the
    records with the new, and the new among themselves).

    A whole run blocks and scores each pair with the record whose id sorts first on the
    left, and some blocking rules and levels look one way only (a given name equal to
    the other record's family name): so the rest and the new are scored both ways round,
    and each pair kept the way round a whole run has it."""
    if new is None:
        yield (
            linker.inference.predict(
                threshold_match_probability=thresholds.review, warning_mode="never"
            ),
            "true",
        )
        return
    # The names' term frequencies are those of every record, as a whole run's are.
    for column in _tf_columns(linker):
        linker.table_management.compute_tf_table(column)
    records = _splink_frame(frames[0])
    is_new = records["unique_id"].isin(new)
    run = next(_RUNS)
    fresh = db_api.register(records[is_new], dataset_display_name=f"new_{run}")
    rest = records[~is_new]
    if len(rest):
        others = db_api.register(rest, dataset_display_name=f"rest_{run}")
        for left, right in ((others, fresh), (fresh, others)):
            yield (
                linker.inference.predict_between(
                    left,
                    right,
                    threshold_match_probability=thresholds.review,
                    warning_mode="never",
                ),
                "unique_id_l < unique_id_r",
            )
    yield (
        linker.inference.predict_within(
            fresh, threshold_match_probability=thresholds.review, warning_mode="never"
        ),
        "true",
    )


def _tf_columns(linker) -> list[str]:
    """The columns the model adjusts by term frequency (Splink keeps the list private)."""
    return [c.unquote().name for c in linker._settings_obj._term_frequency_columns]


def _read_out(predictions, sql: str) -> pd.DataFrame:
    """A query of the predictions as pandas; the backend's copy of its result is dropped."""
    result = predictions.query_sql(sql)
    try:
        return result.as_pandas_dataframe()
    finally:
        result.drop_table_from_database_and_remove_from_cache()


def _ordered_keys(scored: pd.DataFrame) -> list[tuple[str, str]]:
    """Each row's (left, right) ids, the smaller first."""
    left = scored["unique_id_l"].astype(str).to_numpy()
    right = scored["unique_id_r"].astype(str).to_numpy()
    swap = left > right
    return list(
        zip(np.where(swap, right, left).tolist(), np.where(swap, left, right).tolist(), strict=True)
    )


def _pairs(scored: pd.DataFrame):
    """(left id, right id, probability, match weight) of each row, as Python values."""
    return zip(
        scored["unique_id_l"].astype(str).tolist(),
        scored["unique_id_r"].astype(str).tolist(),
        scored["match_probability"].astype(float).tolist(),
        scored["match_weight"].astype(float).tolist(),
        strict=True,
    )


def _breakdown_columns(predictions, levels) -> str:
    """ ", gamma_x, mw_x, mw_tf_adj_x..." for the comparisons the predictions hold."""
    present = {c.unquote().name for c in predictions.columns}
    wanted = [
        column
        for name in levels
        for column in (f"gamma_{name}", f"mw_{name}", f"mw_tf_adj_{name}")
        if column in present
    ]
    return "".join(f", {column}" for column in wanted)


def _prior_weight(model: SavedModel) -> float:
    p = model.splink.get("probability_two_random_records_match", 1e-4)
    return math.log2(p / (1 - p))


def _level_labels(linker) -> dict[str, dict[int, str]]:
    labels: dict[str, dict[int, str]] = {}
    for comparison in linker._settings_obj.comparisons:
        labels[comparison.output_column_name] = {
            level.comparison_vector_value: level.label_for_charts
            for level in comparison.comparison_levels
        }
    return labels


def _breakdowns(scored: pd.DataFrame, rows: list[int], levels, prior: float) -> list[Pair]:
    """The pairs at these rows, each able to give its comparisons' levels and weights."""
    idx = np.asarray(rows)
    columns = []
    for name in levels:
        if f"gamma_{name}" not in scored or f"mw_{name}" not in scored:
            continue
        gammas = scored[f"gamma_{name}"].to_numpy()[idx].astype(int).tolist()
        weight = scored[f"mw_{name}"].to_numpy(dtype=float)[idx]
        if f"mw_tf_adj_{name}" in scored:
            weight = weight + np.nan_to_num(scored[f"mw_tf_adj_{name}"].to_numpy(dtype=float)[idx])
        columns.append((name, gammas, weight))
    breakdown = Breakdown(
        Weight("prior", "two records chosen at random", round(prior, 3)), columns, levels
    )
    left = scored["unique_id_l"].astype(str).to_numpy()[idx].tolist()
    right = scored["unique_id_r"].astype(str).to_numpy()[idx].tolist()
    probability = scored["match_probability"].to_numpy(dtype=float)[idx].tolist()
    total = scored["match_weight"].to_numpy(dtype=float)[idx].tolist()
    return [
        Pair(min(a, b), max(a, b), p, w, "splink", breakdown, j)
        for j, (a, b, p, w) in enumerate(zip(left, right, probability, total, strict=True))
    ]
