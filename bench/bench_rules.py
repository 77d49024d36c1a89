"""Rule-engine throughput on synthetic families, beside a DuckDB scan of the same events.

    .venv/bin/python bench/bench_rules.py [--families N] [--seed S] [--day D] [--smoke]

Families are generated first, as plain rows (what a database query or a file
gives). The timed part is what a nightly run does: build each family's Timeline
from its rows and evaluate every rule as of one day. The baseline loads the
same events into DuckDB and runs a per-family SQL scan (consecutive failed
visits per visiting agency, last day the baby was seen), in the same process.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections import Counter
from datetime import date, datetime

import duckdb

from cradle.domain import (
    Agency,
    Channel,
    Event,
    EventKind,
    Finding,
    Identity,
    Outcome,
    Person,
    Relationship,
    RelationshipKind,
    Role,
    Sex,
    Timeline,
    Touchpoint,
    sort_events,
)
from cradle.rules import evaluate

TARGET = 5_000  # timelines per second per core
AG, KI, OU, CH, FI, TP, RK, RO, SX = (
    {m.value: m for m in e}
    for e in (Agency, EventKind, Outcome, Channel, Finding, Touchpoint, RelationshipKind, Role, Sex)
)
MUM_RISKS = (("first_pregnancy", 0.4), ("raised_bmi", 0.2), ("anxiety", 0.15), ("depression", 0.1),
             ("financial_hardship", 0.08), ("housing_problem", 0.04), ("young_parent", 0.04),
             ("domestic_abuse", 0.02), ("substance_misuse", 0.015))
BABY_WORDS = ("persistent_crying", "feeding_difficulty", "vomiting", "blocked_nose")
ALL_AGENCIES = ("midwifery", "maternity", "health_visiting", "gp")


# -- synthetic rows (not timed) -------------------------------------------------------------


def family_rows(rng: random.Random, fid: int, upto: int) -> dict:
    """One family's record as extracted on day ``upto``: people, relationships, events."""
    events: list[tuple] = []
    has_dad, dad_linked = rng.random() < 0.88, rng.random() < 0.75
    has_sib = rng.random() < 0.45
    nnu_stay = rng.randint(3, 25) if rng.random() < 0.06 else 0
    prem = nnu_stay > 10 and rng.random() < 0.5

    def add(day, agency, kind, subjects, outcome="attended", channel="clinic", seen=None,
            findings=(), touchpoint=None, delivered_to=(), to_agency=None):
        if day > upto:
            return
        lag = rng.choice((1, 1, 2, 3)) if rng.random() < 0.12 else 0
        if seen is None:
            seen = subjects if outcome == "attended" else ()
        events.append((f"e{len(events)}", day, day + lag, agency, kind, tuple(subjects), outcome,
                       channel, tuple(seen), tuple(findings), to_agency, tuple(delivered_to),
                       touchpoint))

    def contact(day, agency, kind, subjects, channel="clinic", p_fail=0.1, **kw):
        """A booked contact; failures (about 10%) are rebooked a few days later."""
        failed = "no_access" if channel == "home_visit" else (
            "was_not_brought" if "baby" in subjects else "did_not_attend")
        while rng.random() < p_fail:
            add(day, agency, kind, subjects, failed, channel, seen=())
            day += rng.randint(2, 7)
        add(day, agency, kind, subjects, channel=channel, **kw)

    def icon(day, agency, point, p):
        if rng.random() < p:
            to = ("mum", "dad") if has_dad and rng.random() < 0.4 else ("mum",)
            add(day, agency, "icon_delivered", ("mum",), touchpoint=point, delivered_to=to)

    mum, parents = ("mum",), ("baby", "mum")
    first = not has_sib and rng.random() < 0.8
    risks = [w for w, p in MUM_RISKS if rng.random() < p and (w != "first_pregnancy" or first)]
    booking = -280 + rng.randint(56, 90)
    add(booking, "midwifery", "antenatal_booking", mum, findings=risks)
    for week in (12, 20, 28) if "raised_bmi" in risks else (12, 20):  # scans, glucose test
        contact((week - 40) * 7 + rng.randint(-3, 3), "maternity", "clinic_contact", mum, "hospital")
    for _ in range(rng.randint(0, 2)):
        add(rng.randint(booking, -1), "midwifery", "phone_contact", mum, channel="phone", seen=())
    for week in (16, 25, 28, 31, 34, 36, 38, 40, 41)[0 if first else 2:]:
        home = week == 36 and rng.random() < 0.5
        contact((week - 40) * 7 + rng.randint(-2, 2), "midwifery", "antenatal_contact", mum,
                "home_visit" if home else "clinic")
    icon(-36 + rng.randint(-5, 5), "midwifery", "antenatal", 0.85)
    if rng.random() < 0.85:
        contact(-70 + rng.randint(-14, 14), "health_visiting", "antenatal_contact", mum, "home_visit")
    for _ in range(rng.randint(1, 6)):  # the mother's own GP care, before and in pregnancy
        words = ("anxiety",) if "anxiety" in risks and rng.random() < 0.3 else ()
        contact(rng.randint(-450, -1), "gp", "gp_appointment", mum, findings=words)
    for _ in range(rng.randint(0, 2)):  # maternity day assessment unit
        contact(rng.randint(-120, -3), "maternity", "clinic_contact", mum, "hospital")
    if ("anxiety" in risks or "depression" in risks) and rng.random() < 0.4:
        add(booking + 14, "midwifery", "referral", mum, to_agency="perinatal_mental_health")
        contact(booking + 40, "perinatal_mental_health", "mental_health_review", mum,
                findings=("depression",) if "depression" in risks else ())
    at_birth = ("baby", "mum", "dad") if has_dad and rng.random() < 0.6 else parents
    add(0, "maternity", "birth", parents, channel="inpatient", seen=at_birth,
        findings=("premature", "low_birth_weight") if prem else ())
    icon(0, "maternity", "birth", 0.5)
    home_day = 1 + rng.randint(0, 1)
    if nnu_stay:
        add(0, "nnu", "nnu_admission", ("baby",), channel="inpatient",
            findings=("respiratory_distress",) if rng.random() < 0.5 else ())
        add(nnu_stay // 2, "nnu", "inpatient_note", parents, channel="inpatient", seen=("baby",))
        add(nnu_stay, "nnu", "nnu_discharge", ("baby",), channel="inpatient", seen=parents)
        icon(nnu_stay, "nnu", "nnu_discharge", 0.6)
        home_day = nnu_stay
    else:
        add(home_day, "maternity", "maternity_discharge", parents, channel="inpatient")
    for offset in (1, 3, 5, 7, 10):
        contact(home_day + offset, "midwifery", "postnatal_contact", parents,
                "home_visit" if offset < 5 else "clinic")
    icon(home_day + 5, "midwifery", "postnatal", 0.8)
    add(rng.randint(7, 21), "gp", "registration", ("baby",), channel=None, seen=())
    add(1, "maternity", "paediatric_examination", ("baby",), channel="hospital")  # NIPE
    contact(rng.randint(2, 20), "maternity", "clinic_contact", ("baby",), "hospital")  # hearing
    nbv = max(home_day + 2, rng.randint(10, 14))
    at_nbv = ("baby", "mum", "dad") if has_dad and rng.random() < 0.6 else parents
    contact(nbv, "health_visiting", "new_birth_visit", parents, "home_visit", seen=at_nbv,
            findings=("feeding_difficulty",) if rng.random() < 0.1 else ())
    icon(nbv, "health_visiting", "new_birth_visit", 0.85)
    if rng.random() < 0.5:
        contact(rng.randint(21, 35), "health_visiting", "home_visit", parents, "home_visit")
    for _ in range(rng.randint(0, 3)):  # minor illness
        contact(rng.randint(home_day + 3, 58), "gp", "gp_appointment", parents)
    for _ in range(rng.randint(1, 3)):  # weighing clinic
        contact(rng.randint(nbv + 7, 58), "health_visiting", "clinic_contact", parents)
    contact(rng.randint(42, 56), "health_visiting", "six_to_eight_week_review", parents,
            "home_visit" if rng.random() < 0.6 else "clinic",
            findings=("persistent_crying",) if rng.random() < 0.08 else ())
    check = rng.randint(42, 58)
    contact(check, "gp", "gp_six_to_eight_week_check", parents)
    add(check, "gp", "gp_appointment", mum, findings=("depression",) if "depression" in risks else ())
    icon(check, "gp", "six_to_eight_week", 0.5)
    contact(56 + rng.randint(0, 4), "gp", "immunisation", ("baby",))
    if rng.random() < 0.1:  # an online consultation, usually followed by a visit
        day = rng.randint(nbv, 50)
        add(day, "gp", "econsult", parents, channel="online", seen=(),
            findings=(rng.choice(BABY_WORDS),))
        if rng.random() < 0.8:
            add(day + rng.randint(1, 3), "gp", "gp_appointment", parents)
    if rng.random() < 0.15:
        add(rng.randint(5, 55), rng.choice(("gp", "health_visiting")), "phone_contact", parents,
            channel="phone", seen=())
    if rng.random() < 0.04:
        hurt = ("minor_injury",) if rng.random() < 0.08 else (rng.choice(BABY_WORDS),)
        add(rng.randint(3, 58), "ed", "ed_attendance", ("baby",), channel="hospital",
            seen=parents, findings=hurt)
    if rng.random() < 0.1:
        add(rng.randint(20, 58), "gp", "gp_appointment", mum, findings=("anxiety",))
    for _ in range(rng.randint(0, 2) if has_dad else 0):
        words = ("anxiety",) if rng.random() < 0.1 else ()
        add(rng.randint(-300, 58), "gp", "gp_appointment", ("dad",), findings=words)
    if has_sib:
        for _ in range(rng.randint(3, 8)):
            contact(rng.randint(-250, 58), rng.choice(("gp", "health_visiting")), "clinic_contact",
                    ("sib", "mum"))

    street = f"{rng.randint(1, 200)} {rng.choice(('Mill Lane', 'High St', 'Park Rd'))}, Town"
    postcode = f"HX{rng.randint(1, 9)} {rng.randint(1, 9)}AB"
    dad_home = street if rng.random() < 0.85 else f"{rng.randint(1, 99)} Elm Close, Town"

    def person(pid, role, sex, born, due, address, known):
        nhs = str(rng.randrange(10**9, 10**10))
        return (pid, role, sex, born, due, pid.title(), f"F{fid}", nhs, address, postcode, known)

    due = rng.randint(20, 60) if prem else rng.randint(-10, 14)
    people = [person("baby", "child", rng.choice(("male", "female")), 0, due, street, ()),
              person("mum", "mother", "female", -rng.randint(17, 42) * 365, None, street, ("gp",))]
    rels = [("mum", "mother_of", "baby", ALL_AGENCIES, None)]
    if has_dad:
        people.append(person("dad", "father", "male", -rng.randint(18, 48) * 365, None, dad_home,
                             ("gp",)))
        by = ("midwifery", "health_visiting") if dad_linked else ()
        rels += [("dad", "father_of", "baby", by, None), ("dad", "partner_of", "mum", by, None)]
    if has_sib:
        people.append(person("sib", "sibling", "female", -rng.randint(400, 2000), None, street,
                             ("gp", "health_visiting")))
        rels += [("mum", "mother_of", "sib", ("gp",), None), ("sib", "sibling_of", "baby", (), None)]
    rng.shuffle(events)  # rows arrive in no particular order
    origin = date(2022, 1, 1).toordinal() + rng.randint(0, 1000)
    return {"family": fid, "origin": date.fromordinal(origin).isoformat(), "people": people,
            "relationships": rels, "events": events}


# -- the timed part: rows -> Timeline -> findings -------------------------------------------


def build(rec: dict) -> Timeline:
    people = tuple(
        Person(pid, RO[role], SX[sex], born, due, Identity(given, fam, nhs, addr, pc),
               frozenset(AG[a] for a in known))
        for pid, role, sex, born, due, given, fam, nhs, addr, pc, known in rec["people"]
    )
    rels = tuple(
        Relationship(f"r{i}", p, RK[kind], other, frozenset(AG[a] for a in by), from_day)
        for i, (p, kind, other, by, from_day) in enumerate(rec["relationships"])
    )
    events = [
        Event(eid, day, rday, AG[ag], KI[kind], subj, OU.get(out), CH.get(ch), seen,
              tuple(FI[w] for w in words), AG.get(to), dto, TP.get(tp))
        for eid, day, rday, ag, kind, subj, out, ch, seen, words, to, dto, tp in rec["events"]
    ]
    return Timeline(date.fromisoformat(rec["origin"]), people, rels, sort_events(events), "baby")


def run_cradle(records: list[dict], day: int) -> tuple[float, float, int, Counter]:
    """(build seconds, evaluate seconds, findings, families with each rule's finding).

    One family at a time, as a nightly run would stream them: holding every
    timeline in memory at once costs about a third more, in garbage collection.
    """
    clock = time.perf_counter
    t_build = t_eval = 0.0
    n_findings, families = 0, Counter()
    for rec in records:
        t0 = clock()
        timeline = build(rec)
        t1 = clock()
        findings = evaluate(timeline, day)
        t2 = clock()
        t_build += t1 - t0
        t_eval += t2 - t1
        n_findings += len(findings)
        families.update({f.rule for f in findings})
    return t_build, t_eval, n_findings, families


# -- the baseline: the same events in DuckDB ------------------------------------------------

COLUMNS = ("family INTEGER, day INTEGER, recorded_day INTEGER, agency VARCHAR, kind VARCHAR, "
           "outcome VARCHAR, channel VARCHAR, about_baby BOOLEAN, about_mum BOOLEAN, "
           "seen_baby BOOLEAN, seen_mum BOOLEAN")
SCAN = """
WITH c AS (
    SELECT family, agency, day,
           outcome IN ('no_access', 'access_refused', 'was_not_brought', 'did_not_attend',
                       'cancelled_by_family') AS failed,
           outcome = 'attended' AND coalesce(channel, '') NOT IN ('online', 'phone', 'video')
               AND CASE WHEN day >= 0 THEN seen_baby ELSE seen_mum END AS seen
    FROM events
    WHERE recorded_day <= $day AND outcome IS NOT NULL
      AND agency IN ('health_visiting', 'midwifery', 'childrens_social_care', 'early_help')
      AND kind NOT IN ('referral', 'icon_delivered', 'registration')
      AND (about_baby OR (about_mum AND day < 0))
),
runs AS (
    SELECT family, agency,
           count(*) FILTER (WHERE failed AND day > coalesce(last_seen, -100000)) AS run
    FROM (SELECT *, max(CASE WHEN seen THEN day END) OVER (PARTITION BY family, agency)
                    AS last_seen FROM c)
    GROUP BY family, agency
),
baby AS (
    SELECT family, max(day) FILTER (WHERE seen_baby AND outcome = 'attended'
               AND coalesce(channel, '') NOT IN ('online', 'phone', 'video')) AS last_seen
    FROM events WHERE recorded_day <= $day GROUP BY family
)
SELECT b.family, coalesce(max(r.run), 0) AS worst_run, $day - b.last_seen AS gap
FROM baby b LEFT JOIN runs r USING (family)
GROUP BY b.family, b.last_seen
"""


def db_rows(records: list[dict]) -> list[tuple]:
    return [
        (r["family"], day, rday, ag, kind, out, ch, "baby" in subj, "mum" in subj,
         "baby" in seen, "mum" in seen)
        for r in records
        for _, day, rday, ag, kind, subj, out, ch, seen, *_ in r["events"]
    ]


def run_duckdb(rows: list[tuple], day: int, threads: int) -> tuple[float, float, list]:
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute(f"CREATE TABLE events ({COLUMNS})")
    t0 = time.perf_counter()
    with con.appender("events") as app:
        app.append_rows(rows)
    t1 = time.perf_counter()
    con.execute(SCAN, {"day": day}).fetchall()  # warm up
    t2 = time.perf_counter()
    result = con.execute(SCAN, {"day": day}).fetchall()
    t3 = time.perf_counter()
    con.close()
    return t1 - t0, t3 - t2, result


# -- the report -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--day", type=int, default=60, help="evaluate as of this day of life")
    ap.add_argument("--smoke", action="store_true", help="a tiny run for CI (200 families)")
    args = ap.parse_args(argv)
    n = 200 if args.smoke else args.families
    rng = random.Random(args.seed)
    records = [family_rows(rng, fid, args.day) for fid in range(n)]
    rows = db_rows(records)
    n_events = len(rows)

    run_cradle(records[: min(n, 500)], args.day)  # warm up
    t_build, t_eval, n_findings, by_rule = run_cradle(records, args.day)
    t_cradle = t_build + t_eval
    load1, scan1, result = run_duckdb(rows, args.day, 1)
    cpus = os.cpu_count() or 1
    _, scan_n, _ = run_duckdb(rows, args.day, cpus)

    cradle_fps, duck_fps = n / t_cradle, n / scan1
    print(f"cradle rules benchmark, {datetime.now():%Y-%m-%d %H:%M}")
    print(f"machine: {platform.processor() or platform.machine()}, {cpus} cpus, "
          f"{platform.system()} {platform.release()}; python {platform.python_version()}, "
          f"duckdb {duckdb.__version__}")
    print(f"families {n:,}  events {n_events:,} ({n_events / n:.1f} per family)  "
          f"as of day {args.day}  seed {args.seed}\n")
    print(f"{'stage':<40}{'seconds':>9}{'families/s':>13}{'events/s':>13}")
    table = [
        ("cradle: build timelines from rows", t_build),
        ("cradle: evaluate 15 rules", t_eval),
        ("cradle: build + evaluate (1 core)", t_cradle),
        ("duckdb: load rows (appender)", load1),
        ("duckdb: scan, 1 thread", scan1),
        (f"duckdb: scan, {cpus} threads", scan_n),
    ]
    for label, secs in table:
        print(f"{label:<40}{secs:>9.3f}{n / secs:>13,.0f}{n_events / secs:>13,.0f}")
    print(f"\nratio cradle / duckdb scan (per core): {cradle_fps / duck_fps:.4f} "
          f"(duckdb is {duck_fps / cradle_fps:,.0f}x faster, doing much less)")
    met = "MET" if cradle_fps >= TARGET else "NOT MET"
    print(f"target {TARGET:,} timelines/s/core: {met} ({cradle_fps:,.0f}/s)")
    print(f"\nfindings per family: {n_findings / n:.2f} (sanity); families with a finding, by rule:")
    for rule, count in by_rule.most_common():
        print(f"  {rule:<46}{count:>8,} {count / n:7.1%}")
    sql_runs = sum(1 for _, run, _ in result if run)
    sql_gaps = sum(1 for *_, gap in result if gap is not None and gap >= 14)
    print(f"cross-check: families with a current failed-visit run: duckdb {sql_runs:,}, "
          f"cradle no-access-stepped {by_rule['no-access-stepped']:,}; "
          f"baby unseen 14+ days (duckdb): {sql_gaps:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
