"""Linking as records arrive (`cradle link due`, and `cradle import` when its files end):
the people a feed brings in are matched by name, birth and address to the people Cradle
holds, not only at the next whole run; what is linked as it stands is not linked again;
a change a feed makes, or one made while a run works, is linked again.

The people are invented; the family is the Calderdale case file's.
"""

import contextlib
import io

import pytest
import time_machine
from django.db.models import Q

from cradle import cli
from cradle.access.models import AuditEntry
from cradle.linkage.link import Thresholds
from cradle.links.jobs import link_due, run_linkage, store
from cradle.links.models import Candidate, IdentityLink, LinkRun
from cradle.records import models as m
from cradle.records.loading import load_case
from cradle.records.timeline import timeline_for

pytestmark = pytest.mark.django_db

PEOPLE = "source_id,role,sex,given_name,family_name,born_on,address,postcode\n"
CONTACTS = "source_id,kind,occurred_on,outcome,subjects,findings\n"


@pytest.fixture
def family(calderdale, today):
    with time_machine.travel(today, tick=False):
        return load_case(calderdale, today).family


@pytest.fixture
def dad(family):
    return m.Identity.objects.get(
        person__familymember__family=family, person__familymember__role="father"
    )


def _due() -> set[int]:
    return set(m.Identity.objects.filter(linkage_due__gt=0).values_list("pk", flat=True))


