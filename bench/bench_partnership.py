"""Partnership timings: each audit dashboard figure over N families, and the chronology PDF of
a family with a long record.

    .venv/bin/python bench/bench_partnership.py [--families N] [--events N] [--repeat N] [--smoke]

A fresh test database is created (SQLite in memory; PostgreSQL when CRADLE_DATABASE_URL is
set, as ``test_<name>``) and dropped at the end. N families are written with bulk inserts:
each a baby with the audit facts the core stores (four ICON touchpoints, three father
measures, a failed-contact sequence for one family in five, a remote consultation for one in
four), two alerts (one answered) and, for one family in 500, a review with two actions.

1. Each dashboard figure (``cradle.partnership.dashboards``) for a year and every agency,
   ``--repeat`` times after a warm-up. Baseline, in the same run: ``COUNT(*)`` of the same
   facts in the period, the least any figure could cost (one scan, no grouping).
2. The chronology of one family with ``--events`` contacts across agencies: read as the
   reader may see it (``multi_agency``), then the PDF (WeasyPrint). Baseline: the same
   chronology read and written as CSV.

Targets (issue 8): each dashboard under 1 s on PostgreSQL with 100,000 families; the PDF of a
500-event family under 3 s. ``--smoke`` runs tiny sizes and judges nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DASHBOARD_TARGET_S = 1.0
PDF_TARGET_S = 3.0
TODAY = date(2026, 11, 26)
AGENCIES = ["health_visiting", "midwifery", "gp", "nnu", "maternity", "childrens_social_care"]


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cradle.site.settings_test")
    import django

    django.setup()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    return connection


def populate(n: int, seed: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from cradle.partnership.models import AuditFact, Recommendation, Review, ReviewAction
    from cradle.records import models as m

    rnd = random.Random(seed)
    batch = 2000
    user = get_user_model().objects.create_user("bench", password="x" * 12)
    for start in range(0, n, batch):
        size = min(batch, n - start)
        with transaction.atomic():
            born = [TODAY - timedelta(days=rnd.randrange(30, 365)) for _ in range(size)]
            people = m.Person.objects.bulk_create(
                [m.Person(source_key=f"bench/{start + i}", born_on=born[i]) for i in range(size)]
            )
            families = m.Family.objects.bulk_create(
                [
                    m.Family(reference=f"bench-{start + i}", origin=born[i], index_child=people[i])
                    for i in range(size)
                ]
            )
            facts, alerts = [], []
            for fam, child, b in zip(families, people, born, strict=True):

                def fact(
                    measure,
                    item,
                    agency,
                    day,
                    counted=True,
                    met=None,
                    fam=fam,
                    child=child,
                    b=b,
                    **kw,
                ):
                    facts.append(  # noqa: B023 (called within the loop)
                        AuditFact(family=fam, child=child, measure=measure, item=item,
                                           agency=agency, on=b + timedelta(days=day), counted=counted,
                                           met=rnd.random() < 0.7 if met is None else met,
                                           as_of=TODAY, **kw))  # fmt: skip

                for item, agency, day in (("postnatal", "maternity", 14), ("new_birth_visit", "health_visiting", 12),
                                          ("six_to_eight_week", "gp", 56), ("father", "health_visiting", 12)):  # fmt: skip
                    fact("icon", item, agency, day)
                for item in ("identified", "seen", "linked"):
                    fact("male_carer", item, "", 0)
                if rnd.random() < 0.2:
                    fact("sequence", "c1", rnd.choice(AGENCIES[:2]), 20, extra=rnd.random() < 0.8,
                         step=rnd.choice((1, 2, 3)))  # fmt: skip
                if rnd.random() < 0.25:
                    fact("remote", "c2", "gp", 40)
                for k in range(2):
                    raised = b + timedelta(days=rnd.randrange(0, 30))
                    alerts.append(m.Alert(family=fam, child=child, rule="bench", rule_version=1,
                                          severity=rnd.choice(("prompt", "escalate", "urgent")), began_on=raised,
                                          raised_on=raised, due_on=raised + timedelta(days=2), action="",
                                          source="", settings_hash="bench", agency=rnd.choice(AGENCIES),
                                          status="acknowledged" if k == 0 else "open"))  # fmt: skip
            AuditFact.objects.bulk_create(facts, batch_size=5000)
            saved = m.Alert.objects.bulk_create(alerts, batch_size=5000)
            m.AlertChange.objects.bulk_create(
                [m.AlertChange(alert=a, change="acknowledged", on=a.raised_on + timedelta(days=rnd.randrange(0, 5)))
                 for a in saved if a.status == "acknowledged"], batch_size=5000,
            )  # fmt: skip
            for fam, child in list(zip(families, people, strict=True))[::500]:
                review = Review.objects.create(
                    family=fam, child=child, reference="bench", opened_by=user, opened_on=TODAY
                )
                rec = Recommendation.objects.create(review=review, number=1, title="bench")
                for due in (-5, 5):
                    ReviewAction.objects.create(recommendation=rec, description="bench", agency=rnd.choice(AGENCIES),
                                                due_on=TODAY + timedelta(days=due))  # fmt: skip


def long_family(events: int, seed: int):
    from cradle.records import models as m

    rnd = random.Random(seed)
    origin = TODAY - timedelta(days=300)
    family = m.Family.objects.create(reference="bench-long", title="A long record", origin=origin)
    people = {}
    for label, role in (("baby", "child"), ("mum", "mother"), ("dad", "father")):
        people[label] = m.Person.objects.create(source_key=f"bench-long/{label}", given_name=label.title(),
                                                family_name="Long", born_on=origin if label == "baby" else None)  # fmt: skip
        m.FamilyMember.objects.create(family=family, person=people[label], role=role, label=label)
    family.index_child = people["baby"]
    family.save()
    kinds = [("health_visiting", "home_visit", "home_visit"), ("gp", "gp_appointment", "clinic"),
             ("midwifery", "postnatal_contact", "home_visit"), ("ed", "ed_attendance", "hospital"),
             ("gp", "econsult", "online")]  # fmt: skip
    contacts = []
    for i in range(events):
        agency, kind, channel = rnd.choice(kinds)
        on = origin + timedelta(days=rnd.randrange(-200, 300))
        outcome = "no_access" if kind == "home_visit" and rnd.random() < 0.15 else "attended"
        contacts.append(m.Contact(source_key=f"bench-long/{i}", agency=agency, kind=kind, occurred_on=on,
                                  recorded_on=on, outcome=outcome, channel=channel,
                                  note="A made-up note of a contact, a sentence or two long, as practitioners write them."))  # fmt: skip
    contacts = m.Contact.objects.bulk_create(contacts)
    Subjects, Seen = m.Contact.subjects.through, m.Contact.seen.through
    Subjects.objects.bulk_create([Subjects(contact=c, person=people["baby"]) for c in contacts]
                                 + [Subjects(contact=c, person=people["mum"]) for c in contacts[::2]])  # fmt: skip
    Seen.objects.bulk_create(
        [
            Seen(contact=c, person=people["baby"])
            for c in contacts
            if c.outcome == "attended" and c.channel != "online"
        ]
    )
    return family


def timed(fn, n: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="200 families, a 60-event family, twice; judges nothing",
    )
    args = ap.parse_args(argv)
    if args.smoke:
        args.families, args.events, args.repeat = 200, 60, 2
    connection = _setup()
    try:
        from cradle.partnership import dashboards as d
        from cradle.partnership.chronology import multi_agency
        from cradle.partnership.exports import to_csv, to_pdf
        from cradle.partnership.models import AuditFact

        t0 = time.perf_counter()
        populate(args.families, args.seed)
        print(f"{connection.vendor}, {args.families:,} families ({AuditFact.objects.count():,} facts) "
              f"written in {time.perf_counter() - t0:.1f} s; {platform.platform()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}")  # fmt: skip
        start, end = TODAY - timedelta(days=365), TODAY
        rows = []
        base = timed(
            lambda: AuditFact.objects.filter(on__gte=start, on__lte=end).count(), args.repeat
        )
        rows.append(("baseline: COUNT(*) of the period's facts", base, None))
        figures = {
            "icon": lambda: d.icon(start, end, None),
            "sequences": lambda: d.sequences(start, end, None),
            "male carers": lambda: d.male_carers(start, end, None),
            "remote consultations": lambda: d.remote(start, end, None),
            "alert responses": lambda: d.responses(start, end, None),
            "review actions": lambda: d.review_actions(start, end, None, TODAY),
        }
        for name, fn in figures.items():
            rows.append((f"dashboard: {name}", timed(fn, args.repeat), DASHBOARD_TARGET_S))
        family = long_family(args.events, args.seed)
        chron = multi_agency(family, as_of=TODAY)
        rows.append(
            (
                f"chronology read, {args.events} events",
                timed(lambda: multi_agency(family, as_of=TODAY), args.repeat),
                None,
            )
        )
        rows.append(
            (
                "  baseline: read + CSV",
                timed(lambda: to_csv(multi_agency(family, as_of=TODAY)), args.repeat),
                None,
            )
        )
        rows.append(
            (
                "chronology read + PDF",
                timed(lambda: to_pdf(multi_agency(family, as_of=TODAY)), max(1, args.repeat // 2)),
                PDF_TARGET_S,
            )
        )
        print(f"the chronology has {len(chron['entries'])} entries")
        print(f"{'measure (s)':48} {'n':>3} {'median':>8} {'max':>8}  target")
        failed = []
        for name, times, target in rows:
            verdict = ""
            if target is not None:
                ok = max(times) < target
                verdict = f"< {target:g} s: " + (
                    "not judged (smoke)" if args.smoke else ("met" if ok else "MISSED")
                )
                if not ok and not args.smoke:
                    failed.append(name)
            print(
                f"{name:48} {len(times):>3} {statistics.median(times):>8.3f} {max(times):>8.3f}  {verdict}"
            )
        return 1 if failed else 0
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
