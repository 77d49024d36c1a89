"""CSV import: broken files (wrong columns, bad encodings, stray quotes, empty lines) are
never a crash, every row is taken or held with its reason and its own bytes, nothing is
half-written; the quarantine is listed, shown and corrected from the command line and
the pages, and the job is audited once."""

from __future__ import annotations

import contextlib
import io
from datetime import date

import pytest
import time_machine
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cradle.access.models import AuditEntry, Membership, Team
from cradle.feeds.csvfeed import import_stream
from cradle.feeds.jobs import import_file
from cradle.feeds.models import Message, QuarantineItem, SourceRecord
from cradle.feeds.store import keep_bytes
from cradle.records import models as m
from tests.signin import sign_in

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 26)
PEOPLE = b"source_id,role,sex,born_on,child\nb1,child,female,2026-11-01,\nm1,mother,female,1994-05-05,b1\n"
HEADER = b"source_id,kind,occurred_on,outcome,subjects,seen,findings,note\n"
GOOD = b"c1,home_visit,2026-11-20,attended,b1;m1,b1,,fine\n"


def run(data: bytes, agency="health_visiting"):
    message, _ = keep_bytes(data, source_system="file:test", agency=agency, channel="file")
    return import_stream(io.BytesIO(data), message=message, agency=agency, today=TODAY, batch=3)


def test_a_file_with_every_kind_of_damage_takes_the_good_rows_and_holds_the_rest():
    run(PEOPLE)
    rows = [
        GOOD,
        b"\n",  # an empty line
        b"c2,home_visit,2026-11-21,no_access,b1,,,\n",
        b"c3,home_visit,2026-11-21,attended,b1,,,too,many\n",  # wrong number of fields
        b'c4,home_visit,2026-11-21,attended,b1,,,"stray"quote\n',  # broken quoting
        b"c5,home_visit,2026-11-21,attended,b1,,,caf\xe9\n",  # Latin-1, not UTF-8
        b"c6,home_visit,2026-11-21,attended,b9,,,\n",  # nobody sent as b9
        b"\r\n",
        b'c7,home_visit,2026-11-22,attended,b1,,,"a note, over\ntwo lines"\n',
    ]
    result = run(HEADER + b"".join(rows))
    assert result.created == 3  # c1, c2, c7
    held = {q.locator: q for q in result.quarantined}
    assert set(held) == {"line 5", "line 6", "line 7", "line 8"}
    assert bytes(held["line 6"].content) == rows[4] and bytes(held["line 7"].content) == rows[5]
    assert "quoting" in held["line 6"].reasons[0]["problem"]
    assert "UTF-8" in held["line 7"].reasons[0]["problem"]
    assert held["line 8"].reasons[0]["field"] == "subjects"
    assert (
        m.Contact.objects.get(source_key="feed:health_visiting:c7").note
        == "a note, over\ntwo lines"
    )
    assert not m.Contact.objects.filter(subjects=None).exists()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe\x00s\x00o",  # UTF-16
        b"who,what\nx,y\n",  # none of the layouts
        b"source_id,source_id,kind\n",  # a column twice
        b"source_id,kind,occurred_on,subjects,colour\nc1,home_visit,2026-11-01,b1,red\n",  # an unknown column
    ],
)
def test_a_file_that_is_no_layout_is_held_whole_with_the_reason(data):
    result = run(data)
    assert result.created == 0 and len(result.quarantined) == 1
    assert (
        result.quarantined[0].locator == "message" and result.quarantined[0].reasons[0]["problem"]
    )
    assert not SourceRecord.objects.exists()


def held_file(tmp_path, data: bytes) -> list[str]:
    """``cradle import``'s file of these bytes: the reasons it is held whole with."""
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    job = import_file(path, agency="health_visiting", system="hv-files", today=TODAY)
    (held,) = job.result.quarantined
    assert held.locator == "message" and job.result.created == 0
    assert bytes(held.content) == data.splitlines(keepends=True)[0]  # the header, as it came
    assert all(r["field"] == "header" for r in held.reasons)
    return [r["problem"] for r in held.reasons]


