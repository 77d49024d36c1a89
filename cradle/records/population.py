"""Loading a synthetic population file (``cradle synth``) into the database.

Idempotent and batched: each batch of families is one transaction, and a family
whose reference is already in the database is skipped whole (its rows are always
written together with it, so its presence means it is complete). Rows are written
with ``bulk_create``, a few statements per batch rather than per contact. The job is
audited as one entry by a system actor, as ``cradle sweep`` is.

Alerts are not raised here: the families keep their own dates, and the next
``cradle sweep`` (or ``evaluate_as_of``) evaluates them as of its day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.db import transaction

from cradle.access import audit
from cradle.records import models as m
from cradle.records.evaluation import reevaluate
from cradle.records.nhs_number import is_valid_nhs_number


@dataclass
class PopulationReport:
    families: int = 0
    created: int = 0
    unchanged: int = 0
    contacts: int = 0


def reference(seed: int, family: str) -> str:
    return f"synth-{seed}-{family}"


def load_population(
    path: str | Path,
    *,
    batch: int = 200,
    limit: int | None = None,
    progress: bool = False,
    evaluate_as_of: date | None = None,
    known_on: date | None = None,
) -> PopulationReport:
    from tqdm import tqdm

    from cradle.synth.parquet import metadata, read_families

    path = Path(path)
    meta = metadata(path)
    seed = meta["seed"]
    total = meta["families"] if limit is None else min(limit, meta["families"])
    report = PopulationReport()
    bar = tqdm(total=total, unit="family", desc="load", disable=not progress, mininterval=1.0)
    pending: list[dict] = []
    for fam in read_families(path):
        if report.families >= total:
            break
        report.families += 1
        pending.append(fam)
        if len(pending) >= batch:
            _load_batch(pending, seed, report, evaluate_as_of, known_on)
            bar.update(len(pending))
            pending = []
    if pending:
        _load_batch(pending, seed, report, evaluate_as_of, known_on)
        bar.update(len(pending))
    bar.close()
    audit.record(
        actor="system:load-population",
        action="load",
        what=(
            f"population {path.name} (seed {seed}): {report.created} families loaded, "
            f"{report.unchanged} already there, {report.contacts} contacts"
        ),
    )
    return report


def _known_by(f: dict, day: date) -> dict:
    limit = (day - f["origin"]).days
    return {**f, "events": [e for e in f["events"] if e[1] <= limit]}


def _pks(model, keys: list[str], chunk: int = 2000) -> dict[str, int]:
    """The primary keys of rows by source key (in chunks: databases limit a query's parameters)."""
    out: dict[str, int] = {}
    for i in range(0, len(keys), chunk):
        out.update(
            model.objects.filter(source_key__in=keys[i : i + chunk]).values_list("source_key", "pk")
        )
    return out


def _load_batch(
    fams: list[dict],
    seed: int,
    report: PopulationReport,
    evaluate_as_of: date | None,
    known_on: date | None = None,
) -> None:
    if known_on is not None:
        # Only what had been recorded by that day (the demo's "today"): families not yet
        # booked are left out, and each family's later contacts with them.
        fams = [
            _known_by(f, known_on)
            for f in fams
            if f["origin"] + timedelta(days=f["booking_day"]) <= known_on
        ]
    with transaction.atomic():
        refs = {reference(seed, f["family"]): f for f in fams}
        existing = set(
            m.Family.objects.filter(reference__in=refs).values_list("reference", flat=True)
        )
        new = [(ref, f) for ref, f in refs.items() if ref not in existing]
        report.unchanged += len(existing)
        if not new:
            return

        def on(origin: date, day: int | None) -> date | None:
            return None if day is None else origin + timedelta(days=day)

        # People.
        person_rows = []
        for ref, f in new:
            origin = f["origin"]
            for pid, _role, sex, born, due, given, family, nhs, _addr, _pc, _known in f["people"]:
                person_rows.append(
                    m.Person(
                        source_key=f"{ref}/{pid}",
                        sex=sex,
                        nhs_number=nhs if nhs and is_valid_nhs_number(nhs) else "",
                        given_name=given or "",
                        family_name=family or "",
                        born_on=on(origin, born),
                        due_on=on(origin, due),
                    )
                )
        m.Person.objects.bulk_create(person_rows)
        pk = dict(
            m.Person.objects.filter(source_key__in=[p.source_key for p in person_rows]).values_list(
                "source_key", "pk"
            )
        )

        # Families, members, the agencies' identities.
        families = m.Family.objects.bulk_create(
            [
                m.Family(
                    reference=ref,
                    title=f"Synthetic family {f['family']}",
                    origin=f["origin"],
                    index_child_id=pk[f"{ref}/{f['index_child']}"],
                )
                for ref, f in new
            ]
        )
        fam_pk = dict(
            m.Family.objects.filter(reference__in=[r for r, _ in new]).values_list(
                "reference", "pk"
            )
        )
        members, identities, relationships = [], [], []
        for ref, f in new:
            origin = f["origin"]
            first = on(origin, f["booking_day"])
            for pid, role, _sex, _born, _due, given, family, nhs, address, postcode, known in f[
                "people"
            ]:
                person = pk[f"{ref}/{pid}"]
                members.append(
                    m.FamilyMember(family_id=fam_pk[ref], person_id=person, role=role, label=pid)
                )
                for agency in sorted(set(known)):
                    identities.append(
                        m.Identity(
                            person_id=person,
                            agency=agency,
                            given_name=given or "",
                            family_name=family or "",
                            nhs_number=nhs or "",
                            address=address or "",
                            postcode=postcode or "",
                            recorded_on=first,
                        )
                    )
            for who, kind, other, recorded_by, from_day in f["relationships"]:
                for agency in sorted(set(recorded_by)):
                    relationships.append(
                        m.Relationship(
                            person_id=pk[f"{ref}/{who}"],
                            kind=kind,
                            other_id=pk[f"{ref}/{other}"],
                            recorded_by=agency,
                            from_on=on(origin, from_day),
                        )
                    )
        m.FamilyMember.objects.bulk_create(members)
        m.Identity.objects.bulk_create(identities)
        m.Relationship.objects.bulk_create(relationships)

        # Contacts, who they were about and saw, their findings.
        contacts, links = [], []
        for ref, f in new:
            origin = f["origin"]
            for i, (
                day,
                rday,
                agency,
                kind,
                subjects,
                outcome,
                channel,
                seen,
                words,
                to,
                delivered,
                tp,
            ) in enumerate(f["events"]):
                key = f"{ref}/e{i}"
                contacts.append(
                    m.Contact(
                        source_key=key,
                        agency=agency,
                        kind=kind,
                        occurred_on=on(origin, day),
                        recorded_on=on(origin, rday),
                        outcome=outcome or "",
                        channel=channel or "",
                        to_agency=to or "",
                        touchpoint=tp or "",
                    )
                )
                links.append((key, ref, subjects, seen, delivered, words))
        m.Contact.objects.bulk_create(contacts, batch_size=2000)
        contact_pk = dict(
            m.Contact.objects.filter(source_key__in=[c.source_key for c in contacts]).values_list(
                "source_key", "pk"
            )
        )
        subj, seen_rows, deliv, findings = [], [], [], []
        S, SEEN, D = (
            m.Contact.subjects.through,
            m.Contact.seen.through,
            m.Contact.delivered_to.through,
        )
        for key, ref, subjects, seen, delivered, words in links:
            c = contact_pk[key]
            subj += [S(contact_id=c, person_id=pk[f"{ref}/{p}"]) for p in dict.fromkeys(subjects)]
            seen_rows += [
                SEEN(contact_id=c, person_id=pk[f"{ref}/{p}"]) for p in dict.fromkeys(seen)
            ]
            deliv += [D(contact_id=c, person_id=pk[f"{ref}/{p}"]) for p in dict.fromkeys(delivered)]
            findings += [m.ContactFinding(contact_id=c, word=w) for w in dict.fromkeys(words)]
        for model, rows in ((S, subj), (SEEN, seen_rows), (D, deliv), (m.ContactFinding, findings)):
            model.objects.bulk_create(rows, batch_size=5000)

        report.created += len(new)
        report.contacts += len(contacts)
        if evaluate_as_of is not None:
            for family in m.Family.objects.filter(
                pk__in=[f.pk or fam_pk[f.reference] for f in families]
            ):
                reevaluate(family, evaluate_as_of, notify=False)
