"""Sweeps over a population file: every rule for every family, in worker processes.

Two kinds of sweep:

- **as of one date** (``cradle sweep FILE --as-of DATE``): the findings that hold for
  each family at the end of that day, what a nightly sweep of a national service does;
- **a simulated year** (``--year``, and ``cradle burden``): each family from its
  antenatal booking to its baby's first birthday (or the harm), with alert episodes
  kept by the core's ``EpisodeTracker`` exactly as replay keeps them, but evaluated
  only on the days something can change: the days events happen and are recorded,
  and the days a time limit falls due (a contact gap, an ICON deadline, an econsult's
  48 hours, a repeat-presentation window closing, an age threshold). Between those
  days no rule's condition can change, so the alerts are the daily replay's; a test
  checks that on a sample of families.

Families are independent, so each worker reads whole row groups of the file itself
and returns only small results; the parent writes alerts out as they arrive. Nothing
holds a national population's findings at once.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cradle.domain import Severity, Timeline
from cradle.rules import evaluate
from cradle.rules.episodes import EpisodeTracker
from cradle.rules.settings import DEFAULT_SETTINGS, Settings, SettingsError
from cradle.synth import parquet
from cradle.synth.timeline import to_timeline

FIRST_BIRTHDAY = 365
SERIOUS = (Severity.ESCALATE, Severity.URGENT)
UNSCHEDULED_AGENCIES = ("ed",)
UNSCHEDULED_KINDS = ("out_of_hours_contact", "econsult", "phone_contact")
REMOTE_KINDS = ("econsult", "phone_contact", "out_of_hours_contact", "gp_appointment")


# -- one family ---------------------------------------------------------------------------


def evaluation_days(tl: Timeline, settings: Settings, first: int, last: int) -> list[int]:
    """The days in ``first``..``last`` on which some rule's condition can change."""
    s = settings
    days: set[int] = set()
    gap = (s.contact_gap_days, s.contact_gap_later_days)
    for e in tl.events:
        days.add(e.day)
        days.add(e.recorded_day)
        if e.seen or e.channel == "inpatient":
            for g in gap:
                days.add(e.day + g)
        if e.agency in UNSCHEDULED_AGENCIES or e.kind in UNSCHEDULED_KINDS:
            days.add(e.day + s.repeat_window_days)
        if e.kind in REMOTE_KINDS:
            days.add(e.day + s.econsult_seen_days)
            days.add(e.day + s.econsult_seen_days + 1)
    for r in tl.relationships:
        if r.from_day is not None:
            days.add(r.from_day)
    for p in tl.people:
        if not p.is_child_role or p.born_day is None:
            continue
        b = p.born_day
        for offset in (
            0,
            s.icon_postnatal_days,
            s.icon_gp_check_days,
            s.contact_gap_early_weeks * 7,
            s.non_mobile_age_days,
        ):
            days.add(b + offset)
            days.add(b + offset + 1)
        if p.due_day is not None:
            deadline = p.due_day - s.icon_antenatal_days_before_due
            days.update((deadline, deadline + 1))
    return sorted(d for d in days if first <= d <= last)


@dataclass(frozen=True, slots=True)
class Raised:
    """One alert raised in a simulated year."""

    day: int
    rule: str
    severity: str
    step: int | None
    scope: str
    child: str


def simulate(
    tl: Timeline, settings: Settings, first: int, last: int, every_day: bool = False
) -> list[Raised]:
    """The alerts raised for one family from ``first`` to ``last`` (the replay's episodes)."""
    tracker = EpisodeTracker()
    days = range(first, last + 1) if every_day else evaluation_days(tl, settings, first, last)
    out: list[Raised] = []
    for day in days:
        for change in tracker.advance(day, evaluate(tl, day, settings)):
            if change.kind == "raised":
                f = change.finding
                out.append(Raised(day, f.rule, f.severity.value, f.step, f.scope, f.child))
    return out


def at_risk(fam: dict) -> tuple[int, int]:
    """The family's days at risk: from the antenatal booking to the day before the first
    birthday, or to the harm."""
    last = FIRST_BIRTHDAY - 1
    if fam["harm_day"] is not None:
        last = min(last, fam["harm_day"])
    return fam["booking_day"], last


def year_of(fam: dict, settings: Settings) -> list[Raised]:
    first, last = at_risk(fam)
    return simulate(to_timeline(fam), settings, first, last)


# -- a population ---------------------------------------------------------------------------


def _as_of_job(job: tuple) -> tuple[list[tuple], Counter, int]:
    path, index, as_of, settings = job
    rows: list[tuple] = []
    counts: Counter = Counter()
    active = 0
    for fam in parquet.read_row_group(path, index):
        day = (as_of - fam["origin"]).days
        if not fam["booking_day"] <= day < FIRST_BIRTHDAY:
            continue
        active += 1
        for f in evaluate(to_timeline(fam), day, settings):
            counts[(f.rule, f.severity.value)] += 1
            rows.append(
                (
                    fam["family"],
                    f.child,
                    f.rule,
                    f.severity.value,
                    f.step,
                    f.scope,
                    day,
                    list(f.evidence),
                )
            )
    return rows, counts, active


def _year_job(job: tuple) -> list[tuple]:
    path, index, settings = job
    out = []
    for fam in parquet.read_row_group(path, index):
        out.append((_family_summary(fam), year_of(fam, settings)))
    return out


