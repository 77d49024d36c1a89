"""Web timings: the family page's server time, and saving a contact until the alerts are updated.

    .venv/bin/python bench/bench_web.py [--events N] [--repeat N] [--saves N] [--seed S]
                                        [--smoke] [--profile]

One family (a baby in her first year, her mother and father) is built directly
with the ORM in a temporary SQLite file: ``--events`` contacts over the
pregnancy and the baby's first year, across agencies, with a realistic mix of
kinds and outcomes and a few findings; it is allocated to a health visiting
team with one health visitor, and evaluated once.

1. The family page, ``GET /families/<pk>/``, through Django's test ``Client``
   with the health visitor logged in: every middleware, the permission check
   and its audit row, the queries and the template. Baseline: a bare view (in
   this file) that makes the same reads as plain rows (the family's contacts
   with their subjects, who was seen and findings; the family's live alerts)
   and answers a template-free ``HttpResponse``, called through
   ``RequestFactory``.
2. Saving a contact: ``cradle.records.actions.record_contact`` with one
   no-access home visit (a distinct day each time), which checks, writes,
   re-evaluates every rule over the family's whole record and updates its
   alerts, in one transaction. Baseline: a bare insert of the same contact row
   and its subjects in a transaction.

Each figure is the median and the 95th percentile (nearest rank) of the timed
repetitions, after a warm-up. ``--profile`` also runs both under cProfile and
prints the top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import os
import platform
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

PAGE_TARGET_MS = 150.0  # the family page, server time (judged on the p95)
SAVE_TARGET_MS = 20.0  # save to alerts updated, p95, on SQLite
WARM_UP = 3

# Booked contacts beyond the core pathway, drawn by weight until the family has its
# events: agency, kind, about whom, channel, first and last day (0 = birth), weight,
# the outcome when it fails, how often it fails, the findings sometimes recorded.
WHO = {"B": ("baby",), "M": ("mum",), "D": ("dad",), "P": ("baby", "mum"),
       "F": ("baby", "mum", "dad")}  # fmt: skip
CATALOGUE = (
    ("health_visiting", "home_visit", "P", "home_visit", 15, 364, 20, "no_access", 0.12,
     ("feeding_difficulty", "persistent_crying")),
    ("health_visiting", "clinic_contact", "P", "clinic", 15, 364, 10, "was_not_brought", 0.08,
     ("feeding_difficulty",)),
    ("health_visiting", "phone_contact", "M", "phone", 0, 364, 8, None, 0, ()),
    ("gp", "gp_appointment", "P", "clinic", 5, 364, 10, "was_not_brought", 0.07,
     ("vomiting", "blocked_nose")),
    ("gp", "gp_appointment", "M", "clinic", -250, 364, 8, "did_not_attend", 0.08,
     ("anxiety", "depression")),
    ("gp", "gp_appointment", "D", "clinic", -250, 364, 3, "did_not_attend", 0.1, ("anxiety",)),
    ("gp", "phone_contact", "M", "phone", -200, 364, 6, None, 0, ()),
    ("early_help", "home_visit", "F", "home_visit", 30, 364, 9, "no_access", 0.1,
     ("financial_hardship",)),
    ("childrens_social_care", "home_visit", "P", "home_visit", 60, 364, 4, "no_access", 0.1, ()),
    ("perinatal_mental_health", "mental_health_review", "M", "clinic", -150, 364, 6,
     "did_not_attend", 0.1, ("anxiety", "depression")),
    ("midwifery", "antenatal_contact", "M", "clinic", -230, -3, 3, "did_not_attend", 0.05, ()),
    ("maternity", "clinic_contact", "B", "hospital", 2, 200, 2, "was_not_brought", 0.05, ()),
    ("ed", "ed_attendance", "B", "hospital", 20, 364, 1, None, 0, ("vomiting",)),
    ("housing", "home_visit", "M", "home_visit", -100, 364, 1, "no_access", 0.2,
     ("housing_problem",)),
)  # fmt: skip
FINDING_CHANCE = 0.02
NOTES = (
    "", "", "", "Weighed; gaining well.", "Feeding reviewed, responsive feeding discussed.",
    "Safe sleep advice given.", "Mum says she is tired but coping.",
    "Dad present, engaged well.", "No answer at the door; card left.",
    "Immunisations up to date.\nNext contact booked.", "Discussed sleep and settling.",
)  # fmt: skip


# -- the family -----------------------------------------------------------------------------
def pathway(rng: random.Random) -> list[tuple]:
    """The core contacts every family has: (day, agency, kind, who, channel, outcome,
    findings, delivered to, touchpoint)."""
    randint = rng.randint
    rows = [(-220, "midwifery", "antenatal_booking", "M", "clinic", "attended",
             ("first_pregnancy",), "", "")]  # fmt: skip
    rows += [((w - 40) * 7, "midwifery", "antenatal_contact", "M", "clinic", "attended", (), "", "")
             for w in (16, 25, 28, 31, 34, 36, 38)]  # fmt: skip
    rows.append((-70, "health_visiting", "antenatal_contact", "M", "home_visit", "attended", (),
                 "", ""))  # fmt: skip
    rows.append((-36, "midwifery", "icon_delivered", "M", "", "", (), "M", "antenatal"))
    rows.append((0, "maternity", "birth", "F", "inpatient", "attended", (), "", ""))
    rows.append((0, "maternity", "icon_delivered", "M", "", "", (), "F", "birth"))
    rows.append((1, "maternity", "paediatric_examination", "B", "hospital", "attended", (), "", ""))
    rows.append((2, "maternity", "maternity_discharge", "P", "inpatient", "attended", (), "", ""))
    rows += [(d, "midwifery", "postnatal_contact", "P", "home_visit" if d < 7 else "clinic",
              "attended", (), "", "") for d in (3, 5, 7, 10, 12)]  # fmt: skip
    rows.append((7, "midwifery", "icon_delivered", "M", "", "", (), "M", "postnatal"))
    rows.append((14, "gp", "registration", "B", "", "", (), "", ""))
    rows.append((12, "health_visiting", "new_birth_visit", "F", "home_visit", "attended", (),
                 "", ""))  # fmt: skip
    rows.append((12, "health_visiting", "icon_delivered", "M", "", "", (), "F", "new_birth_visit"))
    rows.append((44, "health_visiting", "six_to_eight_week_review", "P", "home_visit", "attended",
                 (), "", ""))  # fmt: skip
    rows.append((50, "gp", "gp_six_to_eight_week_check", "P", "clinic", "attended", (), "", ""))
    rows.append((50, "gp", "icon_delivered", "M", "", "", (), "F", "six_to_eight_week"))
    rows.append((50, "gp", "gp_appointment", "M", "clinic", "attended", ("depression",), "", ""))
    rows += [(d + randint(0, 3), "gp", "immunisation", "B", "clinic", "attended", (), "", "")
             for d in (56, 84, 112, 364 - 7)]  # fmt: skip
    rows.append((300, "health_visiting", "nine_to_twelve_month_review", "F", "home_visit",
                 "attended", (), "", ""))  # fmt: skip
    return rows


def family_rows(rng: random.Random, n_events: int) -> list[tuple]:
    """``n_events`` contacts: the core pathway, then booked contacts drawn by weight."""
    rows = pathway(rng)[:n_events]
    weights = [c[6] for c in CATALOGUE]
    while len(rows) < n_events:
        agency, kind, who, channel, lo, hi, _, failed, p_fail, words = rng.choices(
            CATALOGUE, weights
        )[0]
        outcome = failed if failed and rng.random() < p_fail else "attended"
        found = (rng.choice(words),) if words and rng.random() < FINDING_CHANCE else ()
        rows.append((rng.randint(lo, hi), agency, kind, who, channel, outcome, found, "", ""))
    return rows


def build_family(n_events: int, seed: int, today: date):
    """The family, its people and contacts (bulk inserts), a team, a health visitor and
    the allocation; evaluated once as of ``today``. Returns (family, user, baby, mum)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from cradle.access.models import Allocation, Membership, Team
    from cradle.records import models as m
    from cradle.records.evaluation import reevaluate

    rng = random.Random(seed)
    origin = today - timedelta(days=364)  # the baby's first birthday is tomorrow
    with transaction.atomic():
        people = {
            "baby": m.Person(source_key="bench/baby", sex="female", given_name="Ada",
                             family_name="Bench", born_on=origin, due_on=origin + timedelta(3)),
            "mum": m.Person(source_key="bench/mum", sex="female", given_name="Beth",
                            family_name="Bench", born_on=origin - timedelta(days=29 * 365)),
            "dad": m.Person(source_key="bench/dad", sex="male", given_name="Carl",
                            family_name="Bench", born_on=origin - timedelta(days=31 * 365)),
        }  # fmt: skip
        m.Person.objects.bulk_create(people.values())
        family = m.Family.objects.create(
            reference="bench-1", title="The Bench family", origin=origin,
            index_child=people["baby"],
        )  # fmt: skip
        roles = {"baby": "child", "mum": "mother", "dad": "father"}
        m.FamilyMember.objects.bulk_create(
            m.FamilyMember(family=family, person=p, role=roles[k], label=k)
            for k, p in people.items()
        )
        m.Identity.objects.bulk_create(
            m.Identity(person=p, agency=agency, given_name=p.given_name,
                       family_name=p.family_name, address="12 Mill Lane, Town",
                       postcode="HX1 1AB", recorded_on=origin - timedelta(days=200))
            for k, p in people.items()
            for agency in ("gp", "health_visiting", "midwifery")
            if k != "dad" or agency == "gp"
        )  # fmt: skip
        rels = [("mum", "mother_of", "baby"), ("dad", "father_of", "baby"),
                ("dad", "partner_of", "mum")]  # fmt: skip
        m.Relationship.objects.bulk_create(
            m.Relationship(person=people[a], kind=kind, other=people[b], recorded_by=agency)
            for a, kind, b in rels
            for agency in ("midwifery", "health_visiting")
        )

        rows = family_rows(rng, n_events)
        contacts = []
        for i, (day, agency, kind, _, channel, outcome, _, _, touchpoint) in enumerate(rows):
            occurred = origin + timedelta(days=day)
            lag = rng.choice((1, 1, 2, 3)) if rng.random() < 0.1 else 0
            recorded = min(today, occurred + timedelta(days=lag))
            contacts.append(
                m.Contact(source_key=f"bench/c{i}", agency=agency, kind=kind,
                          occurred_on=occurred, recorded_on=recorded, outcome=outcome,
                          channel=channel, touchpoint=touchpoint, note=rng.choice(NOTES))
            )  # fmt: skip
        m.Contact.objects.bulk_create(contacts)
        subjects, seen, delivered, findings = [], [], [], []
        for c, (_, _, _, who, channel, outcome, words, to, _) in zip(contacts, rows, strict=True):
            about = [people[p] for p in WHO[who]]
            subjects += [m.Contact.subjects.through(contact=c, person=p) for p in about]
            if outcome == "attended" and channel not in ("phone", "online", "video", ""):
                present = about
                if channel == "home_visit" and "baby" in WHO[who] and rng.random() < 0.04:
                    present = [p for p in about if p is not people["baby"]]  # baby asleep upstairs
                seen += [m.Contact.seen.through(contact=c, person=p) for p in present]
            delivered += [m.Contact.delivered_to.through(contact=c, person=people[p])
                          for p in (WHO[to] if to else ()) if p != "baby"]  # fmt: skip
            findings += [m.ContactFinding(contact=c, word=w) for w in words]
        m.Contact.subjects.through.objects.bulk_create(subjects)
        m.Contact.seen.through.objects.bulk_create(seen)
        m.Contact.delivered_to.through.objects.bulk_create(delivered)
        m.ContactFinding.objects.bulk_create(findings)

        user = get_user_model().objects.create_user("bench-hv", "hv@example.org", None)
        team = Team.objects.create(name="Health visiting (bench)", agency="health_visiting")
        Membership.objects.create(user=user, team=team, role="health_visitor")
        Allocation.objects.create(family=family, team=team, practitioner=user, since=origin)
        reevaluate(family, today)
    return family, user, people["baby"], people["mum"]


