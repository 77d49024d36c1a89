"""Measured accuracy of the linkage, with floors a little below what was measured
(FEBRL4 F1 0.9994, FEBRL3 0.9969, synthetic 0.9970: precision 1.0, recall 0.9940,
with the default thresholds 0.99 and 0.5), so that a regression fails. Each trains on its data without labels
and takes about 20 seconds on two cores."""

from __future__ import annotations

import pytest

from cradle.linkage.datasets import febrl3, febrl4, synthetic
from cradle.linkage.evaluate import evaluate


@pytest.mark.parametrize(
    ("load", "precision", "recall", "f1"),
    [
        pytest.param(febrl4, 0.998, 0.997, 0.999, id="febrl4 link A to B"),
        pytest.param(febrl3, 0.998, 0.992, 0.996, id="febrl3 deduplicate"),
        pytest.param(synthetic, 0.997, 0.990, 0.993, id="synthetic population"),
    ],
)
def test_linkage_accuracy_stays_above_its_floor(load, precision, recall, f1):
    dataset = load()
    score = evaluate(dataset)
    print(score.line())
    assert score.precision >= precision
    assert score.recall >= recall
    assert score.f1 >= f1
    # Pairs between the thresholds wait for a person; they are never counted as links.
    assert score.linked + score.review >= score.true_positives + score.review_true


def test_febrl_data_ship_with_the_package_and_load_offline():
    data = febrl4()
    assert [len(f) for f in data.frames] == [5000, 5000]
    assert len(data.truth) == 5000
    assert febrl3().records == 5000
