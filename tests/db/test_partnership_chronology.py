"""The multi-agency chronology (issue 8): merged across agencies and ordered, gaps and
failed contacts marked, alerts where they fired; its PDF, Word and CSV exports carry the
marking, every entry, no do-not-disclose address and no detail the reader may not see;
every export is audited."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from cradle.access.models import Allocation, AuditEntry, Membership, Team
from cradle.access.policy import sensitivities_for
from cradle.partnership.chronology import COLUMNS, MARKING, multi_agency
from cradle.records import models as m
from cradle.records.loading import load_case
from tests import pdf as pdftext
from tests.signin import sign_in

pytestmark = pytest.mark.django_db

REFUGE = ("Flat 9, Quiet Court, 4 Secret Row", "HX7 7ZZ")
POLICE_NOTE = "Marker: detail of a police call-out"


@pytest.fixture
def site(calderdale, today):
    """Calderdale as of its day 40, held by a health visiting team; the mother's address is
    a refuge's; the father has a police call-out on record; a stranger health visitor."""
    with time_machine.travel(today, tick=False):
        family = load_case(calderdale, today, today_is_day=40).family
    User = get_user_model()
    team = Team.objects.create(name="HV", agency="health_visiting")
    other = Team.objects.create(name="HV elsewhere", agency="health_visiting")
    hv = User.objects.create_user("hv", password="x" * 12)
    stranger = User.objects.create_user("stranger", password="x" * 12)
    Membership.objects.create(user=hv, team=team, role="health_visitor")
    Membership.objects.create(user=stranger, team=other, role="health_visitor")
    Allocation.objects.create(family=family, team=team, practitioner=hv, since=family.origin)
    mum = m.FamilyMember.objects.get(family=family, role="mother").person
    m.Identity.objects.update_or_create(
        person=mum, agency="midwifery",
        defaults={"address": REFUGE[0], "postcode": REFUGE[1], "recorded_on": family.origin, "do_not_disclose": True},
    )  # fmt: skip
    dad = m.FamilyMember.objects.filter(family=family, role__in=("father", "partner")).first()
    adult = dad.person if dad else mum
    police = m.Contact.objects.create(
        source_key="test/police", agency="police", kind="police_callout", outcome="attended",
        occurred_on=today - timedelta(days=5), recorded_on=today - timedelta(days=5), note=POLICE_NOTE,
    )  # fmt: skip
    police.subjects.set([adult])
    return {"family": family, "hv": hv, "stranger": stranger}


def test_the_chronology_merges_every_agency_in_date_order(site, today):
    family = site["family"]
    c = multi_agency(family, as_of=today)
    contacts = [e for e in c["entries"] if e["kind"] == "contact"]
    # Every contact about anyone in the family, once.
    expected = m.Contact.objects.filter(subjects__families=family).distinct().count()
    assert len(contacts) == expected
    assert len({e["lane"] for e in contacts}) >= 4  # merged across agencies
    dates = [e["date"] for e in c["entries"]]
    assert dates == sorted(dates)
    # Failed contacts and the unseen baby are marked apart; three failed health visits.
    assert sum(e["mark"] == "Failed contact" for e in contacts) >= 3
    # Alerts are shown on the day they were raised.
    alerts = [e for e in c["entries"] if e["kind"] == "alert"]
    live = m.Alert.objects.filter(family=family).exclude(status="withdrawn")
    assert len(alerts) == live.count() > 0
    assert {e["date"] for e in alerts} == {a.raised_on.isoformat() for a in live}
    assert all("settings" in e["done"] for e in alerts)


def test_a_gap_in_which_nobody_saw_the_baby_is_marked(site, today):
    """Calderdale: seen three days after discharge, then nobody until day 40 (the as-of day)."""
    c = multi_agency(site["family"], as_of=today)
    gaps = [e for e in c["entries"] if e["kind"] == "gap"]
    assert gaps and gaps[-1]["days"] >= 14 and gaps[-1]["seen"] == "nobody"
    # A longer threshold hides a shorter gap.
    longest = max(g["days"] for g in gaps)
    assert not [
        e
        for e in multi_agency(site["family"], as_of=today, gap_days=longest + 1)["entries"]
        if e["kind"] == "gap"
    ]