@pytest.mark.parametrize(
    "data, said",
    [
        (
            b"source_id,kind,occurred_on,subjects,colour\nc1,home_visit,2026-11-01,b1,red\n",
            ["nearest is contacts", "not columns of the contacts layout: 'colour'"],
        ),
        (
            b"source_id,sex,born_on\nb1,female,2026-11-01\n",
            ["nearest is people", "the people layout's required column role is missing"],
        ),
        (
            b"source_id;role;sex\nb1;child;female\n",
            ["the header looks separated by ';', not commas: save the file as comma-separated CSV"],
        ),
        (
            b"source_id\trole\tsex\nb1\tchild\tfemale\n",
            ["the header looks separated by tabs, not commas"],
        ),
        (
            b"Source_ID,Role, sex \nb1,child,female\n",
            ["nearest is people", "write source_id, role in lower case (the header has capitals)"],
        ),
        (
            b"who,what\nx,y\n",
            ["no column is a column of any layout (people, relationships, contacts): "
             "the first line must be the header"],
        ),
        (b"\n,\nsource_id,role\nb1,child\n", ["the first line is blank: it must be the header"]),
        (b"source_id,role,,\n", ["2 columns have no name"]),
        (b"source_id,kind,Source_ID\n", ["the column source_id is named twice"]),
        (
            "source_id,role\nb1,child\n".encode("utf-16-le"),  # no byte-order mark
            ["the header has NUL characters: the file looks like UTF-16 text; save it as UTF-8"],
        ),
    ],
)  # fmt: skip
def test_a_header_that_is_no_layout_says_what_is_wrong_by_the_columns_names(tmp_path, data, said):
    reasons = held_file(tmp_path, data)
    for words in said:
        assert any(words in r for r in reasons), reasons
    assert not any(
        "none of the layouts (people, relationships, contacts): see" in r for r in reasons
    )


def test_a_file_sent_without_a_header_is_not_repeated_in_the_reasons(tmp_path):
    """Its first line is someone's record: only the layout's own names are said."""
    row = b"b1,child,female,9434765919,Ada,lovelace,2026-11-01,,1 High Street,AB1 2CD,false,\n"
    reasons = held_file(tmp_path, row)
    assert any("is the first line the header?" in r for r in reasons), reasons
    for value in ("b1", "Ada", "lovelace", "9434765919", "2026", "High", "AB1", "female"):
        assert not any(value in r for r in reasons), (value, reasons)


def test_a_file_of_only_blank_lines_has_no_header(tmp_path):
    assert held_file(tmp_path, b"\n\r\n  \n,,\n") == ["the file has no header (only blank lines)"]


def test_a_utf16_file_is_said_to_be_utf16_not_a_broken_header(tmp_path):
    data = "source_id,role\r\nb1,child\r\n".encode("utf-16")  # with its byte-order mark
    assert data.startswith(b"\xff\xfe")
    assert held_file(tmp_path, data) == [
        "the file is not UTF-8 text: it starts with a UTF-16 byte-order mark "
        "(it looks like UTF-16): save it as UTF-8 CSV"
    ]
    latin1 = b"source_id,r\xf4le\nb1,child\n"
    assert held_file(tmp_path, latin1) == [
        "the header is not valid UTF-8 text: save the file as UTF-8 CSV"
    ]


def test_a_field_over_the_limit_is_too_long_not_broken_quoting(tmp_path):
    run(PEOPLE)
    long = b"c2,home_visit,2026-11-21,attended,b1,,,%s\n" % (b"x" * 100_000)
    unclosed = b'c3,home_visit,2026-11-21,attended,b1,,,"an unclosed quote\n' + b"x\n" * 40_000
    path = tmp_path / "contacts.csv"
    path.write_bytes(HEADER + GOOD + long + unclosed)
    job = import_file(path, agency="health_visiting", system="hv-files", today=TODAY)
    held = {q.locator: q.reasons[0]["problem"] for q in job.result.quarantined}
    assert job.result.created == 1
    assert held["line 3"] == "a field is longer than the limit of 65536 characters"
    assert held["line 4"].startswith(
        "a field is longer than the limit of 65536 characters: "
        "the row's quoting is broken (a quote is never closed); a quote left open ran lines 4 to"
    )


def test_a_byte_order_mark_and_windows_line_ends_are_read():
    run(PEOPLE)
    result = run(b"\xef\xbb\xbf" + HEADER.replace(b"\n", b"\r\n") + GOOD.replace(b"\n", b"\r\n"))
    assert result.created == 1 and not result.quarantined


