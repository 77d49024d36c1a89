"""Loading a synthetic population file into the database: complete, idempotent, audited."""

import pytest

from cradle.access.models import AuditEntry
from cradle.records import models as m
from cradle.records.population import load_population, reference
from cradle.records.timeline import timeline_for
from cradle.rules import evaluate
from cradle.synth.parquet import read_families, write_population
from cradle.synth.rates import load_rates
from cradle.synth.timeline import to_timeline

pytestmark = pytest.mark.django_db

SEED = 5


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    # Harm oversampled so the small file holds a harm trajectory too.
    rates = load_rates().with_values(harm_trajectory=0.2)
    path = tmp_path_factory.mktemp("population") / "pop.parquet"
    return write_population(path, 24, SEED, rates=rates, row_group=10)


def _counts():
    return tuple(
        model.objects.count()
        for model in (
            m.Family,
            m.Person,
            m.FamilyMember,
            m.Identity,
            m.Relationship,
            m.Contact,
            m.ContactFinding,
        )
    )


def _rules(findings, labels=None):
    """What fired, with the database's person ids (p<pk>) written as the file's labels."""
    labels = labels or {}

    def scope(text):
        head, _, who = text.rpartition(":")
        return f"{head}:{labels.get(who, who)}" if head else labels.get(text, text)

    return sorted(
        (f.rule, f.step or 0, f.severity.value, scope(f.scope), labels.get(f.child, f.child))
        for f in findings
    )


def test_every_family_person_and_contact_is_loaded(population):
    fams = list(read_families(population))
    report = load_population(population, batch=7)
    assert (report.families, report.created, report.unchanged) == (24, 24, 0)
    assert m.Family.objects.count() == 24
    assert m.Person.objects.count() == sum(len(f["people"]) for f in fams)
    assert m.Contact.objects.count() == report.contacts == sum(len(f["events"]) for f in fams)
    family = m.Family.objects.get(reference=reference(SEED, fams[0]["family"]))
    assert family.origin == fams[0]["origin"]
    assert family.index_child.born_on == fams[0]["origin"]


def test_the_loaded_families_evaluate_as_the_file_does(population):
    load_population(population)
    for fam in list(read_families(population))[:8]:
        family = m.Family.objects.get(reference=reference(SEED, fam["family"]))
        labels = {
            f"p{pk}": label
            for pk, label in family.familymember_set.values_list("person_id", "label")
        }
        tl = timeline_for(family)
        direct = to_timeline(fam)
        for day in (-60, 10, 45, 120, 300):
            assert _rules(evaluate(tl, day), labels) == _rules(evaluate(direct, day)), (
                fam["family"],
                day,
            )


def test_loading_again_changes_nothing_and_each_job_is_one_audit_entry(population):
    load_population(population, batch=5, limit=10)
    assert m.Family.objects.count() == 10
    load_population(population, batch=5)  # the other 14 are added, the first 10 skipped
    counts = _counts()
    again = load_population(population, batch=9)
    assert (again.created, again.unchanged, again.contacts) == (0, 24, 0)
    assert _counts() == counts
    entries = list(AuditEntry.objects.filter(actor="system:load-population").order_by("seq"))
    assert len(entries) == 3
    assert "0 families loaded, 24 already there" in entries[-1].what


def test_the_command_loads_a_file(population, capsys):
    from cradle.cli import main

    assert main(["load-population", str(population), "--quiet"]) == 0
    assert "24 loaded" in capsys.readouterr().out
    assert m.Family.objects.filter(reference__startswith=f"synth-{SEED}-").count() == 24


def test_alerts_can_be_raised_as_the_families_load(population):
    from datetime import date

    load_population(population, limit=6, evaluate_as_of=date(2025, 12, 31))
    assert m.Family.objects.count() == 6
    alerts = m.Alert.objects.all()
    assert alerts.exists()
    assert {a.raised_on for a in alerts} == {date(2025, 12, 31)}


def test_loading_as_known_on_a_day_leaves_out_what_was_recorded_later(population):
    """The demo loads a population as recorded by today: no contact recorded after the day,
    and no family not yet booked by then."""
    from datetime import timedelta

    families = list(read_families(population))
    day = sorted(f["origin"] + timedelta(days=f["booking_day"]) for f in families)[
        len(families) // 2
    ]
    booked = [f for f in families if f["origin"] + timedelta(days=f["booking_day"]) <= day]
    expected = sum(
        1 for f in booked for e in f["events"] if f["origin"] + timedelta(days=e[1]) <= day
    )
    assert 0 < len(booked) < len(families) and expected > 0
    load_population(population, known_on=day)
    assert m.Family.objects.count() == len(booked)
    assert m.Contact.objects.count() == expected
    assert not m.Contact.objects.filter(recorded_on__gt=day).exists()
