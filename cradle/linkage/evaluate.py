"""Precision, recall and F1 of a linkage against known truth, with the time taken."""

from __future__ import annotations

import time
from dataclasses import dataclass

from cradle.linkage.datasets import Dataset
from cradle.linkage.link import DEFAULT_THRESHOLDS, LinkageResult, Thresholds, link


@dataclass(frozen=True)
class Score:
    dataset: str
    records: int
    true_pairs: int
    linked: int
    review: int
    true_positives: int
    seconds: float
    review_true: int = 0

    @property
    def precision(self) -> float:
        return self.true_positives / self.linked if self.linked else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self) -> str:
        return (
            f"{self.dataset:10} records {self.records:>7}  true pairs {self.true_pairs:>6}  "
            f"linked {self.linked:>6}  precision {self.precision:.4f}  recall {self.recall:.4f}  "
            f"F1 {self.f1:.4f}  review queue {self.review:>5} ({self.review_true} true)  "
            f"time {self.seconds:.1f}s"
        )


def score(dataset: Dataset, result: LinkageResult, seconds: float) -> Score:
    linked = result.link_keys()
    review = {p.key for p in result.review}
    return Score(
        dataset=dataset.name,
        records=dataset.records,
        true_pairs=len(dataset.truth),
        linked=len(linked),
        review=len(review),
        true_positives=len(linked & dataset.truth),
        seconds=seconds,
        review_true=len(review & dataset.truth),
    )


def evaluate(
    dataset: Dataset,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    backend: str = "duckdb",
    spark=None,
    progress: bool = False,
) -> Score:
    """Train on the data set without its labels, link it, and score the links against them."""
    started = time.perf_counter()
    result = link(
        dataset.frames,
        dataset.link_type,
        thresholds=thresholds,
        backend=backend,
        spark=spark,
        progress=progress,
    )
    return score(dataset, result, time.perf_counter() - started)