pieces = st.sampled_from(
    [
        GOOD,
        b"\n",
        b"\r\n",
        b'"',
        b",",
        b"c9,home_visit,2026-11-2",
        b"\xe9",
        b"\x00",
        b"b1",
        b'"x\ny"',
        b";",
        b"2026-13-40",
        b"\xef\xbb\xbf",
    ]
)


@settings(max_examples=60, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.lists(pieces | st.binary(max_size=6), max_size=25))
def test_any_damage_is_never_a_crash_and_every_row_is_accounted_for(chunks):
    run(PEOPLE)
    before = m.Contact.objects.count()
    result = run(HEADER + b"".join(chunks))
    written = [w for w in result.written if w[2] != "quarantined"]
    assert len(result.quarantined) == len([w for w in result.written if w[2] == "quarantined"])
    for held in result.quarantined:
        assert held.reasons and all(r["problem"] for r in held.reasons)
    assert m.Contact.objects.count() - before == sum(1 for w in written if w[2] == "created")
    assert not m.Contact.objects.filter(subjects=None).exists()


def test_the_import_job_is_audited_once_and_a_finished_file_is_not_read_again(tmp_path):
    people = tmp_path / "people.csv"
    people.write_bytes(PEOPLE)
    contacts = tmp_path / "contacts.csv"
    contacts.write_bytes(HEADER + GOOD + b"c2,home_visit,2026-12-01,attended,b1,,,\n")
    import_file(people, agency="health_visiting", system="hv-files", today=TODAY)
    job = import_file(contacts, agency="health_visiting", system="hv-files", today=TODAY)
    assert (job.result.created, len(job.result.quarantined)) == (1, 1)
    again = import_file(contacts, agency="health_visiting", system="hv-files", today=TODAY)
    assert again.message == job.message and again.result.created == again.result.unchanged == 0
    entries = AuditEntry.objects.filter(actor="system:hv-files").order_by("seq")
    assert [e.action for e in entries] == ["import", "import", "import"]
    assert "1 created" in entries[1].what and "1 quarantined" in entries[1].what


def cradle(*argv) -> tuple[int, str]:
    from cradle import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(list(argv))
    return status, out.getvalue()


def test_the_quarantine_from_the_command_line(tmp_path):
    (tmp_path / "people.csv").write_bytes(PEOPLE)
    bad = tmp_path / "contacts.csv"
    bad.write_bytes(HEADER + b"c1,home_visit,2026-11-20,noaccess,b1,,,\n")
    assert (
        cradle(
            "import",
            str(tmp_path / "people.csv"),
            "--agency",
            "health_visiting",
            "--as-of",
            "2026-11-26",
            "--quiet",
        )[0]
        == 0
    )
    status, out = cradle(
        "import", str(bad), "--agency", "health_visiting", "--as-of", "2026-11-26", "--quiet"
    )
    assert status == 1 and "'noaccess' is not an outcome" in out
    item = QuarantineItem.objects.get()
    assert f"#{item.pk}" in cradle("feeds", "quarantine", "list")[1]
    shown = cradle("feeds", "quarantine", "show", str(item.pk))[1]
    assert AuditEntry.objects.filter(
        actor="system:feeds", what=f"quarantine item {item.pk}"
    ).exists()
    assert "noaccess" in shown and "source_id,kind" in shown
    fixed = tmp_path / "fixed.csv"
    fixed.write_bytes(b"c1,home_visit,2026-11-20,no_access,b1,,,\n")
    status, out = cradle(
        "feeds", "quarantine", "resubmit", str(item.pk), str(fixed), "--as-of", "2026-11-26"
    )
    assert status == 0, out
    item.refresh_from_db()
    assert item.status == QuarantineItem.ACCEPTED
    assert m.Contact.objects.get(source_key="feed:health_visiting:c1").outcome == "no_access"
    assert "0 item(s)" in cradle("feeds", "quarantine", "list")[1]


