"""Linking identity records: deterministic on valid NHS numbers, then Splink.

Two thresholds on Splink's match probability (``Thresholds``): a pair at or
above ``link`` links; a pair at or above ``review`` but below ``link`` goes to
the review queue and is never linked automatically; anything lower is dropped.
A pair sharing a valid NHS number (check digit verified) links whatever Splink
says.

The default thresholds are chosen without any truth labels, from what the
model's probability means: Splink's probability is the posterior that a pair is
the same person, so linking at 0.99 accepts, by the model's own account, at most
one wrong link in a hundred, and 0.5 is the point where a match becomes more
likely than not, below which a person need not look. (Neither was tuned on the
evaluation data; ``cradle link evaluate`` measures them.)
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from cradle.linkage.frame import model_frame
from cradle.linkage.model import SavedModel, quiet_splink, settings, train


@dataclass(frozen=True)
class Thresholds:
    link: float = 0.99
    review: float = 0.5

    def __post_init__(self):
        if not 0 < self.review <= self.link < 1:
            raise ValueError("thresholds must satisfy 0 < review <= link < 1")


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Weight:
    """One bar of the waterfall: a comparison's level and its match weight (log2 Bayes factor)."""

    comparison: str
    level: str
    weight: float


@dataclass(frozen=True)
class Pair:
    left: str
    right: str
    probability: float
    match_weight: float
    method: str  # "nhs_number" (deterministic) or "splink"
    weights: tuple[Weight, ...] = ()

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

    def link_keys(self) -> set[tuple[str, str]]:
        return {p.key for p in self.links}


def deterministic_pairs(frames: Sequence[pd.DataFrame], link_type: str) -> set[tuple[str, str]]:
    """Pairs of records sharing a valid NHS number (across the frames when linking only)."""
    parts = []
    for i, df in enumerate(frames):
        valid = df.loc[df["nhs_valid"], ["unique_id", "nhs"]].copy()
        valid["side"] = i
        parts.append(valid)
    both = pd.concat(parts, ignore_index=True)
    pairs: set[tuple[str, str]] = set()
    for _, group in both.groupby("nhs", sort=False):
        if len(group) < 2:
            continue
        rows = list(group.itertuples(index=False))
        for i, a in enumerate(rows):
            for b in rows[i + 1 :]:
                if link_type == "link_only" and a.side == b.side:
                    continue
                pairs.add(
                    (a.unique_id, b.unique_id)
                    if a.unique_id <= b.unique_id
                    else (b.unique_id, a.unique_id)
                )
    return pairs


def make_db_api(backend: str = "duckdb", spark=None):
    if backend == "duckdb":
        import duckdb
        from splink import DuckDBAPI

        connection = duckdb.connect()
        connection.execute("SET enable_progress_bar = false")  # Cradle shows its own
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

    registered = [
        db_api.register(model_frame(df), dataset_display_name=f"records_{chr(97 + i)}")
        for i, df in enumerate(frames)
    ]
    dialect = db_api.sql_dialect.sql_dialect_str
    spec = model.for_link_type(link_type, dialect) if model else settings(link_type)
    return Linker(registered if len(registered) > 1 else registered[0], spec, log_level=None)


def fit(
    frames: Sequence[pd.DataFrame],
    link_type: str = "dedupe_only",
    *,
    backend: str = "duckdb",
    spark=None,
    seed: int | None = None,
    max_pairs: float = 3e6,
) -> SavedModel:
    """Train a model on these records without labels and return it (not yet saved)."""
    from cradle.linkage.model import SEED

    quiet_splink()
    linker = make_linker(frames, link_type, None, make_db_api(backend, spark))
    train(linker, seed=SEED if seed is None else seed, max_pairs=max_pairs)
    return SavedModel(splink=linker.misc.save_model_to_json())


def link(
    frames: Sequence[pd.DataFrame],
    link_type: str = "dedupe_only",
    *,
    model: SavedModel | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    backend: str = "duckdb",
    spark=None,
    progress: bool = False,
) -> LinkageResult:
    """Link the records: deterministic NHS-number pairs, then Splink's pairs by threshold.

    Trains a model on the records first when none is given. Nothing here writes
    anywhere: the caller stores the result, so a failed run changes nothing.
    """
    from tqdm import tqdm

    quiet_splink()
    started = time.perf_counter()
    steps: dict[str, float] = {}
    bar = tqdm(total=4, desc="link", unit="step", disable=not progress)

    def step(name: str, t0: float, following: str = "") -> float:
        now = time.perf_counter()
        steps[name] = now - t0
        bar.set_postfix_str(following)
        bar.update(1)
        return now

    bar.set_postfix_str("nhs_number")
    t = time.perf_counter()
    sure = deterministic_pairs(frames, link_type)
    t = step("nhs_number", t, "train" if model is None else "predict")
    if model is None:
        model = fit(frames, link_type, backend=backend, spark=spark)
    t = step("train", t, "predict")
    linker = make_linker(frames, link_type, model, make_db_api(backend, spark))
    predictions = linker.inference.predict(
        threshold_match_probability=thresholds.review, warning_mode="never"
    )
    scored = predictions.as_pandas_dataframe()
    t = step("predict", t, "classify")
    levels = _level_labels(linker)
    prior = _prior_weight(model)
    links, review, seen = [], [], set()
    for row in scored.to_dict("records"):
        pair = _pair(row, levels, prior)
        seen.add(pair.key)
        if pair.key in sure:
            links.append(Pair(*pair.key, 1.0, pair.match_weight, "nhs_number", pair.weights))
        elif pair.probability >= thresholds.link:
            links.append(pair)
        else:
            review.append(pair)
    for key in sure - seen:
        links.append(Pair(*key, 1.0, math.inf, "nhs_number"))
    step("classify", t)
    bar.close()
    total = sum(len(df) for df in frames)
    return LinkageResult(
        links=links,
        review=review,
        records=total,
        seconds=time.perf_counter() - started,
        model_hash=model.hash,
        steps=steps,
    )


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


def _pair(row: dict, levels: dict[str, dict[int, str]], prior: float) -> Pair:
    weights = [Weight("prior", "two records chosen at random", round(prior, 3))]
    for name, by_gamma in levels.items():
        gamma = row.get(f"gamma_{name}")
        mw = row.get(f"mw_{name}")
        if gamma is None or mw is None:
            continue
        label = by_gamma.get(int(gamma), str(gamma))
        weight = float(mw) + float(row.get(f"mw_tf_adj_{name}") or 0.0)
        weights.append(Weight(name, label, round(weight, 3)))
    left, right = str(row["unique_id_l"]), str(row["unique_id_r"])
    if right < left:
        left, right = right, left
    return Pair(
        left=left,
        right=right,
        probability=float(row["match_probability"]),
        match_weight=float(row["match_weight"]),
        method="splink",
        weights=tuple(weights),
    )
