"""Alert burden and recall: computed by hand on a tiny population, the Wilson interval,
and a threshold change moving the numbers the way it must."""

import csv
import math
from argparse import Namespace

import pytest

from cradle.synth.burden import DAYS_PER_MONTH, from_alerts, measure, run, wilson
from cradle.synth.parquet import write_population
from cradle.synth.rates import load_rates
from cradle.synth.sweep import Raised


def _fam(name, first, last, harm=None, quintile=1, group="white", pattern=""):
    return {"family": name, "first": first, "last": last, "harm_day": harm, "quintile": quintile,
            "ethnic_group": group, "pattern": pattern}  # fmt: skip


def _a(day, rule, severity):
    return Raised(day, rule, severity, None, "", "baby")


# Three families, 1,000 days at risk between them.
HAND_MADE = [
    # Ordinary: two prompts, one escalate; one prompt before booking does not count.
    (_fam("A", -200, 364 - 65, quintile=1),  # 500 days
     [_a(-201, "icon-not-delivered", "prompt"), _a(-150, "icon-not-delivered", "prompt"),
      _a(10, "male-carer-unknown", "prompt"), _a(40, "cumulative-vulnerability", "escalate")]),
    # Harmed on day 100, warned 30 days before by an urgent alert (then escalate after): recalled, lead 30.
    (_fam("B", -199, 100, harm=100, quintile=5, group="asian", pattern="sentinel_injury"),  # 300 days
     [_a(70, "injury-in-non-mobile-infant", "urgent"), _a(95, "under-one-contact-gap", "escalate"),
      _a(100, "icon-not-delivered", "prompt")]),
    # Harmed on day 50; its only escalate alert 3 days before: too late to count.
    (_fam("C", -149, 50, harm=50, quintile=5, group="asian", pattern="no_signal"),  # 200 days
     [_a(47, "no-access-stepped", "escalate")]),
]  # fmt: skip


def test_burden_and_recall_by_hand():
    b = measure(HAND_MADE, "hand")
    months = 1000 / DAYS_PER_MONTH
    assert b.all.families == 3 and b.all.days == 1000
    assert b.all.alerts == 7  # 3 + 3 + 1 (the one before booking is outside the time at risk)
    assert b.all.serious == 4
    assert b.all.per_100_months(b.all.alerts) == pytest.approx(700 / months)
    assert b.by_rule[("icon-not-delivered", "prompt")] == 2
    assert b.serious_on_harmed == 3 and b.serious_share_on_harmed == pytest.approx(3 / 4)
    assert (b.all.harmed, b.all.recalled, b.all.recall) == (2, 1, 0.5)
    assert b.all.leads == [30] and b.all.median_lead == 30
    assert b.all.recent == 1  # B's urgent alert, 30 days before, is within the weeks before
    assert b.all.flagged == 3
    q5 = b.by_quintile[5]
    assert (q5.families, q5.days, q5.alerts, q5.serious, q5.harmed, q5.recalled) == (
        2,
        500,
        4,
        3,
        2,
        1,
    )
    assert b.by_quintile[1].recall is None  # no harmed family there: no recall, not 0%
    assert b.by_ethnic_group["asian"].per_100_months(4) == pytest.approx(
        400 / (500 / DAYS_PER_MONTH)
    )
    assert b.by_pattern["sentinel_injury"].recalled == 1 and b.by_pattern["no_signal"].recalled == 0


@pytest.mark.parametrize(
    "k, n",
    [(0, 10), (8, 10), (50, 100), (95, 100), (7, 7), (1, 3)],
)
def test_wilson_interval(k, n):
    # The score interval solved directly: the p where |k/n - p| = z * sqrt(p(1-p)/n).
    z = 1.959963984540054
    lo, hi = wilson(k, n)
    phat = k / n
    for p in (lo, hi):
        if 0 < p < 1:
            assert abs(phat - p) == pytest.approx(z * math.sqrt(p * (1 - p) / n))
    assert 0 <= lo <= phat <= hi <= 1
    known = {(0, 10): (0.0, 0.2775), (8, 10): (0.4902, 0.9433), (50, 100): (0.4038, 0.5962)}
    if (k, n) in known:
        assert (round(lo, 4), round(hi, 4)) == known[(k, n)]


def test_wilson_with_no_families_is_the_whole_range():
    assert wilson(0, 0) == (0.0, 1.0)


def test_wilson_bounds_are_exact_at_none_and_all():
    for n in range(1, 200):
        assert wilson(0, n)[0] == 0.0 and wilson(n, n)[1] == 1.0
        for k in range(n + 1):
            lo, hi = wilson(k, n)
            assert lo <= k / n <= hi


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    path = tmp_path_factory.mktemp("burden") / "pop.parquet"
    return write_population(
        path, 60, 31, rates=load_rates().with_values(harm_trajectory=0.2), row_group=20
    )


def test_the_command_writes_a_table_csvs_and_charts(population, tmp_path, capsys):
    a, b = tmp_path / "gap14.toml", tmp_path / "gap21.toml"
    a.write_text("contact_gap_days = 14\n")
    b.write_text("contact_gap_days = 21\n")
    out = tmp_path / "burden"
    args = Namespace(
        population=str(population),
        settings=str(a),
        compare=str(b),
        out=str(out),
        processes=2,
        quiet=True,
    )
    assert run(args) == 0
    printed = capsys.readouterr().out
    assert "alerts per family-month" in printed and "gap14" in printed and "gap21" in printed
    for name in ("summary.csv", "by_rule.csv", "by_group.csv", "burden-by-rule.png", "burden-by-group.png",
                 "alerts-A.parquet", "alerts-B.parquet"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    assert (out / "burden-by-rule.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    groups = list(csv.DictReader((out / "by_group.csv").open()))
    assert {r["breakdown"] for r in groups} == {"all", "quintile", "ethnic_group", "harm_path"}

    # What a longer contact gap costs and buys: fewer contact-gap alerts, no other rule
    # moves, and recall can only stay or fall.
    rules = {}
    for r in csv.DictReader((out / "by_rule.csv").open()):
        rules.setdefault(r["settings"], {})[(r["rule"], r["severity"])] = int(r["alerts"])
    gap = ("under-one-contact-gap", "escalate")
    assert rules["gap21"][gap] < rules["gap14"][gap]
    others = {k: v for k, v in rules["gap14"].items() if k != gap}
    assert others == {k: v for k, v in rules["gap21"].items() if k != gap}
    total = {r["settings"]: r for r in groups if r["breakdown"] == "all"}
    assert int(total["gap21"]["alerts"]) < int(total["gap14"]["alerts"])
    assert int(total["gap14"]["harmed"]) == int(total["gap21"]["harmed"]) > 0
    assert int(total["gap21"]["recalled"]) <= int(total["gap14"]["recalled"])

    # The saved alerts measure again to the same figures.
    again = from_alerts(population, out / "alerts-A.parquet", "gap14")
    assert {k: v for k, v in again.by_rule.items() if v} == {
        k: v for k, v in rules["gap14"].items() if v
    }
    assert again.all.alerts == int(total["gap14"]["alerts"])
    assert again.all.recalled == int(total["gap14"]["recalled"])
