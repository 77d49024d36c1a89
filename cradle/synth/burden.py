"""The alert burden of a simulated year, and what it buys.

From each family's alerts over its time at risk (antenatal booking to the first
birthday, or to the harm):

- alerts per 100 family-months at risk, by rule and severity;
- the share of escalate and urgent alerts that land on families on a harm trajectory;
- recall: the share of harmed families with an escalate or urgent alert raised at
  least ``LEAD_DAYS`` (7) days before the harm, with a Wilson 95% interval, and the
  median lead time (harm day minus the first escalate or urgent alert, over the
  families recalled);
- the same by deprivation quintile and by ethnic group, so unequal burden shows.

Pure: it reads (family summary, alerts raised) pairs, streaming, as ``sweep.year_results``
gives them, so the same code serves a hand-made population in a test and a national file.
"""

from __future__ import annotations

import csv
import math
import statistics
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

LEAD_DAYS = 7
# A second, stricter recall: the warning raised in the weeks before the harm (7 to 60 days),
# not only at some earlier point (an antenatal vulnerability alert months before).
RECENT_DAYS = 60
DAYS_PER_MONTH = 365.25 / 12
SERIOUS = ("escalate", "urgent")
Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (95% by default); (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At k = 0 and k = n the bounds are exactly 0 and 1; rounding must not nudge them inside.
    return (0.0 if successes == 0 else max(0.0, centre - half)), (
        1.0 if successes == n else min(1.0, centre + half)
    )


@dataclass
class Group:
    """Counts for one set of families (all of them, a quintile, an ethnic group, a path)."""

    families: int = 0
    days: int = 0
    alerts: int = 0
    serious: int = 0
    harmed: int = 0
    recalled: int = 0
    recent: int = 0  # harmed families warned 7 to RECENT_DAYS days before the harm
    flagged: int = 0  # families with any escalate/urgent alert in their time at risk
    leads: list[int] = field(default_factory=list)

    @property
    def months(self) -> float:
        return self.days / DAYS_PER_MONTH

    def per_100_months(self, count: int) -> float:
        return 100 * count / self.months if self.days else 0.0

    @property
    def recall(self) -> float | None:
        return self.recalled / self.harmed if self.harmed else None

    @property
    def recall_ci(self) -> tuple[float, float]:
        return wilson(self.recalled, self.harmed)

    @property
    def median_lead(self) -> float | None:
        return statistics.median(self.leads) if self.leads else None


@dataclass
class Burden:
    label: str = ""
    all: Group = field(default_factory=Group)
    by_rule: Counter = field(default_factory=Counter)  # (rule, severity) -> alerts
    serious_on_harmed: int = 0
    by_quintile: dict[int, Group] = field(default_factory=dict)
    by_ethnic_group: dict[str, Group] = field(default_factory=dict)
    by_pattern: dict[str, Group] = field(default_factory=dict)

    @property
    def serious_share_on_harmed(self) -> float | None:
        return self.serious_on_harmed / self.all.serious if self.all.serious else None

    def add(self, summary: dict, raised: Iterable) -> None:
        first, last = summary["first"], summary["last"]
        harm = summary["harm_day"]
        counted = [a for a in raised if first <= a.day <= last]
        serious = [a for a in counted if a.severity in SERIOUS]
        groups = [
            self.all,
            self.by_quintile.setdefault(summary["quintile"], Group()),
            self.by_ethnic_group.setdefault(summary["ethnic_group"], Group()),
        ]
        if harm is not None:
            groups.append(self.by_pattern.setdefault(summary["pattern"] or "(none)", Group()))
            self.serious_on_harmed += len(serious)
        warned = [
            a.day
            for a in raised
            if a.severity in SERIOUS and a.day <= (harm if harm is not None else last)
        ]
        recalled = harm is not None and any(d <= harm - LEAD_DAYS for d in warned)
        recent = harm is not None and any(
            harm - RECENT_DAYS <= d <= harm - LEAD_DAYS for d in warned
        )
        for g in groups:
            g.families += 1
            g.days += last - first + 1
            g.alerts += len(counted)
            g.serious += len(serious)
            g.flagged += bool(serious)
            if harm is not None:
                g.harmed += 1
                g.recent += recent
                if recalled:
                    g.recalled += 1
                    g.leads.append(harm - min(warned))
        self.by_rule.update((a.rule, a.severity) for a in counted)


def measure(results: Iterable[tuple[dict, list]], label: str = "") -> Burden:
    burden = Burden(label=label)
    for summary, raised in results:
        burden.add(summary, raised)
    return burden


def from_alerts(population, alerts, label: str = "") -> Burden:
    """Measure again from a population file and the alerts a ``--year`` sweep or ``burden``
    wrote (``alerts-A.parquet``), without simulating the year again. Holds the alerts in
    memory: for a national file, run ``burden`` instead."""
    import pyarrow.parquet as pq

    from cradle.synth.sweep import FIRST_BIRTHDAY, Raised

    raised: dict[str, list] = {}
    t = pq.read_table(alerts)
    cols = [
        t.column(c).to_pylist()
        for c in ("family", "raised_day", "rule", "severity", "step", "scope", "child")
    ]
    for fam, day, rule, severity, step, scope, child in zip(*cols, strict=True):
        raised.setdefault(fam, []).append(Raised(day, rule, severity, step, scope, child))
    names = ("family", "booking_day", "harm_day", "quintile", "ethnic_group", "pattern")
    pop = pq.read_table(population, columns=list(names))
    burden = Burden(label=label)
    for fam, booking, harm, quintile, group, pattern in zip(
        *(pop.column(c).to_pylist() for c in names), strict=True
    ):
        last = FIRST_BIRTHDAY - 1 if harm is None else min(FIRST_BIRTHDAY - 1, harm)
        summary = {"family": fam, "quintile": quintile, "ethnic_group": group, "pattern": pattern,
                   "harm_day": harm, "first": booking, "last": last}  # fmt: skip
        burden.add(summary, raised.get(fam, []))
    return burden


# -- writing it out -------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def headline(b: Burden) -> list[tuple[str, str]]:
    g = b.all
    lo, hi = g.recall_ci
    return [
        ("families", f"{g.families:,}"),
        ("family-months at risk", f"{g.months:,.0f}"),
        ("alerts per family-month", _num(g.alerts / g.months if g.days else None, 3)),
        (
            "escalate/urgent alerts per family-month",
            _num(g.serious / g.months if g.days else None, 3),
        ),
        (
            "share of escalate/urgent alerts on harm-trajectory families",
            _pct(b.serious_share_on_harmed),
        ),
        (
            "share of families with an escalate/urgent alert",
            _pct(g.flagged / g.families if g.families else None),
        ),
        ("harmed families", f"{g.harmed:,}"),
        (
            f"recall (escalate/urgent >= {LEAD_DAYS} days before harm)",
            f"{_pct(g.recall)} (95% CI {_pct(lo)} to {_pct(hi)})",
        ),
        ("median lead time, days", _num(g.median_lead, 0)),
        (
            f"recall, warned {LEAD_DAYS}-{RECENT_DAYS} days before harm",
            f"{_pct(g.recent / g.harmed if g.harmed else None)} (95% CI {_pct(wilson(g.recent, g.harmed)[0])} to "
            f"{_pct(wilson(g.recent, g.harmed)[1])})",
        ),
    ]


def print_report(burdens: list[Burden], out=None) -> None:
    out = out or sys.stdout
    labels = [b.label for b in burdens]
    width = max(62, *(len(k) for k, _ in headline(burdens[0])))
    print(f"{'':<{width}}" + "".join(f"{lab:>34}" for lab in labels), file=out)
    rows = [headline(b) for b in burdens]
    for i, (key, _) in enumerate(rows[0]):
        print(f"{key:<{width}}" + "".join(f"{r[i][1]:>34}" for r in rows), file=out)
    print("\nalerts per 100 family-months, by rule and severity", file=out)
    keys = sorted(set().union(*(b.by_rule for b in burdens)))
    for rule, severity in keys:
        vals = "".join(
            f"{b.all.per_100_months(b.by_rule[(rule, severity)]):>14.2f}" for b in burdens
        )
        print(f"  {rule:<44}{severity:<10}{vals}", file=out)
    for title, attr in (("deprivation quintile (1 = most deprived)", "by_quintile"), ("ethnic group", "by_ethnic_group"),
                        ("harm path (harmed families only)", "by_pattern")):  # fmt: skip
        print(
            f"\nby {title}: families, alerts and escalate/urgent per 100 family-months, harmed, recall",
            file=out,
        )
        names = sorted(set().union(*(getattr(b, attr) for b in burdens)), key=str)
        for name in names:
            cells = []
            for b in burdens:
                g = getattr(b, attr).get(name, Group())
                cells.append(
                    f"{g.families:>8,}{g.per_100_months(g.alerts):>9.1f}{g.per_100_months(g.serious):>8.1f}"
                    f"{g.harmed:>6}{_pct(g.recall):>8}"
                )
            print(f"  {name!s:<22}" + "  |".join(cells), file=out)


def group_rows(b: Burden) -> list[dict]:
    rows = []
    for kind, groups in (("all", {"all": b.all}), ("quintile", b.by_quintile), ("ethnic_group", b.by_ethnic_group),
                         ("harm_path", b.by_pattern)):  # fmt: skip
        for name, g in sorted(groups.items(), key=lambda kv: str(kv[0])):
            lo, hi = g.recall_ci
            rows.append(
                {
                    "settings": b.label,
                    "breakdown": kind,
                    "group": name,
                    "families": g.families,
                    "family_months": round(g.months, 1),
                    "alerts": g.alerts,
                    "alerts_per_100_family_months": round(g.per_100_months(g.alerts), 3),
                    "escalate_urgent": g.serious,
                    "escalate_urgent_per_100_family_months": round(g.per_100_months(g.serious), 3),
                    "harmed": g.harmed,
                    "recalled": g.recalled,
                    "recalled_7_to_60_days": g.recent,
                    "flagged_families": g.flagged,
                    "recall": "" if g.recall is None else round(g.recall, 4),
                    "recall_ci_low": round(lo, 4) if g.harmed else "",
                    "recall_ci_high": round(hi, 4) if g.harmed else "",
                    "median_lead_days": "" if g.median_lead is None else g.median_lead,
                }
            )
    return rows


def rule_rows(b: Burden) -> list[dict]:
    return [
        {
            "settings": b.label,
            "rule": rule,
            "severity": severity,
            "alerts": n,
            "per_100_family_months": round(b.all.per_100_months(n), 3),
        }
        for (rule, severity), n in sorted(b.by_rule.items())
    ]


def write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        path.write_text("")
        return
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def write_outputs(burdens: list[Burden], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    summary = out_dir / "summary.csv"
    with summary.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["measure", *(b.label for b in burdens)])
        rows = [headline(b) for b in burdens]
        for i, (key, _) in enumerate(rows[0]):
            w.writerow([key, *(r[i][1] for r in rows)])
    written.append(summary)
    write_csv(out_dir / "by_rule.csv", [r for b in burdens for r in rule_rows(b)])
    write_csv(out_dir / "by_group.csv", [r for b in burdens for r in group_rows(b)])
    written += [out_dir / "by_rule.csv", out_dir / "by_group.csv"]
    from cradle.synth.charts import draw

    written += draw(burdens, out_dir)
    return written


# -- the command ----------------------------------------------------------------------------


def run(args) -> int:
    from cradle.rules.settings import DEFAULT_SETTINGS, Settings, SettingsError
    from cradle.synth import parquet
    from cradle.synth.sweep import write_year_alerts, year_results

    try:
        parquet.metadata(args.population)
        runs = [(Path(args.settings).stem if args.settings else "defaults",
                 Settings.from_toml(args.settings) if args.settings else DEFAULT_SETTINGS)]  # fmt: skip
        if args.compare:
            runs.append((Path(args.compare).stem, Settings.from_toml(args.compare)))
    except (OSError, ValueError, SettingsError) as exc:
        print(f"cradle: {exc}", file=sys.stderr)
        return 2
    if len(runs) == 2 and runs[0][0] == runs[1][0]:
        runs = [(f"A:{runs[0][0]}", runs[0][1]), (f"B:{runs[1][0]}", runs[1][1])]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    burdens = []
    for i, (label, settings) in enumerate(runs):
        results = year_results(args.population, settings, args.processes, progress=not args.quiet)
        results = write_year_alerts(results, out_dir / f"alerts-{'AB'[i]}.parquet")
        burdens.append(measure(results, label))
    print_report(burdens)
    written = write_outputs(burdens, out_dir)
    print(f"\nwritten: {', '.join(str(p) for p in written)}")
    return 0