def test_the_quarantine_pages_are_the_safeguarding_leads_and_a_correction_is_taken(client):
    run(PEOPLE)
    (item,) = run(HEADER + b"c1,home_visit,2026-11-20,attended,b1,,,\x00\n").quarantined
    User = get_user_model()
    team = Team.objects.create(name="Safeguarding", agency="health_visiting")
    lead = User.objects.create_user("lead-q", password="x" * 12)
    Membership.objects.create(user=lead, team=team, role="safeguarding_lead")
    hv = User.objects.create_user("hv-q", password="x" * 12)
    Membership.objects.create(user=hv, team=team, role="health_visitor")
    with time_machine.travel(TODAY, tick=False):
        sign_in(client, hv)
        assert client.get("/feeds/quarantine/").status_code == 404
        assert client.get(f"/feeds/quarantine/{item.pk}/").status_code == 404
        client.logout()
        sign_in(client, lead)
        listing = client.get("/feeds/quarantine/")
        assert listing.status_code == 200 and f"#{item.pk}" in listing.content.decode()
        page = client.get(f"/feeds/quarantine/{item.pk}/")
        assert page.status_code == 200 and "NUL" in page.content.decode()
        assert AuditEntry.objects.filter(
            actor=f"user:{lead.pk}", what=f"quarantine item {item.pk}"
        ).exists()
        done = client.post(
            f"/feeds/quarantine/{item.pk}/",
            {"corrected": "c1,home_visit,2026-11-20,attended,b1,,,\n"},
        )
        assert done.status_code == 302
    item.refresh_from_db()
    assert item.status == QuarantineItem.ACCEPTED
    assert m.Contact.objects.filter(source_key="feed:health_visiting:c1").exists()


def test_a_file_refused_whole_is_corrected_whole_and_a_fhir_file_is_sniffed(tmp_path):
    from cradle.feeds.jobs import resubmit

    (item,) = run(b"sourceid,role\nb1,child\n").quarantined
    job = resubmit(item, PEOPLE, by="system:test", today=TODAY)
    assert job.result.created == 2 and not job.result.quarantined
    bundle = tmp_path / "export.dat"  # no telling extension: the content says FHIR
    bundle.write_bytes(b'  {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
                       b'{"resourceType": "Patient", "id": "p1", "birthDate": "2026-11-01"}}]}')  # fmt: skip
    status, out = cradle(
        "import", str(bundle), "--agency", "gp", "--as-of", "2026-11-26", "--quiet"
    )
    assert status == 0 and "1 created" in out
    assert SourceRecord.objects.filter(agency="gp", source_id="Patient/p1").exists()


def test_a_files_result_keeps_the_first_held_records_and_counts_them_all(monkeypatch):
    """A file streamed batch after batch: its result's memory does not grow with the file.
    The first ``KEEP`` records held are kept to show, every one is counted, and every one is
    in the quarantine."""
    from cradle.feeds.ingest import Result

    monkeypatch.setattr(Result, "KEEP", 4)
    run(PEOPLE)
    bad = [f"x{i},home_visit,2026-11-21,attended,b9,,,\n".encode() for i in range(11)]
    result = run(HEADER + GOOD + b"".join(bad))  # batches of 3: added four times
    assert result.created == 1
    assert (len(result.quarantined), result.held) == (4, 11)
    assert [q.locator for q in result.quarantined] == ["line 3", "line 4", "line 5", "line 6"]
    assert len(result.written) == 4
    assert QuarantineItem.objects.count() == 11


def test_a_row_marked_entered_in_error_withdraws_what_was_sent_and_a_new_one_counts_for_nothing():
    run(PEOPLE)
    run(HEADER + GOOD)
    header = b"source_id,kind,occurred_on,outcome,subjects,seen,entered_in_error\n"
    result = run(
        header
        + b"c1,home_visit,2026-11-20,attended,b1;m1,b1,true\n"
        + b"c2,home_visit,2026-11-21,attended,b1,b1,yes\n"
        + b"c3,home_visit,2026-11-22,attended,b1,b1,\n"
    )
    assert (result.versioned, result.created, result.quarantined) == (1, 2, [])
    in_error = dict(
        m.Contact.objects.filter(source_key__startswith="feed:health_visiting:c").values_list(
            "source_key", "entered_in_error"
        )
    )
    assert in_error == {
        "feed:health_visiting:c1": True,
        "feed:health_visiting:c2": True,
        "feed:health_visiting:c3": False,
    }
    assert run(header + b"c1,home_visit,2026-11-20,attended,b1;m1,b1,maybe\n").quarantined


