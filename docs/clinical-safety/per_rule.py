"""Per-rule evidence for the hazard log, from a simulated year that ``cradle burden`` wrote.

    .venv/bin/python docs/clinical-safety/per_rule.py POPULATION.parquet ALERTS.parquet

``ALERTS.parquet`` is the ``alerts-A.parquet`` (or ``alerts-B.parquet``) of a
``cradle burden --out DIR`` run on ``POPULATION.parquet``. Counting follows
``cradle.synth.burden`` exactly: alerts raised from antenatal booking to the first
birthday (or the harm); a harmed family is recalled by a rule when that rule raised an
escalate or urgent alert for it at least 7 days before the harm. Prints, per rule:

- alerts and alerts per 100 family-months at risk, by severity;
- the share of all families with at least one alert from the rule in their year;
- harmed families with any alert from the rule at least 7 days before the harm;
- harmed families recalled by the rule (an escalate/urgent alert at least 7 days before);
- harmed families recalled by this rule alone (no other rule's escalate/urgent alert came
  in time): what recall would lose if this rule's alerts were not shown;
- the same for the stricter recall (warned 7 to 60 days before the harm): by the rule, and
  by the rule alone;
- the rule's rate per 100 family-months on harm-trajectory families against the others.

Not part of the application: a reading aid for docs/clinical-safety/hazard-log.md.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict

import pyarrow.parquet as pq

from cradle.synth.burden import DAYS_PER_MONTH, LEAD_DAYS, RECENT_DAYS, SERIOUS
from cradle.synth.sweep import FIRST_BIRTHDAY


def main(population: str, alerts: str) -> None:
    names = ("family", "booking_day", "harm_day")
    pop = pq.read_table(population, columns=list(names))
    span: dict[str, tuple[int, int, int | None]] = {}
    for fam, booking, harm in zip(*(pop.column(c).to_pylist() for c in names), strict=True):
        last = FIRST_BIRTHDAY - 1 if harm is None else min(FIRST_BIRTHDAY - 1, harm)
        span[fam] = (booking, last, harm)
    days_harmed = sum(last - first + 1 for first, last, h in span.values() if h is not None)
    days_other = sum(last - first + 1 for first, last, h in span.values() if h is None)
    days_all = days_harmed + days_other
    harmed = {f for f, (_, _, h) in span.items() if h is not None}

    t = pq.read_table(alerts, columns=["family", "rule", "severity", "raised_day"])
    by_sev: Counter = Counter()
    on_harmed: Counter = Counter()
    families: dict[str, set[str]] = defaultdict(set)
    early_any: dict[str, set[str]] = defaultdict(set)  # rule -> harmed families, any alert >= 7 d
    early_serious: dict[str, set[str]] = defaultdict(set)  # fam -> rules recalling it
    recent_serious: dict[str, set[str]] = defaultdict(set)  # fam -> rules warning 7-60 d before
    cols = [t.column(c).to_pylist() for c in ("family", "rule", "severity", "raised_day")]
    for fam, rule, severity, day in zip(*cols, strict=True):
        first, last, harm = span[fam]
        if first <= day <= last:
            by_sev[(rule, severity)] += 1
            families[rule].add(fam)
            if harm is not None:
                on_harmed[rule] += 1
        if harm is not None and day <= harm - LEAD_DAYS:
            early_any[rule].add(fam)
            if severity in SERIOUS:
                early_serious[fam].add(rule)
                if day >= harm - RECENT_DAYS:
                    recent_serious[fam].add(rule)

    recalled = {f for f in harmed if early_serious.get(f)}
    recent = {f for f in harmed if recent_serious.get(f)}
    print(f"families {len(span):,}; harmed {len(harmed)}; recalled {len(recalled)} "
          f"({100 * len(recalled) / len(harmed):.1f}%); warned 7-60 days before {len(recent)}; "
          f"family-months {days_all / DAYS_PER_MONTH:,.0f}")  # fmt: skip
    header = (
        "rule", "alerts", "per 100 FM (prompt/escalate/urgent)", "families %",
        "harmed: any alert >=7d", "harmed: recalled by rule", "recalled by rule alone",
        "7-60 d by rule", "7-60 d by rule alone", "per 100 FM harmed / others",
    )  # fmt: skip
    print(" | ".join(header))
    for rule in sorted({r for r, _ in by_sev}):
        n = sum(c for (r, _), c in by_sev.items() if r == rule)
        sev = "/".join(
            f"{100 * by_sev[(rule, s)] / (days_all / DAYS_PER_MONTH):.2f}"
            if by_sev[(rule, s)]
            else "-"
            for s in ("prompt", "escalate", "urgent")
        )
        by_rule_recall = sum(rule in rules for rules in early_serious.values())
        alone = sum(rules == {rule} for rules in early_serious.values())
        by_rule_recent = sum(rule in rules for rules in recent_serious.values())
        recent_alone = sum(rules == {rule} for rules in recent_serious.values())
        rate_h = 100 * on_harmed[rule] / (days_harmed / DAYS_PER_MONTH)
        rate_o = 100 * (n - on_harmed[rule]) / (days_other / DAYS_PER_MONTH)
        print(
            f"{rule} | {n:,} | {sev} | {100 * len(families[rule]) / len(span):.1f} | "
            f"{len(early_any[rule])}/{len(harmed)} | {by_rule_recall}/{len(harmed)} | {alone} | "
            f"{by_rule_recent}/{len(harmed)} | {recent_alone} | "
            f"{rate_h:.1f} / {rate_o:.1f}"
        )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