def test_the_csv_is_marked_and_holds_every_entry(site, today):
    c = multi_agency(site["family"], as_of=today)
    from cradle.partnership.exports import to_csv

    text = to_csv(c).decode()
    lines = text.splitlines()
    assert lines[0] == MARKING
    rows = list(csv.reader(io.StringIO("\n".join(lines[1:]))))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) - 1 == len(c["entries"])


def _get(client, user, url, today):
    sign_in(client, user)
    with time_machine.travel(today, tick=False):
        return client.get(url)


def test_the_word_export_is_marked_on_every_page_and_withholds_the_refuge(client, site, today):
    from docx import Document

    response = _get(
        client,
        site["hv"],
        f"/partnership/families/{site['family'].pk}/chronology/export/?format=docx",
        today,
    )
    assert response.status_code == 200
    doc = Document(io.BytesIO(response.content))
    for section in doc.sections:
        assert MARKING in section.header.paragraphs[0].text
        assert MARKING in section.footer.paragraphs[0].text
    _people, table = doc.tables
    assert [c.text for c in table.rows[0].cells] == list(COLUMNS)
    c = multi_agency(site["family"], as_of=today, allowed=sensitivities_for(site["hv"]))
    assert len(table.rows) - 1 == len(c["entries"])
    body = "\n".join(cell.text for t in doc.tables for row in t.rows for cell in row.cells)
    assert "Secret Row" not in body and "HX7 7ZZ" not in body
    assert "Address withheld" in body
    # The health visitor may not read the police detail: it is withheld, with whom to ask.
    assert POLICE_NOTE not in body and "ask the police" in body


def test_the_pdf_is_marked_on_every_page_and_holds_every_entry(client, site, today):
    response = _get(
        client,
        site["hv"],
        f"/partnership/families/{site['family'].pk}/chronology/export/?format=pdf",
        today,
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdftext.text(response.content)
    pages = text.count("page ")
    assert pages >= 1 and text.count(MARKING) >= 2 * pages  # the head and the foot of every page
    c = multi_agency(site["family"], as_of=today, allowed=sensitivities_for(site["hv"]))
    flat = " ".join(text.split())
    for e in c["entries"]:
        assert date.fromisoformat(e["date"]).strftime("%d/%m/%Y") in flat
    for e in c["entries"]:
        if e["kind"] == "contact":
            assert e["contact"] in flat
    assert "Secret Row" not in flat and "HX7 7ZZ" not in flat
    assert POLICE_NOTE not in flat
    entry = AuditEntry.objects.filter(action="export", family=site["family"]).last()
    assert entry is not None and "PDF" in entry.what and entry.user == site["hv"]


def test_the_page_and_exports_are_not_found_for_a_stranger(client, site, today):
    pk = site["family"].pk
    for suffix in (
        "chronology/",
        "chronology/export/",
        *[f"chronology/export/?format={f}" for f in ("pdf", "csv", "docx")],
    ):
        assert (
            _get(
                client, site["stranger"], f"/partnership/families/{pk}/{suffix}", today
            ).status_code
            == 404
        )
    page = _get(client, site["hv"], f"/partnership/families/{pk}/chronology/", today)
    body = page.content.decode()
    assert page.status_code == 200 and "<svg" in body and "style=" not in body.split("<svg", 1)[1]
    assert "Secret Row" not in body and POLICE_NOTE not in body
    csv_response = _get(
        client, site["hv"], f"/partnership/families/{pk}/chronology/export/?format=csv", today
    )
    assert csv_response.content.decode().splitlines()[0] == MARKING
    assert AuditEntry.objects.filter(
        action="export", family=site["family"], what__contains="CSV"
    ).exists()