# -- the baseline view ----------------------------------------------------------------------
def bare_family_view(request, pk: int):
    """The family page's reads as plain rows, answered without a template: the family, its
    contacts (newest first) with their subjects, who was seen and findings, its live alerts."""
    from django.http import HttpResponse

    from cradle.records import models as m

    family = m.Family.objects.get(pk=pk)
    members = list(m.FamilyMember.objects.filter(family=family).values_list("person", flat=True))
    contacts = list(
        m.Contact.objects.filter(subjects__in=members).distinct().order_by("-occurred_on", "-id")
        .values_list("id", "occurred_on", "agency", "kind", "outcome", "channel", "note")
    )  # fmt: skip
    ids = [c[0] for c in contacts]
    about: dict[int, list] = {}
    for cid, pid in m.Contact.subjects.through.objects.filter(contact__in=ids).values_list(
        "contact", "person"
    ):
        about.setdefault(cid, []).append(pid)
    seen: dict[int, list] = {}
    for cid, given, surname in m.Contact.seen.through.objects.filter(contact__in=ids).values_list(
        "contact", "person__given_name", "person__family_name"
    ):
        seen.setdefault(cid, []).append(f"{given} {surname}")
    found: dict[int, list] = {}
    for cid, word in m.ContactFinding.objects.filter(contact__in=ids).values_list(
        "contact", "word"
    ):
        found.setdefault(cid, []).append(word)
    alerts = list(
        family.alerts.filter(status__in=m.Alert.LIVE).order_by("-severity", "raised_on", "pk")
        .values_list("id", "rule", "severity", "status", "action", "due_on", "evidence")
    )  # fmt: skip
    lines = [f"{a[0]} {a[1]} {a[2]} {a[3]} {a[5]} {len(a[6])}" for a in alerts]
    lines += [
        f"{c[1]} {c[2]} {c[3]} {c[4]} {c[5]} {about.get(c[0])} {seen.get(c[0], ())} "
        f"{found.get(c[0], ())} {c[6]}"
        for c in contacts
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


# -- timing ---------------------------------------------------------------------------------
class GcClock:
    """Milliseconds the cyclic garbage collector ran, from its callbacks."""

    def __init__(self) -> None:
        self.ms, self._t0 = 0.0, 0.0
        gc.callbacks.append(self._tick)

    def _tick(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.ms += (time.perf_counter() - self._t0) * 1000


GC = GcClock()


def timed(fn, n: int, warm_up: int = WARM_UP) -> tuple[list[float], float]:
    """Milliseconds for each of ``n`` calls of ``fn(i)``, after ``warm_up`` untimed calls,
    and the share of the timed total spent in the garbage collector."""
    for i in range(warm_up):
        fn(-1 - i)
    out = []
    clock = time.perf_counter
    gc_before = GC.ms
    for i in range(n):
        t0 = clock()
        fn(i)
        out.append((clock() - t0) * 1000)
    return out, (GC.ms - gc_before) / sum(out)


def p95(ms: list[float]) -> float:
    """The 95th percentile, nearest rank."""
    ordered = sorted(ms)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def queries_of(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


ROOT = str(Path(__file__).resolve().parent.parent) + os.sep


def profile(label: str, fn, n: int, top: int = 15) -> None:
    """Top functions by cumulative time (cradle's own, then all) and by own time."""
    import django

    site_packages = str(Path(django.__file__).parent.parent) + os.sep  # shortened for reading
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        fn(i)
    prof.disable()
    print(f"\n-- cProfile: {label}, {n} calls (times include the profiler's overhead) --")
    for sort, restrict in (("cumulative", "cradle/"), ("cumulative", ""), ("tottime", "")):
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out).sort_stats(sort)
        stats.print_stats(*(r for r in (restrict, top) if r))
        body = out.getvalue().replace(site_packages, "").replace(ROOT, "")
        print(f"by {sort}{', ' + restrict + ' only' if restrict else ''}:")
        print(body[body.index("   ncalls") :].rstrip() + "\n")


# -- the report -----------------------------------------------------------------------------
def configure(db_path: Path) -> None:
    """Point Django at a fresh SQLite file (never at a configured PostgreSQL) and set it up."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "cradle.site.settings"
    os.environ["CRADLE_SQLITE_PATH"] = str(db_path)
    os.environ["CRADLE_DEBUG"] = "true"
    # Alerts raised by a save are emailed (on commit): kept in memory, not printed.
    os.environ["CRADLE_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    for name in ("CRADLE_DATABASE_URL", "CRADLE_RULE_SETTINGS"):
        os.environ.pop(name, None)
    import django

    django.setup()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=500, help="contacts in the family's record")
    ap.add_argument("--repeat", type=int, default=50, help="timed requests of the family page")
    ap.add_argument("--saves", type=int, default=100, help="timed saves of a contact")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="a tiny run for CI (50 events, 5 times)")
    ap.add_argument("--profile", action="store_true", help="also profile both with cProfile")
    args = ap.parse_args(argv)
    n_events, n_pages, n_saves = args.events, args.repeat, args.saves
    if args.smoke:
        n_events, n_pages, n_saves = 50, 5, 5

    with tempfile.TemporaryDirectory(prefix="cradle-bench-web-") as tmp:
        configure(Path(tmp) / "bench.sqlite3")
        try:
            return run(args, n_events, n_pages, n_saves)
        finally:
            from django.db import connections

            connections.close_all()


def run(args, n_events: int, n_pages: int, n_saves: int) -> int:
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client, RequestFactory
    from django.urls import reverse
    from django.utils import timezone

    from cradle.records import actions
    from cradle.records import models as m

    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    t0 = time.perf_counter()
    family, user, baby, mum = build_family(n_events, args.seed, today)
    t_build = time.perf_counter() - t0
    n_contacts = m.Contact.objects.filter(subjects__in=family.members.all()).distinct().count()
    live_rules = sorted(
        family.alerts.filter(status__in=m.Alert.LIVE).values_list("rule", flat=True)
    )
    live = len(live_rules)
    n_findings = m.ContactFinding.objects.count()

    # 1. the family page, and the bare reads beside it
    url = reverse("family", args=[family.pk])
    client = Client(SERVER_NAME="localhost")  # an allowed host without changing settings
    client.force_login(user)
    # As the sign-in page leaves it: the session verified by the user's authenticator.
    from django_otp import DEVICE_ID_SESSION_KEY

    from cradle.access.twofactor import provision

    session = client.session
    session[DEVICE_ID_SESSION_KEY] = provision(user).persistent_id
    session.save()
    rf = RequestFactory(SERVER_NAME="localhost")
    page_bytes = 0

    def page(_i: int) -> None:
        nonlocal page_bytes
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        page_bytes = len(response.content)

    def bare(_i: int) -> None:
        request = rf.get(url)
        request.user = user
        assert bare_family_view(request, family.pk).status_code == 200

    page_ms, page_gc = timed(page, n_pages)
    bare_ms, bare_gc = timed(bare, n_pages)
    html = client.get(url).content.decode()
    rows = html.split("data-chronology", 1)[1].count('<tr class="nhsuk-table__row"') - 1
    assert html.count("data-chronology") == 1 and rows >= n_contacts, (rows, n_contacts)
    q_page, q_bare = queries_of(lambda: page(0)), queries_of(lambda: bare(0))

    # 2. saving a contact: record_contact (write + re-evaluate + alerts), and a bare insert
    days = iter(range(10**6))  # distinct days, newest first, cycling over the first year

    def visit_day() -> date:
        return today - timedelta(days=next(days) % 365)

    def save(_i: int) -> None:
        actions.record_contact(
            acting_user=user, family_pk=family.pk, agency="health_visiting", kind="home_visit",
            occurred_on=visit_day(), outcome="no_access", channel="home_visit",
            subjects=[baby, mum], today=today,
        )  # fmt: skip

    insert_days = iter(range(10**6))

    def insert(i: int) -> None:
        with transaction.atomic():
            c = m.Contact.objects.create(
                source_key=f"bench/insert{i}-{time.perf_counter_ns()}", agency="health_visiting",
                kind="home_visit", occurred_on=today - timedelta(days=next(insert_days) % 365),
                recorded_on=today, outcome="no_access", channel="home_visit", note="",
                touchpoint="", recorded_by_user=user,
            )  # fmt: skip
            m.Contact.subjects.through.objects.bulk_create(
                [m.Contact.subjects.through(contact=c, person=p) for p in (baby, mum)]
            )

    changes_before = m.AlertChange.objects.count()
    save_ms, save_gc = timed(save, n_saves)
    changes = m.AlertChange.objects.count() - changes_before
    rules_after = family.alerts.filter(status__in=m.Alert.LIVE).values_list("rule", flat=True)
    live_after = ", ".join(sorted(rules_after)) or "none"
    grown = m.Contact.objects.filter(subjects__in=family.members.all()).distinct().count()
    q_save = queries_of(lambda: save(0))
    insert_ms, insert_gc = timed(insert, n_saves)
    q_insert = queries_of(lambda: insert(-99))

    # the report
    db = settings.DATABASES["default"]
    engine = db["ENGINE"].rsplit(".", 1)[-1]
    cpu = platform.processor() or platform.machine()
    print(f"cradle web benchmark, {datetime.now():%Y-%m-%d %H:%M}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {cpu}, {os.cpu_count()} cpus, {platform.platform()}; load average {load}")
    print(f"python {platform.python_version()}, django {django.get_version()}, "
          f"database {engine} {sqlite3.sqlite_version} (temporary file, WAL, "
          f"{connection.vendor}), DEBUG={settings.DEBUG}")  # fmt: skip
    print(
        f"family: {n_contacts} contacts ({n_findings} findings) over pregnancy and the first "
        f"year, 3 people, {live} live alerts after one evaluation "
        f"({', '.join(live_rules) or 'none'}); built in {t_build:.2f} s"
    )
    print(f"family page: {page_bytes / 1024:.0f} KiB of HTML, {rows} chronology rows, "
          f"{q_page} queries (bare view {q_bare}); record_contact {q_save} queries "
          f"(bare insert {q_insert})\n")  # fmt: skip

    def line(label, ms, in_gc):
        return (f"{label:<58}{len(ms):>5}{statistics.median(ms):>10.1f}{p95(ms):>10.1f}"
                f"{min(ms):>9.1f}{max(ms):>9.1f}{in_gc:>8.0%}")  # fmt: skip

    def ratio(label, a, b):
        med, high = statistics.median(a) / statistics.median(b), p95(a) / p95(b)
        return f"{label:<58}{'':>5}{med:>9.1f}x{high:>9.1f}x"

    widths = ("<58", ">5", ">10", ">10", ">9", ">9", ">8")
    head = ("measure (ms, server time)", "n", "median", "p95", "min", "max", "in gc")
    print("".join(f"{h:{w}}" for h, w in zip(head, widths, strict=True)))
    print(line("family page: Client GET, logged in (full stack)", page_ms, page_gc))
    print(line("  baseline: bare view, same reads as rows, no template", bare_ms, bare_gc))
    print(ratio("  ratio page / baseline", page_ms, bare_ms))
    print(line("save: record_contact, no-access home visit *", save_ms, save_gc))
    print(line("  baseline: bare insert of the Contact + subjects (txn)", insert_ms, insert_gc))
    print(ratio("  ratio record_contact / baseline", save_ms, insert_ms))
    print("\n* record_contact includes re-evaluating the family's rules (its whole record, "
          "rebuilt from the\n  database) and updating its alerts, with an audit row, in "
          "one transaction.")  # fmt: skip
    print(
        f"  The saves made {changes} alert changes; live alerts after: {live_after}; the "
        f"family grew to {grown} contacts over the saves.\n"
    )

    page_ok, save_ok = p95(page_ms) < PAGE_TARGET_MS, p95(save_ms) < SAVE_TARGET_MS
    for what, ok, target, ms in (
        ("family page p95", page_ok, PAGE_TARGET_MS, page_ms),
        ("save-to-alerts-updated p95 (SQLite)", save_ok, SAVE_TARGET_MS, save_ms),
    ):
        verdict = "not judged (smoke run)" if args.smoke else "MET" if ok else "NOT MET"
        print(f"target {what} < {target:.0f} ms: {verdict} ({p95(ms):.1f} ms)")
    if args.smoke:
        print("(smoke run: tiny sizes, nothing asserted about time; exit status 0)")
    if args.profile:
        profile("family page (Client GET)", page, max(5, n_pages // 5))
        profile("record_contact", save, max(5, n_saves // 5))
    return 0


if __name__ == "__main__":
    sys.exit(main())