def test_a_resubmitted_file_still_refused_prints_the_first_reasons_and_counts_the_rest(tmp_path):
    run(PEOPLE)
    (whole,) = run(b"not,a,layout\n1,2,3\n").quarantined
    fixed = tmp_path / "fixed.csv"
    fixed.write_bytes(
        HEADER + b"".join(b"c%d,home_visit,2026-11-20,noaccess,b1,,,\n" % i for i in range(25))
    )
    status, out = cradle(
        "feeds", "quarantine", "resubmit", str(whole.pk), str(fixed), "--as-of", "2026-11-26"
    )
    assert status == 1 and "25 quarantined" in out
    assert out.count("'noaccess' is not an outcome") == 20 and "... and 5 more" in out


def test_a_family_whose_record_is_held_in_quarantine_says_so_until_it_is_taken(client):
    """HAZ-S01: a record an agency sent about a family, held back, is not in its record;
    the family's page says how many, from which agency and since when (never what)."""
    from cradle.access.models import Allocation
    from cradle.feeds.jobs import resubmit

    run(PEOPLE)
    run(b"source_id,role,child\nb2,child,\n")  # another family: nothing held about it
    with time_machine.travel(TODAY, tick=False):
        (item,) = run(HEADER + b"c1,home_visit,2026-11-20,noaccess,b1;m1,,,a note\n").quarantined
    family = m.Family.objects.get(index_child__source_key="feed:health_visiting:b1")
    other = m.Family.objects.get(index_child__source_key="feed:health_visiting:b2")
    assert list(item.families.all()) == [family]
    team = Team.objects.create(name="HV", agency="health_visiting")
    hv = get_user_model().objects.create_user("hv-held", password="x" * 12)
    Membership.objects.create(user=hv, team=team, role="health_visitor")
    for f in (family, other):
        Allocation.objects.create(family=f, team=team, since=TODAY)
    with time_machine.travel(TODAY, tick=False):
        sign_in(client, hv)
        body = client.get(f"/families/{family.pk}/").content.decode()
        assert 'data-prompt="held-records"' in body
        assert "Health visiting: 1 record, held since 26 Nov 2026" in body
        assert "noaccess" not in body and "a note" not in body  # the content is the lead's
        assert (
            'data-prompt="held-records"'
            not in client.get(f"/families/{other.pk}/").content.decode()
        )
    # A correction still refused, two days on: the record has been held since the first.
    with time_machine.travel(date(2026, 11, 28), tick=False):
        again = resubmit(
            item, b"c1,home_visit,2026-11-20,noacces,b1;m1,,,a note\n", by="t", today=TODAY
        )
        assert again.result.quarantined
        sign_in(client, hv)
        body = client.get(f"/families/{family.pk}/").content.decode()
        assert "Health visiting: 1 record, held since 26 Nov 2026" in body
    with time_machine.travel(TODAY, tick=False):
        resubmit(item, b"c1,home_visit,2026-11-20,no_access,b1;m1,,,a note\n", by="t", today=TODAY)
        body = client.get(f"/families/{family.pk}/").content.decode()
        assert 'data-prompt="held-records"' not in body


def test_held_records_from_a_sensitive_agency_do_not_name_it_to_those_who_may_not_see_it(
    client,
):
    """A police record about the mother, held back: the health visitor learns that
    records are held and whom to ask, not that the mother is known to the police; a
    social worker (who may see police detail) is told which service."""
    from cradle.access.models import Allocation

    run(b"source_id,role,nhs_number\nb1,child,9434765919\n")
    run(b"source_id,role,nhs_number,child\npb,child,9434765919,\npm1,mother,,pb\n", agency="police")
    with time_machine.travel(TODAY, tick=False):
        bad = b"source_id,role,sex,child\npm1,mother,unknown-sex,pb\n"
        (item,) = run(bad, agency="police").quarantined
    family = m.Family.objects.get(index_child__source_key="feed:health_visiting:b1")
    assert list(item.families.all()) == [family]
    users = {}
    for role, agency in (
        ("health_visitor", "health_visiting"),
        ("social_worker", "childrens_social_care"),
    ):
        team = Team.objects.create(name=role, agency=agency)
        users[role] = get_user_model().objects.create_user(role, password="x" * 12)
        Membership.objects.create(user=users[role], team=team, role=role)
        Allocation.objects.create(family=family, team=team, since=TODAY)
    with time_machine.travel(TODAY, tick=False):
        bodies = {}
        for role, user in users.items():
            sign_in(client, user)
            bodies[role] = client.get(f"/families/{family.pk}/").content.decode()
            client.logout()
    assert "A service whose records you may not see in detail: 1 record" in bodies["health_visitor"]
    callout = bodies["health_visitor"].split('data-prompt="held-records"')[1].split("</div>")[0]
    assert "police" not in callout.lower()
    assert "The police: 1 record" in bodies["social_worker"]