def _family_summary(fam: dict) -> dict:
    first, last = at_risk(fam)
    return {
        "family": fam["family"],
        "quintile": fam["quintile"],
        "ethnic_group": fam["ethnic_group"],
        "pattern": fam["pattern"],
        "harm_day": fam["harm_day"],
        "first": first,
        "last": last,
    }


def year_results(
    path: str | Path,
    settings: Settings = DEFAULT_SETTINGS,
    processes: int | None = None,
    progress: bool = False,
) -> Iterator[tuple[dict, list[Raised]]]:
    """(family summary, alerts raised) for every family, in file order, one row group at a time."""
    groups = parquet.row_groups(path)
    total = parquet.metadata(path)["families"]
    jobs = [(str(path), i, settings) for i in range(groups)]
    bar = parquet._bar(total, progress, "year")
    for chunk in parquet._run(_year_job, jobs, processes):
        yield from chunk
        bar.update(len(chunk))
    bar.close()


ALERT_COLUMNS = ("family", "child", "rule", "severity", "step", "scope", "day", "evidence")


@dataclass
class SweepReport:
    families: int = 0
    active: int = 0
    findings: Counter = field(default_factory=Counter)


def sweep_as_of(
    path: str | Path,
    as_of: date,
    settings: Settings = DEFAULT_SETTINGS,
    processes: int | None = None,
    out: str | Path | None = None,
    progress: bool = False,
) -> SweepReport:
    """Every rule for every family as of ``as_of``; findings written to ``out`` (Parquet) as they come."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = parquet.metadata(path)
    report = SweepReport(families=meta["families"])
    jobs = [(str(path), i, as_of, settings) for i in range(parquet.row_groups(path))]
    schema = pa.schema(
        [("family", pa.string()), ("child", pa.string()), ("rule", pa.string()), ("severity", pa.string()),
         ("step", pa.int8()), ("scope", pa.string()), ("day", pa.int32()), ("evidence", pa.list_(pa.string()))]
    )  # fmt: skip
    writer = pq.ParquetWriter(out, schema, compression="zstd") if out else None
    bar = parquet._bar(len(jobs), progress, "sweep")
    bar.unit = "row group"
    try:
        for rows, counts, active in parquet._run(_as_of_job, jobs, processes):
            report.active += active
            report.findings.update(counts)
            if writer is not None:
                columns = list(zip(*rows, strict=True)) if rows else [[] for _ in ALERT_COLUMNS]
                writer.write_table(
                    pa.table(dict(zip(ALERT_COLUMNS, columns, strict=True)), schema=schema)
                )
            bar.update(1)
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    return report


def write_year_alerts(results, out: str | Path) -> Iterator[tuple[dict, list[Raised]]]:
    """Pass ``year_results`` through, writing every raised alert to ``out`` (Parquet) on the way."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [("family", pa.string()), ("child", pa.string()), ("rule", pa.string()), ("severity", pa.string()),
         ("step", pa.int8()), ("scope", pa.string()), ("raised_day", pa.int32())]
    )  # fmt: skip
    buffer: list[tuple] = []
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:

        def flush():
            cols = list(zip(*buffer, strict=True)) if buffer else [[] for _ in schema.names]
            writer.write_table(pa.table(dict(zip(schema.names, cols, strict=True)), schema=schema))
            buffer.clear()

        for summary, raised in results:
            for a in raised:
                buffer.append(
                    (summary["family"], a.child, a.rule, a.severity, a.step, a.scope, a.day)
                )
            if len(buffer) >= 50_000:
                flush()
            yield summary, raised
        flush()  # at least one (possibly empty) table, so the file has its schema


# -- the command ------------------------------------------------------------------------------


def _settings(path: str | None) -> Settings:
    return Settings.from_toml(path) if path else DEFAULT_SETTINGS


def run(args) -> int:
    """``cradle sweep POPULATION [--as-of DATE | --year] [--processes N] [--out FILE]``.

    Without ``--as-of``, a population is swept as of the last day of its year of births
    (every baby under one then), not today: a synthetic population keeps its own dates."""
    path = Path(args.population)
    try:
        meta = parquet.metadata(path)
        settings = _settings(getattr(args, "settings", None))
    except (OSError, ValueError, SettingsError) as exc:
        print(f"cradle: {exc}", file=sys.stderr)
        return 2
    progress = not args.quiet
    out = getattr(args, "out", None)
    if getattr(args, "year", False):
        counts: Counter = Counter()
        n = 0
        results = year_results(path, settings, args.processes, progress)
        if out:
            results = write_year_alerts(results, out)
        for _summary, raised in results:
            n += 1
            counts.update((a.rule, a.severity) for a in raised)
        print(f"simulated year: {n:,} families, {sum(counts.values()):,} alerts raised")
        _print_counts(counts)
    else:
        as_of = args.as_of or date.fromisoformat(meta["births_from"]).replace(month=12, day=31)
        report = sweep_as_of(path, as_of, settings, args.processes, out, progress)
        print(
            f"swept {report.families:,} families as of {as_of}: {report.active:,} with a baby expected or under one, "
            f"{sum(report.findings.values()):,} findings"
        )
        _print_counts(report.findings)
    if out:
        print(f"alerts written to {out}")
    return 0


def _print_counts(counts: Counter) -> None:
    for (rule, severity), n in sorted(counts.items()):
        print(f"  {rule:<46}{severity:<10}{n:>10,}")
