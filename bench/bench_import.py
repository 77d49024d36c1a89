"""Agency feed imports: a streamed CSV import and FHIR Bundles, beside a raw insert.

    .venv/bin/python bench/bench_import.py [--families N] [--contacts N] [--batch N] [--smoke]

In a temporary SQLite file: ``--families`` families (a baby and a mother) sent as a
people CSV, then ``--contacts`` contacts per family as a contacts CSV (home visits,
clinic contacts, GP appointments, some failed, a few findings), imported with
``cradle.feeds.jobs.import_file``: raw bytes kept in parts, every row checked, written
idempotently with its version, every family touched re-evaluated once per batch, one
audit entry. Baseline: the same contact rows and their subjects written with
``bulk_create`` in batches of the same size (no checks, versions or evaluation).
A second floor: the rows an import writes for each contact, as plain ``executemany``
statements (``plain_insert``). Then FHIR: ``--families`` more families in Bundles of 50
(Patient, RelatedPerson, Encounter, Observation) through ``read_fhir``, after one Bundle
of other families that a server's process reads first (fhir.resources builds its
validators on first use), timed apart. Peak memory is the process's maximum resident set size after
each phase (it never falls, so a phase's figure is the peak so far).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

AS_OF = date(2026, 11, 26)
KINDS = (
    ("home_visit", "home_visit", "attended"),
    ("home_visit", "home_visit", "no_access"),
    ("clinic_contact", "clinic", "attended"),
    ("gp_appointment", "clinic", "attended"),
    ("gp_appointment", "clinic", "was_not_brought"),
)


def _nhs(seed: int) -> str:
    while True:
        body = f"999{seed:06d}"
        total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            return body + str(check)
        seed += 1


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_files(folder: Path, families: int, contacts: int) -> tuple[Path, Path, int]:
    people = folder / "people.csv"
    with open(people, "w", encoding="utf-8") as f:
        f.write("source_id,role,sex,nhs_number,given_name,family_name,born_on,child\n")
        for i in range(families):
            born = AS_OF - timedelta(days=30 + i % 300)
            f.write(f"b{i},child,female,{_nhs(i * 3)},Baby,Benchfam{i},{born},\n")
            f.write(f"m{i},mother,female,,Mum,Benchfam{i},1994-01-01,b{i}\n")
    rows = 0
    path = folder / "contacts.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("source_id,kind,occurred_on,outcome,channel,subjects,seen,findings\n")
        # Day by day, every family on each day: a realistic feed's order (a batch touches
        # many families, each once).
        for j in range(contacts):
            day = AS_OF - timedelta(days=contacts - j)
            for i in range(families):
                kind, channel, outcome = KINDS[(i + j) % len(KINDS)]
                seen = f"b{i};m{i}" if outcome == "attended" else ""
                finding = "persistent_crying" if (i + j) % 23 == 0 else ""
                f.write(f"c{i}-{j},{kind},{day},{outcome},{channel},b{i};m{i},{seen},{finding}\n")
                rows += 1
    return people, path, rows


def raw_insert(path: Path, batch: int) -> float:
    """The baseline: the same contacts and subjects, bulk inserted, nothing else."""
    import csv

    from django.db import transaction

    from cradle.records import models as m

    people = dict(m.Person.objects.values_list("source_key", "pk"))
    started = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        pending = []

        def flush(rows):
            with transaction.atomic():
                made = m.Contact.objects.bulk_create(
                    [
                        m.Contact(
                            source_key=f"raw:{r['source_id']}",
                            agency="health_visiting",
                            kind=r["kind"],
                            occurred_on=r["occurred_on"],
                            recorded_on=AS_OF,
                            outcome=r["outcome"],
                            channel=r["channel"],
                        )
                        for r in rows
                    ]
                )
                through = m.Contact.subjects.through
                through.objects.bulk_create(
                    [
                        through(contact_id=c.pk, person_id=people[f"feed:health_visiting:{s}"])
                        for c, r in zip(made, rows, strict=True)
                        for s in r["subjects"].split(";")
                    ]
                )

        for row in reader:
            pending.append(row)
            if len(pending) >= batch:
                flush(pending)
                pending = []
        if pending:
            flush(pending)
    return time.perf_counter() - started


def plain_insert(path: Path, batch: int) -> float:
    """The floor: the rows an import writes for each new contact (the contact, its subjects
    and the people seen, its source record and first version), as plain ``executemany``
    statements in transactions of ``batch`` rows, with nothing checked, looked up twice or
    evaluated: what the database itself costs."""
    import csv
    import hashlib

    from django.db import connection, transaction
    from django.utils import timezone

    from cradle.records import models as m

    people = dict(m.Person.objects.values_list("source_key", "pk"))
    q = connection.ops.quote_name
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    subjects, seen = (
        m.Contact.subjects.through._meta.db_table,
        m.Contact.seen.through._meta.db_table,
    )
    with connection.cursor() as cursor:  # the keys from here on are this run's
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {q('records_contact')}")
        last = [cursor.fetchone()[0]]
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {q('feeds_sourcerecord')}")
        last.append(cursor.fetchone()[0])
    started = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        while True:
            rows = [row for _n, row in zip(range(batch), reader, strict=False)]
            if not rows:
                break
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {q('records_contact')} (source_key, agency, kind, occurred_on, recorded_on, "
                    "outcome, channel, to_agency, touchpoint, note, entered_in_error, created_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, '', '', '', %s, %s)",
                    [
                        (f"plain:{r['source_id']}", "health_visiting", r["kind"], r["occurred_on"], str(AS_OF),
                         r["outcome"], r["channel"], False, now)
                        for r in rows
                    ],
                )  # fmt: skip
                cursor.execute(
                    f"SELECT source_key, id FROM {q('records_contact')} WHERE id > %s", [last[0]]
                )
                pk = dict(cursor.fetchall())
                last[0] = max(pk.values())
                for table, column in ((subjects, "subjects"), (seen, "seen")):
                    cursor.executemany(
                        f"INSERT INTO {q(table)} (contact_id, person_id) VALUES (%s, %s)",
                        [
                            (pk[f"plain:{r['source_id']}"], people[f"feed:health_visiting:{s}"])
                            for r in rows
                            for s in r[column].split(";")
                            if s
                        ],
                    )
                content = [json.dumps(r, sort_keys=True) for r in rows]
                cursor.executemany(
                    f"INSERT INTO {q('feeds_sourcerecord')} (agency, kind, source_id, content_hash, version, contact_id) "
                    "VALUES ('plain', 'contact', %s, %s, 1, %s)",
                    [
                        (
                            r["source_id"],
                            hashlib.sha256(c.encode()).hexdigest(),
                            pk[f"plain:{r['source_id']}"],
                        )
                        for r, c in zip(rows, content, strict=True)
                    ],
                )
                cursor.execute(
                    f"SELECT source_id, id FROM {q('feeds_sourcerecord')} WHERE agency = 'plain' AND id > %s",
                    [last[1]],
                )
                record = dict(cursor.fetchall())
                last[1] = max(record.values())
                cursor.executemany(
                    f"INSERT INTO {q('feeds_sourceversion')} (record_id, version, content, content_hash, received_at) "
                    "VALUES (%s, 1, %s, %s, %s)",
                    [
                        (record[r["source_id"]], c, hashlib.sha256(c.encode()).hexdigest(), now)
                        for r, c in zip(rows, content, strict=True)
                    ],
                )
    return time.perf_counter() - started


def fhir_bundles(
    families: int, per_bundle: int = 50, seed: int = 900_000, prefix: str = "f"
) -> list[bytes]:
    nhs = "https://fhir.nhs.uk/Id/nhs-number"
    out = []
    for start in range(0, families, per_bundle):
        entries = []
        for i in range(start, min(start + per_bundle, families)):
            entries += [
                {"resourceType": "Patient", "id": f"{prefix}b{i}", "birthDate": str(AS_OF - timedelta(days=40)), "gender": "male",
                 "identifier": [{"system": nhs, "value": _nhs(seed + i * 3)}]},
                {"resourceType": "RelatedPerson", "id": f"{prefix}m{i}", "patient": {"reference": f"Patient/{prefix}b{i}"},
                 "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "MTH"}]}]},
                {"resourceType": "Encounter", "id": f"{prefix}e{i}", "status": "finished",
                 "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HH"},
                 "subject": {"reference": f"Patient/{prefix}b{i}"}, "period": {"start": str(AS_OF - timedelta(days=2))}},
                {"resourceType": "Observation", "id": f"{prefix}o{i}", "status": "final", "subject": {"reference": f"Patient/{prefix}b{i}"},
                 "encounter": {"reference": f"Encounter/{prefix}e{i}"},
                 "code": {"coding": [{"system": "http://snomed.info/sct", "code": "422400008"}]}},
            ]  # fmt: skip
        out.append(
            json.dumps(
                {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": r} for r in entries],
                }
            ).encode()
        )
    return out


def fhir_encounter_bundles(families: int, per_bundle: int = 200, prefix: str = "f") -> list[bytes]:
    """Bundles of Encounters about families already sent (``fhir_bundles``), one each,
    home visits that found nobody in or saw the baby: every resource a contact, every
    one touching a family to re-evaluate."""
    out = []
    for start in range(0, families, per_bundle):
        entries = []
        for i in range(start, min(start + per_bundle, families)):
            code = ("HH", "finished") if i % 3 else ("HH", "cancelled")
            entries.append(
                {"resourceType": "Encounter", "id": f"{prefix}v{i}", "status": code[1],
                 "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code[0]},
                 "subject": {"reference": f"Patient/{prefix}b{i}"}, "period": {"start": str(AS_OF - timedelta(days=1))}}
            )  # fmt: skip
        out.append(
            json.dumps(
                {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": r} for r in entries],
                }
            ).encode()
        )
    return out


def send_bundles(bundles: list[bytes]) -> tuple[float, float]:
    """Each Bundle kept and read as the API's ``POST /api/fhir/Bundle`` does (its families
    queued), then the queue evaluated as the server's background evaluator does: the
    seconds to the last answer, and the seconds after it until every family is evaluated."""
    from cradle.feeds.jobs import read_fhir
    from cradle.feeds.store import keep_bytes
    from cradle.records.evaluation import evaluate_due

    started = time.perf_counter()
    for data in bundles:
        message, _ = keep_bytes(
            data, source_system="bench", agency="health_visiting", channel="api"
        )
        result = read_fhir(message, data, agency="health_visiting", today=AS_OF, queue=True)
        assert not result.quarantined, [q.reasons for q in result.quarantined]
    answered = time.perf_counter()
    evaluate_due(AS_OF)
    return answered - started, time.perf_counter() - answered


def _fhir_line(what: str, resources: int, bundles: int, answered: float, evaluated: float) -> str:
    took = answered + evaluated
    return (
        f"FHIR: {resources} {what} in {bundles} Bundles in {took:.2f} s ({resources / took:,.0f} "
        f"resources/s, evaluated; the answers {answered:.2f} s, {resources / answered:,.0f}/s, "
        f"then the families queued evaluated {evaluated:.2f} s)  peak RSS {_rss_mib():.0f} MiB"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=20, help="contacts per family")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true", help="a tiny run that judges nothing")
    args = parser.parse_args(argv)
    if args.smoke:
        args.families, args.contacts, args.batch = 20, 5, 40
    folder = Path(tempfile.mkdtemp(prefix="cradle-bench-import-"))
    os.environ.update(
        CRADLE_SQLITE_PATH=str(folder / "bench.sqlite3"),
        CRADLE_SECRET_KEY="bench-only-not-secret",  # not DEBUG: Django would keep every query
        CRADLE_AUDIT_ANCHOR=str(folder / "anchor.json"),
    )
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from cradle.cli import _django

    _django()
    from django.core.management import call_command

    from cradle.feeds.jobs import import_file, read_fhir
    from cradle.feeds.store import keep_bytes

    call_command("migrate", verbosity=0)
    people, contacts, rows = write_files(folder, args.families, args.contacts)
    size = contacts.stat().st_size
    print(
        f"bench_import: {args.families} families, {rows} contacts ({size / 1e6:.1f} MB), batch {args.batch}"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite"
    )
    t = time.perf_counter()
    import_file(people, agency="health_visiting", system="bench", today=AS_OF, batch=args.batch)
    people_s = time.perf_counter() - t
    print(
        f"people:   {2 * args.families} rows in {people_s:.2f} s ({2 * args.families / people_s:,.0f} rows/s)  peak RSS {_rss_mib():.0f} MiB"
    )
    import cradle.feeds.csvfeed as csvfeed

    evaluating = []
    queued_evaluation = csvfeed.evaluate_queued

    def timed_evaluation(*a, **k):  # the import's last phase, timed apart
        started = time.perf_counter()
        try:
            return queued_evaluation(*a, **k)
        finally:
            evaluating.append(time.perf_counter() - started)

    csvfeed.evaluate_queued = timed_evaluation
    t = time.perf_counter()
    job = import_file(
        contacts, agency="health_visiting", system="bench", today=AS_OF, batch=args.batch
    )
    took = time.perf_counter() - t
    csvfeed.evaluate_queued = queued_evaluation
    assert job.result.created == rows and not job.result.quarantined, job.summary()
    print(
        f"contacts: {rows} rows in {took:.2f} s ({rows / took:,.0f} rows/s)  peak RSS {_rss_mib():.0f} MiB"
        f"\n          of which writing {took - sum(evaluating):.2f} s, evaluating the "
        f"{len(job.result.families)} families touched {sum(evaluating):.2f} s"
    )
    t = time.perf_counter()
    again = import_file(
        contacts, agency="health_visiting", system="bench", today=AS_OF, batch=args.batch
    )
    print(f"the same file again: {time.perf_counter() - t:.2f} s, {again.result.created} created")
    base = raw_insert(contacts, args.batch)
    print(
        f"baseline, raw bulk insert of the same contacts: {base:.2f} s ({rows / base:,.0f} rows/s)  peak RSS {_rss_mib():.0f} MiB"
    )
    floor = plain_insert(contacts, args.batch)
    print(
        f"floor, plain executemany of an import's rows: {floor:.2f} s ({rows / floor:,.0f} rows/s; "
        f"the import {took / floor:.1f}x, its writing {(took - sum(evaluating)) / floor:.1f}x)"
    )
    bundles = fhir_bundles(max(args.families, 10))
    resources = sum(len(json.loads(b)["entry"]) for b in bundles)
    # As a server's worker (cradle/site/wsgi.py) and `cradle import` of a FHIR file do as
    # they start: the FHIR models loaded, then what the process keeps frozen (settle).
    from cradle.domain.collector import settle
    from cradle.feeds.fhir import load_models

    load_models()
    settle()
    # The process's first Bundle still loads the bank holidays and builds validators:
    # timed apart, on a Bundle of other families (steady state below).
    warm = fhir_bundles(50, seed=700_000, prefix="w")[0]
    t = time.perf_counter()
    message, _ = keep_bytes(warm, source_system="bench", agency="health_visiting", channel="api")
    read_fhir(message, warm, agency="health_visiting", today=AS_OF)
    print(f"FHIR: the process's first Bundle (200 resources) {time.perf_counter() - t:.2f} s")
    print(_fhir_line("resources", resources, len(bundles), *send_bundles(bundles)))
    visits = fhir_encounter_bundles(max(args.families, 10))
    count = sum(len(json.loads(b)["entry"]) for b in visits)
    print(_fhir_line("Encounters about those families,", count, len(visits), *send_bundles(visits)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