def test_a_correction_must_be_of_the_record_held_and_a_settled_item_is_not_corrected_again():
    """A correction in another record's place is refused, nothing written, the item still
    held; once taken, the item cannot be resubmitted again (it would flip back)."""
    from cradle.feeds.jobs import NotResubmitted, resubmit

    run(PEOPLE)
    (item,) = run(HEADER + b"c1,home_visit,2026-11-20,noaccess,b1,,,\n").quarantined
    messages = m.Contact.objects.count(), SourceRecord.objects.count()
    with pytest.raises(NotResubmitted, match="not of the record held"):
        resubmit(item, b"zz9,home_visit,2026-11-20,no_access,b1,,,\n", by="t", today=TODAY)
    item.refresh_from_db()
    assert item.status == QuarantineItem.HELD
    assert (m.Contact.objects.count(), SourceRecord.objects.count()) == messages
    resubmit(item, b"c1,home_visit,2026-11-20,no_access,b1,,,\n", by="t", today=TODAY)
    item.refresh_from_db()
    assert item.status == QuarantineItem.ACCEPTED
    with pytest.raises(NotResubmitted, match="is accepted"):
        resubmit(item, b"c1,home_visit,2026-11-20,nonsense,b1,,,\n", by="t", today=TODAY)
    item.refresh_from_db()
    assert item.status == QuarantineItem.ACCEPTED


def test_a_correction_arriving_after_the_item_was_settled_is_kept_and_refused():
    """Two corrections of one item at once (a double-click, two leads): the second, read
    while the first was written, is refused once the first is committed, its bytes kept and
    read for nothing; the record stays as the first made it."""
    from cradle.feeds.jobs import NotResubmitted, resubmit

    run(PEOPLE)
    (item,) = run(HEADER + b"c1,home_visit,2026-11-20,noaccess,b1,,,\n").quarantined
    on_its_way = QuarantineItem.objects.get(pk=item.pk)  # read before the first is taken
    resubmit(item, b"c1,home_visit,2026-11-20,no_access,b1,,,\n", by="t", today=TODAY)
    second = b"c1,home_visit,2026-11-20,attended,b1,,,\n"
    with pytest.raises(NotResubmitted, match="settled while this correction"):
        resubmit(on_its_way, second, by="t", today=TODAY)
    record = SourceRecord.objects.get(source_id="c1")
    assert record.version == 1 and record.contact.outcome == "no_access"
    item.refresh_from_db()
    assert item.status == QuarantineItem.ACCEPTED
    kept = Message.objects.get(channel="resubmit", size=len(second))
    assert kept.status == Message.DONE  # kept, and not left looking like an interrupted import
    refused = AuditEntry.objects.get(action="resubmit-refused")
    assert refused.what == f"quarantine item {item.pk}: accepted already; message {kept.pk} kept"
    # A whole file held (its header), dismissed while its correction was on its way: the
    # file is not read (its state is read again, unlocked: its batches commit as they go).
    from cradle.feeds.jobs import dismiss

    (whole,) = run(b"who,what\nx,y\n").quarantined
    on_its_way = QuarantineItem.objects.get(pk=whole.pk)
    dismiss([whole], note="sent twice", by="t")
    with pytest.raises(NotResubmitted, match="is dismissed"):
        resubmit(
            on_its_way, HEADER + b"c2,home_visit,2026-11-21,attended,b1,,,\n", by="t", today=TODAY
        )
    assert not SourceRecord.objects.filter(source_id="c2").exists()