def _cradle(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(list(argv))
    return status, out.getvalue()


def _police_files(tmp_path, dad, *, address=None):
    """The father as the police hold him (no NHS number: they never had it), and a
    call-out to a domestic incident about him."""
    people = tmp_path / "police-people.csv"
    people.write_text(
        PEOPLE
        + f"p1,adult,male,{dad.given_name},{dad.family_name},{dad.person.born_on},"
        + f'"{address or dad.address}",{dad.postcode}\n'
    )
    contacts = tmp_path / "police-contacts.csv"
    contacts.write_text(CONTACTS + "i1,police_callout,2026-10-02,attended,p1,domestic_abuse\n")
    return people, contacts


def _import(today, *files, more=()):
    with time_machine.travel(today, tick=False):
        return _cradle(
            "import",
            *map(str, files),
            "--agency",
            "police",
            "--as-of",
            str(today),
            "--quiet",
            *more,
        )


def test_a_person_a_feed_brings_in_with_no_nhs_number_is_linked_when_the_file_ends(
    family, dad, tmp_path, today
):
    run_linkage()  # what Cradle held is linked as it stands
    assert not _due()
    assert not any(e.agency.value == "police" for e in timeline_for(family).events)

    status, out = _import(today, *_police_files(tmp_path, dad))

    assert status == 0, out
    police = m.Identity.objects.get(agency="police")
    link = IdentityLink.objects.get(active=True, method="splink")
    assert {link.left_id, link.right_id} == {dad.pk, police.pk}
    assert link.probability >= 0.99
    run = LinkRun.objects.order_by("pk").last()
    assert (run.new_records, run.records) == (1, m.Identity.objects.count())
    assert f"linkage run {run.pk}: 1 new or changed identities against" in out
    assert not _due()  # linked as it stands
    entry = AuditEntry.objects.filter(actor="system:linkage").last()
    assert "of 1 new or changed identities against all" in entry.what
    assert dad.family_name not in entry.what
    # What the police know about him is in the family's picture, and its alerts.
    assert any(e.agency.value == "police" for e in timeline_for(family).events)
    # Nothing new: nothing done.
    status, out = _cradle("link", "due", "--quiet")
    assert status == 0 and "no identity new or changed" in out
    assert LinkRun.objects.count() == 2


def test_with_no_link_the_people_wait_for_the_next_run_of_link_due(family, dad, tmp_path, today):
    run_linkage()
    status, out = _import(today, *_police_files(tmp_path, dad), more=("--no-link",))
    assert status == 0, out
    police = m.Identity.objects.get(agency="police")
    assert _due() == {police.pk}
    assert police.linkage_due_since is not None  # for `cradle feeds check`
    assert not IdentityLink.objects.filter(method="splink").exists()

    status, out = _cradle("link", "due", "--quiet")

    assert status == 0 and "1 new or changed identities" in out
    assert IdentityLink.objects.filter(method="splink", active=True).count() == 1
    assert not _due()


def test_a_changed_record_is_linked_again_by_the_file_and_by_the_api(
    family, dad, tmp_path, today, client
):
    run_linkage()
    people, _contacts = _police_files(tmp_path, dad)
    _import(today, people, more=("--no-link",))
    link_due()
    police = m.Identity.objects.get(agency="police")
    assert not _due()
    # The same file again changes nothing: nothing is due.
    _import(today, people, more=("--no-link",))
    assert not _due()
    # A new version of the record, in a file (the importer's writer of a batch).
    moved, _ = _police_files(tmp_path, dad, address="7 Moor End Road, Halifax")
    _import(today, moved, more=("--no-link",))
    assert _due() == {police.pk}
    assert m.Identity.objects.get(pk=police.pk).linkage_due_since is not None
    link_due()
    assert not _due()
    assert m.Identity.objects.get(pk=police.pk).linkage_due_since is None
    # And from the API (the writer of one record at a time).
    from cradle.feeds.tokens import add

    token = add("police-system", "police")[1]
    with time_machine.travel(today, tick=False):
        answer = client.post(
            "/api/people",
            {"source_id": "p1", "role": "adult", "sex": "male", "given_name": dad.given_name,
             "family_name": dad.family_name, "born_on": str(dad.person.born_on),
             "address": "3 Other Road, Halifax", "postcode": dad.postcode},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )  # fmt: skip
    assert answer.status_code == 200, answer.content
    assert _due() == {police.pk}


def test_a_change_made_while_a_run_worked_stays_due(family, dad):
    read = {i.pk: i.linkage_due for i in m.Identity.objects.all()}  # what a run read
    m.Identity.objects.filter(pk=dad.pk).update(linkage_due=read[dad.pk] + 1)  # a feed, meanwhile
    store(
        result_links=[], result_review=[], records=len(read), model_hash="m",
        thresholds=Thresholds(), backend="duckdb", due=read, new_records=len(read),
    )  # fmt: skip
    assert _due() == {dad.pk}


def test_a_second_record_of_someone_the_agency_holds_by_nhs_number_is_linked_again(
    family, tmp_path, today
):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(
        PEOPLE.replace("\n", ",nhs_number\n")
        + 'q1,adult,male,Lee,Hart,1990-01-02,"1 Hill Top, Halifax",HX1 1AA,9434765927\n'
    )
    second.write_text(
        PEOPLE.replace("\n", ",nhs_number\n")
        + 'q2,adult,male,Lee,Hart,1990-01-02,"5 Low Road, Halifax",HX1 1AB,9434765927\n'
    )
    _import(today, first)
    assert not _due()
    _import(today, second, more=("--no-link",))  # the same person, by the number, moved
    held = m.Identity.objects.get(agency="police", nhs_number="9434765927")
    assert held.address == "5 Low Road, Halifax"
    assert _due() == {held.pk}


def test_a_change_to_the_person_makes_every_agencys_identity_of_them_due(family, tmp_path, today):
    """Sex, birth and NHS number are the person's, and every identity of them is linked
    with them: the owning agency's correction makes all of its identities due."""
    header = PEOPLE.replace("\n", ",nhs_number\n")
    row = 'q1,adult,male,Lee,Hart,{born},"1 Hill Top, Halifax",HX1 1AA,9434765927\n'
    police, gp = tmp_path / "police.csv", tmp_path / "gp.csv"
    police.write_text(header + row.format(born="1990-01-02"))
    gp.write_text(header + row.format(born="1990-01-02").replace("q1,", "g1,"))
    _import(today, police, more=("--no-link",))
    with time_machine.travel(today, tick=False):
        _cradle("import", str(gp), "--agency", "gp", "--as-of", str(today), "--quiet", "--no-link")
    person = m.Person.objects.get(nhs_number="9434765927")
    both = set(person.identities.values_list("pk", flat=True))
    assert len(both) == 2
    link_due()
    assert not _due()
    police.write_text(header + row.format(born="1990-02-01"))  # the police's correction
    _import(today, police, more=("--no-link",))
    assert _due() == both


def test_an_import_uses_the_configured_thresholds(family, dad, tmp_path, today, monkeypatch):
    run_linkage()
    monkeypatch.setenv("CRADLE_LINK_THRESHOLD", "0.99999999")
    _import(today, *_police_files(tmp_path, dad))
    # Above 0.99 but under the partnership's threshold: for a person to decide.
    assert not IdentityLink.objects.filter(method="splink").exists()
    police = m.Identity.objects.get(agency="police")
    assert (
        Candidate.objects.filter(status=Candidate.PENDING)
        .filter(Q(left=police) | Q(right=police))
        .exists()
    )


def test_linking_that_fails_leaves_the_import_taken_and_the_people_due(
    family, dad, tmp_path, today, monkeypatch, capsys
):
    run_linkage()
    monkeypatch.setenv("CRADLE_REVIEW_THRESHOLD", "seven")  # a broken setting
    status, out = _import(today, *_police_files(tmp_path, dad))
    assert status == 0, out
    assert "0 quarantined" in out and m.Contact.objects.filter(agency="police").exists()
    err = capsys.readouterr().err
    assert "the files are taken, but linking the people brought in failed (ValueError)" in err
    assert "seven" not in err
    assert _due() == {m.Identity.objects.get(agency="police").pk}


def test_one_linkage_run_at_a_time(family, dad, tmp_path, today, vendor):
    """Another run under way (a cron's runs overlapping, an import's end): this one does
    nothing and says so, and what is due waits for the next."""
    from django.db import connection

    from cradle.links.jobs import LOCK, LinkageBusy

    if vendor != "postgresql":
        pytest.skip("PostgreSQL's advisory lock (SQLite takes one write transaction at a time)")
    run_linkage()
    _import(today, *_police_files(tmp_path, dad), more=("--no-link",))
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK])
        with pytest.raises(LinkageBusy):
            link_due()
        status, out = _cradle("link", "due", "--quiet")
        assert status == 0 and "another linkage run is under way" in out
        assert _due()
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK])
        assert link_due().new_links == 1
    finally:
        other.close()
