"""Population sweeps: the same findings as evaluating each family directly, in any
number of processes; a simulated year that evaluates only the days that matter
raises exactly the alerts a daily replay raises."""

from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cradle.cli import main
from cradle.rules import DEFAULT_SETTINGS, evaluate
from cradle.scenarios import load_case
from cradle.scenarios.replay import replay
from cradle.synth.generator import families
from cradle.synth.parquet import write_population
from cradle.synth.rates import load_rates
from cradle.synth.sweep import at_risk, evaluation_days, simulate, sweep_as_of, year_results
from cradle.synth.timeline import to_timeline

CASES = sorted((Path(__file__).resolve().parent.parent / "cases").glob("*.yaml"))
SEED = 404
RATES = load_rates().with_values(harm_trajectory=0.25)  # harm oversampled: every path appears
AS_OF = date(2025, 9, 30)


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "pop.parquet"
    return write_population(path, 90, SEED, rates=RATES, row_group=30)


def _direct(as_of):
    rows = []
    for fam in families(90, SEED, RATES):
        day = (as_of - fam["origin"]).days
        if fam["booking_day"] <= day < 365:
            rows += [(fam["family"], f.child, f.rule, f.severity.value, f.step, f.scope, day, list(f.evidence))
                     for f in evaluate(to_timeline(fam), day)]  # fmt: skip
    return rows


def _rows(path):
    t = pq.read_table(path)
    return list(zip(*(t.column(c).to_pylist() for c in t.column_names), strict=True))


def test_a_population_sweep_finds_what_evaluating_each_family_finds(population, tmp_path):
    out = tmp_path / "alerts.parquet"
    report = sweep_as_of(population, AS_OF, processes=1, out=out)
    expected = _direct(AS_OF)
    assert expected, "the day chosen has findings to compare"
    assert [tuple(r) for r in _rows(out)] == [tuple(r) for r in expected]
    assert sum(report.findings.values()) == len(expected)


def test_parallel_sweeps_equal_serial_ones(population, tmp_path):
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    a = sweep_as_of(population, AS_OF, processes=1, out=one)
    b = sweep_as_of(population, AS_OF, processes=2, out=two)
    assert a.findings == b.findings and a.active == b.active
    assert _rows(one) == _rows(two)
    assert list(year_results(population, processes=2)) == list(
        year_results(population, processes=1)
    )


def test_the_simulated_year_raises_what_a_daily_replay_raises():
    fams = list(families(20, 77, load_rates().with_values(harm_trajectory=0.3)))
    assert any(f["harm_day"] is not None for f in fams)
    for fam in fams:
        tl = to_timeline(fam)
        first, last = at_risk(fam)
        days = evaluation_days(tl, DEFAULT_SETTINGS, first, last)
        assert len(days) < (last - first + 1) / 2  # the point of it: far fewer days
        assert simulate(tl, DEFAULT_SETTINGS, first, last) == simulate(
            tl, DEFAULT_SETTINGS, first, last, every_day=True
        )


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_on_the_case_files_too_the_days_that_matter_are_enough(path):
    """The published cases hold the awkward shapes (placements, moves, late records)."""
    case = load_case(path)
    first, last = case.first_day, max(case.last_day, case.harm.day if case.harm else case.last_day)
    daily = simulate(case.timeline, DEFAULT_SETTINGS, first, last, every_day=True)
    assert simulate(case.timeline, DEFAULT_SETTINGS, first, last) == daily
    # ... and the daily simulation is the replay's.
    raised = [(c.day, c.alert.rule, c.finding.step) for c in replay(case).raised if c.day <= last]
    assert [(a.day, a.rule, a.step) for a in daily] == raised


def test_the_sweep_command(population, tmp_path, capsys):
    out = tmp_path / "alerts.parquet"
    assert (
        main(
            [
                "sweep",
                str(population),
                "--as-of",
                "2025-09-30",
                "--processes",
                "1",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "swept 90 families as of 2025-09-30" in printed and out.exists()
    assert main(["sweep", str(population), "--year", "--processes", "1", "--quiet"]) == 0
    assert "simulated year: 90 families" in capsys.readouterr().out


def test_as_of_a_day_before_anyone_booked_finds_nothing(population):
    report = sweep_as_of(population, date(2025, 1, 1) - timedelta(days=400), processes=1)
    assert report.active == 0 and not report.findings