def test_rows_a_broken_quote_ran_together_are_named_and_corrected_together():
    """A quote left open takes the next row with it: the reason says which lines, and the
    correction must give them all (one alone would leave the other lost)."""
    from cradle.feeds.jobs import NotResubmitted, resubmit

    run(PEOPLE)
    data = (
        HEADER
        + GOOD
        + b'c2,home_visit,2026-11-20,attended,b1,b1,,"a note\nc3,home_visit,2026-11-21,attended,b1,b1,,fine\n'
    )
    result = run(data)
    (item,) = result.quarantined
    assert "lines 3 to 4" in item.reasons[0]["problem"]
    with pytest.raises(NotResubmitted, match="ids"):
        resubmit(item, b"c2,home_visit,2026-11-20,attended,b1,b1,,a note\n", by="t", today=TODAY)
    both = (
        b"c2,home_visit,2026-11-20,attended,b1,b1,,a note\n"
        b"c3,home_visit,2026-11-21,attended,b1,b1,,fine\n"
    )
    job = resubmit(item, both, by="t", today=TODAY)
    assert job.result.created == 2 and not job.result.quarantined
    assert {"c2", "c3"} <= {
        k.rsplit(":", 1)[1] for k in m.Contact.objects.values_list("source_key", flat=True)
    }


def test_a_correction_refused_again_is_settled_with_the_item_and_items_can_be_dismissed(tmp_path):
    """What a failed correction met is held as the item's correction, and settled with it
    whichever is corrected in the end; items no one can correct are dismissed, saying
    why, from the command line (by id or message), and no longer count."""
    from cradle.feeds.jobs import resubmit

    run(PEOPLE)
    (item,) = run(HEADER + b"c1,home_visit,2026-11-20,noaccess,b1,,,\n").quarantined
    (again,) = resubmit(
        item, b"c1,home_visit,2026-11-20,still-wrong,b1,,,\n", by="t", today=TODAY
    ).result.quarantined
    assert again.corrects == item
    resubmit(item, b"c1,home_visit,2026-11-20,no_access,b1,,,\n", by="t", today=TODAY)
    again.refresh_from_db()
    assert again.status == QuarantineItem.ACCEPTED  # settled with the item it corrected
    assert "0 item(s)" in cradle("feeds", "quarantine", "list")[1]

    empty = run(b"").quarantined[0]
    bad = run(HEADER + b"c5,home_visit,2026-11-20,x,b1,,,\nc6,home_visit,2026-11-20,y,b1,,,\n")
    with pytest.raises(SystemExit):  # no reason given
        cradle("feeds", "quarantine", "dismiss", str(empty.pk))
    status, out = cradle("feeds", "quarantine", "dismiss", str(empty.pk), "--reason", "sent twice")
    assert status == 0 and "1 item(s) dismissed" in out
    status, out = cradle(
        "feeds", "quarantine", "dismiss", "--message", str(bad.quarantined[0].message_id),
        "--reason", "re-sent corrected",
    )  # fmt: skip
    assert status == 0 and "2 item(s) dismissed" in out
    empty.refresh_from_db()
    assert (empty.status, empty.note) == (QuarantineItem.DISMISSED, "sent twice")
    assert not QuarantineItem.objects.filter(status=QuarantineItem.HELD).exists()
    assert AuditEntry.objects.filter(action="dismiss").count() == 2
    assert "0 item(s)" in cradle("feeds", "quarantine", "list")[1]
    assert cradle("feeds", "quarantine", "resubmit", str(empty.pk), str(tmp_path / "nope"))[0] == 2


def test_a_lead_dismisses_an_item_on_its_page_saying_why(client):
    (item,) = run(b"").quarantined  # an empty file: nothing to correct
    team = Team.objects.create(name="Safeguarding", agency="health_visiting")
    lead = get_user_model().objects.create_user("lead-d", password="x" * 12)
    Membership.objects.create(user=lead, team=team, role="safeguarding_lead")
    with time_machine.travel(TODAY, tick=False):
        sign_in(client, lead)
        page = client.post(f"/feeds/quarantine/{item.pk}/", {"action": "dismiss", "reason": " "})
        assert page.status_code == 200 and "Say why it is dismissed" in page.content.decode()
        done = client.post(
            f"/feeds/quarantine/{item.pk}/", {"action": "dismiss", "reason": "sent twice"}
        )
        assert done.status_code == 302
        listing = client.get("/feeds/quarantine/").content.decode()
        assert f"/feeds/quarantine/{item.pk}/" not in listing and "0 items" in listing
        wrong = client.post(f"/feeds/quarantine/{item.pk}/", {"corrected": "x"})
        assert "dismissed: there is nothing to correct" in wrong.content.decode()
    item.refresh_from_db()
    assert (item.status, item.note) == (QuarantineItem.DISMISSED, "sent twice")
    assert AuditEntry.objects.filter(actor=f"user:{lead.pk}", action="dismiss").exists()


def test_import_refuses_what_it_cannot_do_and_says_what_a_file_run_again_left_held(
    tmp_path, capsys
):
    """A directory, a day after today, a batch of none: refused before anything is read.
    A Bundle tagged as another agency's is held whole, never filed as this one's. A file
    run again is not read again, and says what it left held (exit 1 while it does)."""
    (tmp_path / "people.csv").write_bytes(PEOPLE)
    people = str(tmp_path / "people.csv")
    for argv, said in (
        ([str(tmp_path)], "not a file"),
        ([people, "--as-of", "2099-01-01"], "after today"),
        ([people, "--batch", "0"], "--batch must be 1 or more"),
    ):
        assert cradle("import", *argv, "--agency", "health_visiting", "--quiet")[0] == 2
        assert said in capsys.readouterr().err
    assert not SourceRecord.objects.exists()

    tagged = tmp_path / "bundle.json"
    tagged.write_text(
        '{"resourceType": "Bundle", "type": "collection", "entry": [], "meta": {"tag": '
        '[{"system": "urn:cradle:agency", "code": "police"}]}}'
    )
    status, out = cradle("import", str(tagged), "--agency", "ed", "--quiet")
    assert status == 1 and "says it is from police, not ed" in out

    bad = tmp_path / "contacts.csv"
    bad.write_bytes(HEADER + b"c1,home_visit,2026-11-20,noaccess,b1,,,\n")
    args = ("--agency", "health_visiting", "--as-of", "2026-11-26", "--quiet")
    assert cradle("import", people, *args)[0] == 0
    assert cradle("import", str(bad), *args)[0] == 1
    status, out = cradle("import", str(bad), *args)
    assert status == 1 and "already imported" in out and "1 record(s) from it still held" in out
    assert "'noaccess' is not an outcome" in out
    status, out = cradle("import", people, *args)
    assert status == 0 and "already imported" in out and "still held" not in out


def test_a_fhir_file_shows_its_progress_resource_by_resource(tmp_path, capsys):
    bundle = tmp_path / "bundle.json"
    patient = {"resourceType": "Patient", "birthDate": "2026-11-01", "gender": "female"}
    entries = [{"resource": {**patient, "id": f"p{n}"}} for n in range(3)]
    bundle.write_text(
        f'{{"resourceType": "Bundle", "type": "collection", "entry": {entries}}}'.replace("'", '"')
    )
    status, out = cradle("import", str(bundle), "--agency", "health_visiting", "--no-link")
    assert status == 0 and "3 created" in out
    err = capsys.readouterr().err
    assert "3/3" in err and "resources" in err and "writing and evaluating" in err


def test_a_held_rows_id_is_read_as_the_row_is_even_with_line_breaks_in_a_note():
    from cradle.feeds.jobs import held_record_ids

    run(PEOPLE)
    (item,) = run(HEADER + b'c1,home_visit,2026-11-20,x,b1,,,"mother tired\nsaid so"\n').quarantined
    assert held_record_ids(item) == {"c1"}


def test_the_same_corrected_file_sent_again_is_read_again_from_its_first_row(tmp_path):
    """A file refused whole, corrected: its rows name people not yet sent, held. The people
    sent, the same corrected file again is read from its first row (not skipped as done)."""
    from cradle.feeds.jobs import resubmit

    (root,) = run(b"sauce_id,kind\nc1,home_visit\n").quarantined
    fixed = HEADER + GOOD
    first = resubmit(root, fixed, by="t", today=TODAY)
    assert first.result.held == 1 and first.result.created == 0
    run(PEOPLE)
    second = resubmit(root, fixed, by="t", today=TODAY)
    assert second.result.created == 1 and not second.result.quarantined
    root.refresh_from_db()
    assert root.status == QuarantineItem.ACCEPTED
