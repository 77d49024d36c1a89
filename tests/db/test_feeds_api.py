"""The API for agency systems: tokens made, shown once and revoked; every call audited once;
raw bytes kept before anything reads them; idempotent and versioned submissions; size
limit; a child's alerts out as valid FHIR Flags, written for the agency's role class and
never with an address."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date, timedelta

import pytest
import time_machine

from cradle.access.models import AuditEntry
from cradle.feeds import records as rec
from cradle.feeds import tokens
from cradle.feeds.models import Message, QuarantineItem, SourceRecord, SystemToken
from cradle.records import models as m
from cradle.records.evaluation import reevaluate

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 26)
BABY_NHS = "9434765919"
REFUGE = ("Flat 9, Quiet House, 3 Secret Row", "HX9 9QQ")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def post(client, token, path, body, **more):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(
        path, data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}", **more
    )


def get(client, token, path):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def cradle(*argv) -> tuple[int, str]:
    from cradle import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(list(argv))
    return status, out.getvalue()


def test_a_token_is_printed_once_kept_only_as_a_hash_and_can_be_revoked(client):
    status, out = cradle("feeds", "token", "add", "maternity-epr", "--agency", "maternity")
    assert status == 0
    token = out.strip().splitlines()[-1]
    row = SystemToken.objects.get(name="maternity-epr")
    assert (
        token.startswith("cradle_")
        and row.token_hash == tokens.digest(token)
        and token not in row.token_hash
    )
    assert "maternity-epr" in cradle("feeds", "token", "list")[1]
    assert (
        post(client, token, "/api/people", {"source_id": "b", "role": "child"}).status_code == 200
    )
    assert cradle("feeds", "token", "revoke", "maternity-epr")[0] == 0
    assert (
        post(client, token, "/api/people", {"source_id": "b", "role": "child"}).status_code == 401
    )
    assert "revoked" in cradle("feeds", "token", "list")[1]
    assert AuditEntry.objects.filter(action__in=("token-add", "token-revoke")).count() == 2


def cradle_err(*argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status, _out = cradle(*argv)
    return status, err.getvalue()


@pytest.mark.parametrize(
    "name", ["", "   ", "x" * 94, "x" * 300, "pol\n", "pol\x00", "\tpol", " pol", "pol "]
)
def test_a_token_for_a_blank_over_long_or_unprintable_name_is_refused(name):
    status, err = cradle_err("feeds", "token", "add", name, "--agency", "gp")
    assert status == 2 and "system's name" in err
    assert not SystemToken.objects.exists()
    assert not AuditEntry.objects.filter(action="token-add").exists()
    with pytest.raises(ValueError):
        tokens.add(name, "gp")


def test_a_name_of_the_longest_fits_its_audit_actor(client):
    name = "x" * tokens.MAX_NAME
    status, out = cradle("feeds", "token", "add", name, "--agency", "gp")
    assert status == 0
    answer = post(
        client, out.strip().splitlines()[-1], "/api/people", {"source_id": "b", "role": "child"}
    )
    assert answer.status_code == 200
    assert AuditEntry.objects.filter(actor=f"system:{name}", action="submit").count() == 1


def test_a_system_whose_token_was_revoked_is_given_a_new_one_the_old_one_kept(client):
    assert cradle("feeds", "token", "add", "pol", "--agency", "police")[0] == 0
    old = SystemToken.objects.get(name="pol")
    status, err = cradle_err("feeds", "token", "add", "pol", "--agency", "police")
    assert status == 2 and "already has a live token" in err  # one live token a system
    assert cradle("feeds", "token", "revoke", "pol")[0] == 0
    status, out = cradle("feeds", "token", "add", "pol", "--agency", "police")
    assert status == 0
    token = out.strip().splitlines()[-1]
    rows = list(SystemToken.objects.filter(name="pol").order_by("id"))
    assert len(rows) == 2 and rows[0].pk == old.pk
    assert rows[0].revoked_at is not None and rows[1].revoked_at is None  # history kept
    assert (
        post(client, token, "/api/people", {"source_id": "b", "role": "child"}).status_code == 200
    )
    listed = [
        line for line in cradle("feeds", "token", "list")[1].splitlines() if line.startswith("pol ")
    ]
    assert len(listed) == 2 and "revoked" in listed[0] and listed[1].endswith("live")
    # Revoked again, the new one only: nothing live is left.
    assert cradle("feeds", "token", "revoke", "pol")[0] == 0
    assert cradle_err("feeds", "token", "revoke", "pol")[0] == 2
    assert not SystemToken.objects.filter(name="pol", revoked_at__isnull=True).exists()
    actions = AuditEntry.objects.filter(action__in=("token-add", "token-revoke")).order_by("seq")
    assert [e.action for e in actions] == ["token-add", "token-revoke", "token-add", "token-revoke"]


def test_a_revoked_systems_name_is_never_given_to_another_agency(client):
    assert cradle("feeds", "token", "add", "pol", "--agency", "police")[0] == 0
    assert cradle("feeds", "token", "revoke", "pol")[0] == 0
    status, err = cradle_err("feeds", "token", "add", "pol", "--agency", "gp")
    assert status == 2 and "'pol' is police's" in err
    assert list(SystemToken.objects.filter(name="pol").values_list("agency", flat=True)) == [
        "police"
    ]
    with pytest.raises(ValueError, match="choose another name"):
        tokens.add("pol", "gp")
    # The same agency may have its system's name back, and another name is free.
    assert cradle("feeds", "token", "add", "pol", "--agency", "police")[0] == 0
    assert cradle("feeds", "token", "add", "pol-gp", "--agency", "gp")[0] == 0


def test_every_call_is_audited_once_as_the_system(client):
    _row, token = tokens.add("hv-epr", "health_visiting")
    post(
        client, token, "/api/people", {"source_id": "b1", "role": "child", "born_on": "2026-11-01"}
    )
    post(client, token, "/api/people", {"source_id": "b1", "role": "rabbit"})  # refused
    post(client, token, "/api/people", b'{"source_id": "b1", "ro')  # truncated
    entries = list(AuditEntry.objects.filter(actor="system:hv-epr").order_by("seq"))
    assert [e.action for e in entries] == ["submit", "submit-refused", "submit-refused"]
    assert entries[0].family is not None  # the baby's new family
    for e in entries:
        assert "b1" not in e.what and "rabbit" not in e.what  # counts and ids of messages only


def test_raw_bytes_are_kept_before_parsing_and_the_same_message_again_changes_nothing(client):
    _row, token = tokens.add("gp-system", "gp")
    body = {"source_id": "p1", "role": "child", "born_on": "2026-11-01", "nhs_number": BABY_NHS}
    first = post(client, token, "/api/people", body).json()
    again = post(client, token, "/api/people", body).json()
    assert (first["created"], again["unchanged"], again["message"]) == (1, 1, first["message"])
    assert Message.objects.get(pk=first["message"]).raw() == json.dumps(body).encode()
    changed = post(client, token, "/api/people", {**body, "given_name": "Renamed"}).json()
    assert changed["versioned"] == 1
    record = SourceRecord.objects.get(agency="gp", source_id="p1")
    assert record.version == 2 and record.versions.count() == 2
    assert m.Person.objects.get(pk=record.person_id).given_name == "Renamed"
    broken = b'{"source_id": "p1", "role": "chi\xff'
    answer = post(client, token, "/api/people", broken)
    assert answer.status_code == 400 and answer.json()["reasons"]
    assert (
        Message.objects.get(pk=answer.json()["message"]).raw() == broken
    )  # even bytes that do not decode


def test_an_event_reported_after_it_was_received_is_refused_with_the_reason(client):
    _row, token = tokens.add("hv", "health_visiting")
    post(client, token, "/api/people", {"source_id": "b", "role": "child", "born_on": "2026-11-01"})
    answer = post(
        client,
        token,
        "/api/contacts",
        {"source_id": "c", "kind": "home_visit", "occurred_on": "2026-11-30", "subjects": ["b"]},
    )
    assert answer.status_code == 422
    assert answer.json()["reasons"][0]["field"] == "occurred_on"
    assert QuarantineItem.objects.filter(pk=answer.json()["quarantined"][0]["id"]).exists()
    assert not m.Contact.objects.exists()


def test_a_body_over_the_size_limit_is_refused_and_the_refusal_kept(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    _row, token = tokens.add("hv", "health_visiting")
    answer = post(client, token, "/api/contacts", {"source_id": "c", "note": "x" * 5000})
    assert answer.status_code == 413
    refused = Message.objects.get(status=Message.REFUSED)
    assert refused.size > 2000 and refused.raw() == b"" and "size limit" in refused.note
    assert AuditEntry.objects.filter(actor="system:hv", action="submit-refused").count() == 1


@pytest.fixture
def family():
    """A baby and parents in a refuge (do not disclose), a father seen by adult mental health
    with depression that the agencies working with the baby do not know of."""
    origin = TODAY - timedelta(days=30)
    fam = m.Family.objects.create(reference="api", origin=origin)
    people = {}
    for label, role, sex, born, nhs in (
        ("baby", "child", "female", origin, BABY_NHS),
        ("mum", "mother", "female", origin - timedelta(days=9000), ""),
        ("dad", "father", "male", origin - timedelta(days=9500), ""),
    ):
        people[label] = m.Person.objects.create(
            source_key=f"api/{label}", sex=sex, born_on=born, nhs_number=nhs
        )
        m.FamilyMember.objects.create(family=fam, person=people[label], role=role, label=label)
        m.Identity.objects.create(
            person=people[label], agency="health_visiting", address=REFUGE[0], postcode=REFUGE[1],
            recorded_on=origin, do_not_disclose=True,
        )  # fmt: skip
    fam.index_child = people["baby"]
    fam.save()
    m.Relationship.objects.create(
        person=people["mum"], kind="mother_of", other=people["baby"], recorded_by="health_visiting"
    )
    m.Relationship.objects.create(
        person=people["dad"], kind="father_of", other=people["baby"], recorded_by="health_visiting"
    )
    for key, agency, kind, who, findings in (
        ("visit", "health_visiting", "home_visit", ["baby", "mum"], []),
        ("gp", "gp", "gp_appointment", ["baby"], []),
        ("mh", "adult_mental_health", "mental_health_review", ["dad"], ["depression"]),
    ):
        c = m.Contact.objects.create(
            source_key=f"api/{key}", agency=agency, kind=kind, outcome="attended",
            occurred_on=TODAY - timedelta(days=3), recorded_on=TODAY - timedelta(days=3),
        )  # fmt: skip
        c.subjects.set([people[p] for p in who])
        c.seen.set([people[p] for p in who])
        for w in findings:
            m.ContactFinding.objects.create(contact=c, word=w)
    reevaluate(fam, TODAY)
    assert fam.alerts.filter(status="open").exists()
    return fam


def test_a_childs_open_alerts_come_out_as_valid_fhir_flags_with_no_address(client, family):
    from fhir.resources.R4B.bundle import Bundle

    _row, token = tokens.add("hv", "health_visiting")
    answer = get(client, token, f"/api/children/{BABY_NHS}/flags")
    assert answer.status_code == 200
    doc = answer.json()
    Bundle.model_validate(doc)  # a valid FHIR R4 Bundle of Flags
    live = family.alerts.filter(status__in=m.Alert.LIVE, child=family.index_child)
    assert doc["total"] == live.count() == len(doc["entry"]) > 0
    assert {e["resource"]["code"]["coding"][0]["code"] for e in doc["entry"]} == set(
        live.values_list("rule", flat=True)
    )
    body = answer.content.decode()
    assert REFUGE[0] not in body and REFUGE[1] not in body and "Secret Row" not in body
    read = AuditEntry.objects.get(actor="system:hv")
    assert (read.action, read.family) == ("read", family)


def test_sensitive_detail_only_for_an_agency_whose_role_may_read_it(client, family):
    _row, hv = tokens.add("hv", "health_visiting")
    _row, gp = tokens.add("gp", "gp")
    texts = {}
    for name, token in (("hv", hv), ("gp", gp)):
        answer = get(client, token, f"/api/children/{BABY_NHS}/alerts")
        assert answer.status_code == 200
        texts[name] = " ".join(a["explanation"] for a in answer.json())
    assert "depression" in texts["gp"].lower()  # a GP reads mental health detail
    assert (
        "depression" not in texts["hv"].lower()
    )  # health visiting sees a concern exists, and whom to ask


def test_a_child_the_agency_is_not_working_with_is_not_found(client, family):
    _row, police = tokens.add("police", "police")
    for path in (
        f"/api/children/{BABY_NHS}/flags",
        f"/api/children/{BABY_NHS}/alerts",
        "/api/children/9434765870/flags",
        "/api/children/nonsense/flags",
    ):
        answer = get(client, police, path)
        assert answer.status_code == 404 and answer.json() == {"detail": "Not Found"}
    assert AuditEntry.objects.filter(actor="system:police", action="read-refused").count() == 4


def test_a_refused_api_message_corrected_and_sent_again_is_taken(client):
    from cradle.feeds.jobs import resubmit

    _row, token = tokens.add("hv", "health_visiting")
    answer = post(
        client, token, "/api/people", b'{"source_id": "b1", "role": "child", "born_on": "2026-11-0'
    )
    item = QuarantineItem.objects.get(pk=answer.json()["quarantined"][0]["id"])
    job = resubmit(
        item,
        b'{"source_id": "b1", "role": "child", "born_on": "2026-11-01"}',
        by="system:test",
        today=TODAY,
    )
    assert job.result.created == 1 and not job.result.quarantined
    item.refresh_from_db()
    assert item.status == QuarantineItem.ACCEPTED
    assert SourceRecord.objects.filter(agency="health_visiting", source_id="b1").exists()


# Each one-record endpoint: a body refused by its schema (a field missing), then the same
# body corrected. Every one carries `agency`, which the API accepts and the internal record
# does not; icon deliveries and assessments are renamed on the way in.
_REFUSED_THEN_CORRECTED = {
    "people": ({"source_id": "rd", "agency": "health_visiting", "child": "rb"},
               {"role": "father"}),
    "relationships": ({"source_id": "rr", "agency": "health_visiting", "person": "rm", "other": "rb"},
                      {"kind": "mother_of"}),
    "contacts": ({"source_id": "rc", "agency": "health_visiting", "occurred_on": "2026-11-20", "subjects": ["rb"]},
                 {"kind": "home_visit"}),
    "referrals": ({"source_id": "rf", "agency": "health_visiting", "occurred_on": "2026-11-20", "subjects": ["rb"]},
                  {"to_agency": "gp"}),
    "icon-deliveries": ({"source_id": "ri", "agency": "health_visiting", "occurred_on": "2026-11-20", "subjects": ["rb"], "delivered_to": ["rm"]},
                        {"touchpoint": "postnatal"}),
    "assessments": ({"source_id": "ra", "agency": "health_visiting", "occurred_on": "2026-11-20", "subjects": ["rb"], "answers": {"q1": "yes"}},
                    {"form_version": "1"}),
}  # fmt: skip


@pytest.mark.parametrize("endpoint", sorted(_REFUSED_THEN_CORRECTED))
def test_a_body_the_api_refused_corrected_is_read_again_as_its_endpoint_reads_it(client, endpoint):
    from cradle.feeds.jobs import resubmit

    _row, token = tokens.add("hv", "health_visiting")
    for body in (
        {"source_id": "rb", "role": "child", "born_on": "2026-11-01"},
        {"source_id": "rm", "role": "mother", "child": "rb"},
    ):
        assert post(client, token, "/api/people", body).status_code == 200
    refused, missing = _REFUSED_THEN_CORRECTED[endpoint]
    answer = post(client, token, f"/api/{endpoint}", refused)
    assert answer.status_code == 422
    item = QuarantineItem.objects.get(pk=answer.json()["quarantined"][0]["id"])
    assert json.loads(bytes(item.content)) == refused  # held as it was sent

    # Still wrong: refused with the schema's own reason, the item still held.
    again = resubmit(item, json.dumps(refused).encode(), by="user:1", today=TODAY)
    assert again.result.quarantined and not again.result.created
    assert {r["field"] for r in again.result.quarantined[0].reasons} == set(missing)
    item.refresh_from_db()
    assert item.status == QuarantineItem.RESUBMITTED

    # Corrected: taken, and written as the endpoint writes it.
    corrected = json.dumps({**refused, **missing}).encode()
    job = resubmit(item, corrected, by="user:1", today=TODAY)
    assert (job.result.created, job.result.quarantined) == (1, [])
    item.refresh_from_db()
    assert item.status == QuarantineItem.ACCEPTED
    record = SourceRecord.objects.get(agency="health_visiting", source_id=refused["source_id"])
    if endpoint in ("people", "relationships"):
        assert record.kind == {"people": "person", "relationships": "relationship"}[endpoint]
    else:
        contact = m.Contact.objects.get(pk=record.contact_id)
        expected = {
            "contacts": "home_visit",
            "referrals": "referral",
            "icon-deliveries": "icon_delivered",
            "assessments": "parenting_assessment",
        }[endpoint]
        assert contact.kind == expected
        if endpoint == "icon-deliveries":
            assert contact.touchpoint == "postnatal"


@pytest.mark.parametrize("endpoint", ["people", "icon-deliveries", "assessments"])
def test_a_body_taken_by_the_schema_and_refused_by_the_check_is_corrected_as_its_endpoint_reads_it(
    client, endpoint
):
    """Held with its bytes as sent (the API's field names, its `agency`): read again as its
    endpoint reads them, not as the internal record they became."""
    from cradle.feeds.jobs import resubmit

    _row, token = tokens.add("hv", "health_visiting")
    for body in (
        {"source_id": "rb", "role": "child", "born_on": "2026-11-01"},
        {"source_id": "rm", "role": "mother", "child": "rb"},
    ):
        assert post(client, token, "/api/people", body).status_code == 200
    sent, wrong, right = {
        "people": ({"source_id": "rd", "agency": "health_visiting", "role": "father", "child": "rb"},
                   {"born_on": "2026-12-01"}, {"born_on": "1990-01-01"}),
        "icon-deliveries": ({"source_id": "ri", "agency": "health_visiting", "subjects": ["rb"],
                             "delivered_to": ["rm"], "touchpoint": "postnatal"},
                            {"occurred_on": "2026-12-01"}, {"occurred_on": "2026-11-20"}),
        "assessments": ({"source_id": "ra", "agency": "health_visiting", "subjects": ["rb"],
                         "form_version": "1", "answers": {"q1": "yes"}},
                        {"occurred_on": "2026-12-01"}, {"occurred_on": "2026-11-20"}),
    }[endpoint]  # fmt: skip
    answer = post(client, token, f"/api/{endpoint}", {**sent, **wrong})
    assert answer.status_code == 422
    assert [r["field"] for r in answer.json()["reasons"]] == list(wrong)  # the check's
    item = QuarantineItem.objects.get(pk=answer.json()["quarantined"][0]["id"])
    job = resubmit(item, json.dumps({**sent, **right}).encode(), by="user:1", today=TODAY)
    assert (job.result.created, job.result.quarantined) == (1, [])
    record = SourceRecord.objects.get(agency="health_visiting", source_id=sent["source_id"])
    if endpoint != "people":
        contact = m.Contact.objects.get(pk=record.contact_id)
        assert contact.kind == {"icon-deliveries": "icon_delivered",
                                "assessments": "parenting_assessment"}[endpoint]  # fmt: skip


def test_a_corrected_body_for_another_agency_is_refused(client):
    from cradle.feeds.jobs import resubmit

    _row, token = tokens.add("hv", "health_visiting")
    answer = post(client, token, "/api/people", {"source_id": "x", "agency": "health_visiting"})
    item = QuarantineItem.objects.get(pk=answer.json()["quarantined"][0]["id"])
    body = {"source_id": "x", "role": "child", "agency": "police"}
    job = resubmit(item, json.dumps(body).encode(), by="user:1", today=TODAY)
    assert [r["field"] for r in job.result.quarantined[0].reasons] == ["agency"]
    assert not SourceRecord.objects.filter(source_id="x").exists()


def test_a_contact_sent_again_as_entered_in_error_is_kept_and_counts_for_nothing(client):
    from cradle.records.evaluation import evaluate_due

    _row, token = tokens.add("hv", "health_visiting")
    post(
        client, token, "/api/people", {"source_id": "b1", "role": "child", "born_on": "2026-10-20"}
    )
    visit = {"source_id": "v1", "kind": "home_visit", "occurred_on": "2026-11-20",
             "outcome": "attended", "subjects": ["b1"], "seen": ["b1"], "findings": ["bruise"]}  # fmt: skip
    assert post(client, token, "/api/contacts", visit).json()["created"] == 1
    evaluate_due(TODAY)  # as the background evaluator does, a moment after the answer
    alert = m.Alert.objects.get(rule="injury-in-non-mobile-infant", status="open")
    answer = post(client, token, "/api/contacts", {**visit, "entered_in_error": True})
    assert answer.json()["versioned"] == 1
    contact = m.Contact.objects.get(source_key="feed:health_visiting:v1")
    assert contact.entered_in_error and not contact.marked_in_error
    assert SourceRecord.objects.get(source_id="v1").versions.count() == 2
    evaluate_due(TODAY)
    alert.refresh_from_db()
    assert alert.status == m.Alert.WITHDRAWN  # not "resolved": it should never have been
    change = alert.changes.get(change="withdrawn")
    assert change.by is None and change.note.endswith("entered in error (health_visiting)")


def test_the_api_is_described_on_a_page_with_no_script(client):
    from django.contrib.auth import get_user_model

    from cradle.access.models import Membership, Team
    from tests.signin import sign_in

    user = get_user_model().objects.create_user("reader", password="x" * 12)
    Membership.objects.create(user=user, team=Team.objects.create(name="T", agency="gp"), role="gp")
    sign_in(client, user)
    page = client.get("/feeds/api/")
    body = page.content.decode()
    assert page.status_code == 200 and "<script" not in body
    assert "POST /api/fhir/Bundle" in body and "GET /api/children/{nhs_number}/flags" in body
    assert (
        "script-src" not in page.get("Content-Security-Policy", "")
        or "'unsafe-inline'" not in page["Content-Security-Policy"]
    )
    assert client.get("/api/openapi.json").json()["paths"]


def test_a_current_child_protection_plan_is_a_flag_of_its_own(client, family):
    from fhir.resources.R4B.bundle import Bundle

    _row, token = tokens.add("hv-epr", "health_visiting")
    baby = family.index_child
    start = m.Contact.objects.create(
        source_key="api/plan", agency="childrens_social_care", kind="child_protection_plan_start",
        occurred_on=TODAY - timedelta(days=5), recorded_on=TODAY - timedelta(days=5),
    )  # fmt: skip
    start.subjects.add(baby)
    doc = get(client, token, f"/api/children/{BABY_NHS}/flags").json()
    Bundle.model_validate(doc)
    plans = [
        e["resource"]
        for e in doc["entry"]
        if e["resource"]["code"]["coding"][0]["code"] == "child-protection-plan"
    ]
    assert len(plans) == 1 and plans[0]["period"]["start"] == str(TODAY - timedelta(days=5))
    end = m.Contact.objects.create(
        source_key="api/plan-end", agency="childrens_social_care", kind="child_protection_plan_end",
        occurred_on=TODAY - timedelta(days=1), recorded_on=TODAY - timedelta(days=1),
    )  # fmt: skip
    end.subjects.add(baby)
    doc = get(client, token, f"/api/children/{BABY_NHS}/flags").json()
    assert not [
        e
        for e in doc["entry"]
        if e["resource"]["code"]["coding"][0]["code"] == "child-protection-plan"
    ]


def test_a_childs_nhs_number_in_a_path_never_reaches_the_logs(client, caplog):
    import logging

    _row, police = tokens.add("police", "police")
    with caplog.at_level(logging.WARNING, logger="django.request"):
        get(client, police, f"/api/children/{BABY_NHS}/flags")  # 404
        client.get(f"/api/children/{BABY_NHS}/alerts")  # 401
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/api/children/(redacted)/flags" in text and BABY_NHS not in text


def test_a_body_the_api_refused_marks_the_family_it_names(client):
    _row, token = tokens.add("hv", "health_visiting")
    post(client, token, "/api/people", {"source_id": "b1", "role": "child"})
    answer = post(
        client, token, "/api/icon-deliveries",
        {"source_id": "i1", "occurred_on": "2026-11-20", "subjects": ["b1"],
         "delivered_to": ["b1", "nobody"], "touchpoint": "not-a-touchpoint"},
    )  # fmt: skip
    assert answer.status_code == 422
    item = QuarantineItem.objects.get(pk=answer.json()["quarantined"][0]["id"])
    family = m.Family.objects.get(index_child__source_key="feed:health_visiting:b1")
    assert list(item.families.all()) == [family]
    garbled = post(client, token, "/api/contacts", b'{"subjects": ["b1"')  # not JSON
    assert garbled.status_code == 400
    held = QuarantineItem.objects.get(pk=garbled.json()["quarantined"][0]["id"])
    assert not held.families.exists()  # nothing could be read: no family named


def test_a_call_refused_on_a_reference_marks_the_family_and_a_still_refused_correction_too(
    client,
):
    """Through the group commit: a contact that passes the schema but names a person not
    sent (held) marks the family of the baby it names; corrected and still refused, the
    new item is about the same family."""
    from cradle.feeds.jobs import resubmit

    _row, token = tokens.add("hv", "health_visiting")
    post(client, token, "/api/people", {"source_id": "b1", "role": "child"})
    visit = {"source_id": "v1", "kind": "home_visit", "occurred_on": "2026-11-20",
             "subjects": ["b1", "dad"]}  # fmt: skip
    answer = post(client, token, "/api/contacts", visit)
    assert answer.status_code == 422
    family = m.Family.objects.get(index_child__source_key="feed:health_visiting:b1")
    item = QuarantineItem.objects.get(pk=answer.json()["quarantined"][0]["id"])
    assert list(item.families.all()) == [family]
    corrected = json.dumps({**visit, "subjects": ["b1", "mum"]}).encode()  # still unknown
    again = resubmit(item, corrected, by="user:1", today=TODAY)
    (still,) = again.result.quarantined
    assert list(still.families.all()) == [family]
    assert still.corrects == item  # held again from its correction: settled with it


def test_a_refused_body_naming_ids_no_database_would_take_is_refused_not_a_server_error(client):
    """Its ids are looked up to mark the families it names: one with a NUL (which
    PostgreSQL refuses in any text) or of any length is not an id, and never a 500."""
    _row, token = tokens.add("hv", "health_visiting")
    post(client, token, "/api/people", {"source_id": "b1", "role": "child"})
    for subjects in (["b1", "b\x00"], ["b1", "x" * 5000]):
        body = {"source_id": "v1", "kind": "home_visit", "occurred_on": "2026-11-20",
                "outcome": "nonsense", "subjects": subjects}  # fmt: skip
        answer = post(client, token, "/api/contacts", body)
        assert answer.status_code == 422
        item = QuarantineItem.objects.get(pk=answer.json()["quarantined"][0]["id"])
        family = m.Family.objects.get(index_child__source_key="feed:health_visiting:b1")
        assert list(item.families.all()) == [family]  # by the id that could be one


# Each one-record endpoint, a body carrying a lone surrogate (valid JSON, ``\ud800``, but not
# Unicode: no database writes it as UTF-8), and the field it is refused on: by the record's
# check, or by the schema for an id (an id's length is counted in UTF-8).
_SURROGATE = "Test\ud800a"
_EVENT = {"occurred_on": "2026-11-20", "subjects": ["b1"]}
_UNENCODABLE = [
    ("people", {"source_id": "u3", "role": "adult", "given_name": _SURROGATE}, "given_name"),
    ("people", {"source_id": "u3", "role": "adult", "child": _SURROGATE}, "child"),
    ("relationships", {"source_id": _SURROGATE, "person": "m1", "kind": "mother_of", "other": "b1"},
     "source_id"),
    ("contacts", {"source_id": "c1", "kind": "home_visit", **_EVENT, "note": _SURROGATE}, "note"),
    ("referrals", {"source_id": "f1", **_EVENT, "to_agency": "gp", "note": _SURROGATE}, "note"),
    ("referrals", {"source_id": "f1", **_EVENT, "to_agency": "gp", "seen": [_SURROGATE]}, "seen.0"),
    ("icon-deliveries", {"source_id": "i1", **_EVENT, "delivered_to": ["b1"], "touchpoint": "postnatal",
                         "note": _SURROGATE}, "note"),
    ("assessments", {"source_id": "a1", **_EVENT, "form_version": "1", "answers": {"q1": _SURROGATE}},
     "assessment_answers"),
    ("assessments", {"source_id": "a1", **_EVENT, "form_version": "1", "answers": {_SURROGATE: 1}},
     "assessment_answers"),
]  # fmt: skip


def _surrogate_json(body: dict) -> bytes:
    """The body as JSON with its lone surrogate as the escape a sender writes."""
    return json.dumps(body).replace("\\\\ud800", "\\ud800").encode()


@pytest.mark.parametrize(("endpoint", "body", "field"), _UNENCODABLE)
def test_text_that_cannot_be_encoded_as_utf8_is_refused_with_the_reason_not_a_server_error(
    client, endpoint, body, field
):
    from cradle.feeds.jobs import resubmit

    _row, token = tokens.add("hv", "health_visiting")
    for person in (
        {"source_id": "b1", "role": "child", "born_on": "2026-11-01"},
        {"source_id": "m1", "role": "mother", "child": "b1"},
    ):
        assert post(client, token, "/api/people", person).status_code == 200
    data = _surrogate_json(body)
    assert "\ud800" in json.dumps(json.loads(data), ensure_ascii=False)  # as the API reads it
    client.raise_request_exception = True  # a server error fails the test with its traceback
    answer = post(client, token, f"/api/{endpoint}", data)
    assert answer.status_code == 422, answer.content
    assert field in {r["field"] for r in answer.json()["reasons"]}
    if field not in ("child", "source_id", "seen.0"):  # an id's: the schema's own reason
        assert {"field": field, "problem": rec.UNENCODABLE} in answer.json()["reasons"]
    item = QuarantineItem.objects.get(pk=answer.json()["quarantined"][0]["id"])
    assert bytes(item.content) == data and item.status == QuarantineItem.HELD
    assert "fault of Cradle's" not in json.dumps(item.reasons)
    assert SourceRecord.objects.count() == 2  # the two people only
    # Sent again as a correction, still with it: read as the endpoint read it, held again
    # with the same reason.
    again = resubmit(item, data, by="user:1", today=TODAY)
    (held,) = again.result.quarantined
    assert held.reasons == answer.json()["reasons"]
    assert SourceRecord.objects.count() == 2


def test_a_resubmission_that_cannot_be_encoded_as_utf8_is_held_again_with_the_reason(tmp_path):
    """From the command line, a body the API refused and a record whose call failed (held
    as the API read it): corrected with a lone surrogate, held again, never a traceback."""
    from cradle.feeds.ingest import quarantine_message
    from cradle.feeds.store import keep_bytes

    message, _ = keep_bytes(b"{}", source_system="hv", agency="health_visiting", channel="api")
    refused = quarantine_message(
        message, [{"field": "role", "problem": "is required"}], record_type="api",
        context={"format": "json", "endpoint": "people"},
    )  # fmt: skip
    failed = quarantine_message(
        message, [{"field": "message", "problem": "not written"}], record_type="api",
        raw=b'{"source_id": "u3", "role": "adult"}',
        context={"format": "json", "kind": "person", "failed": True},
    )  # fmt: skip
    corrected = tmp_path / "file.json"
    corrected.write_bytes(b'{"source_id": "U3", "role": "adult", "given_name": "Test\\ud800a"}')
    for item in (refused, failed):
        status, out = cradle(
            "feeds", "quarantine", "resubmit", str(item.pk), str(corrected), "--as-of", "2026-11-26"
        )
        assert status == 1 and "still refused" in out
        assert f"given_name: {rec.UNENCODABLE}" in out
        item.refresh_from_db()
        assert item.status == QuarantineItem.RESUBMITTED
        held = QuarantineItem.objects.get(message=item.resubmitted_as)
        assert held.reasons == [{"field": "given_name", "problem": rec.UNENCODABLE}]
    assert not SourceRecord.objects.exists()


@pytest.mark.parametrize("authorised", [True, False])
def test_a_path_or_method_the_api_does_not_have_is_answered_in_json(client, authorised):
    token = tokens.add("hv", "health_visiting")[1] if authorised else "not-a-token"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    unknown = client.post("/api/no-such-thing", b"{}", content_type="application/json", **auth)
    assert unknown.status_code == 404
    assert unknown["Content-Type"].startswith("application/json")
    assert unknown.json() == {"detail": "Not Found"}
    assert int(unknown["Content-Length"]) == len(unknown.content)
    wrong = client.get("/api/contacts", **auth)  # an endpoint that takes POST only
    assert wrong.status_code == 405 and wrong["Allow"] == "POST"
    assert wrong.json() == {"detail": "Method not allowed"}
    # Under a path prefix (SCRIPT_NAME: the site mounted at /cradle/), the same.
    prefixed = client.post(
        "/api/no-such-thing", b"{}", content_type="application/json", SCRIPT_NAME="/cradle", **auth
    )
    assert prefixed.status_code == 404 and prefixed.json() == {"detail": "Not Found"}
    # The site's own pages keep their HTML 404.
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_a_held_body_whose_source_id_is_a_number_is_corrected_only_under_that_id(client):
    """The schema refuses a number as ``source_id``: held, its id is read as the number's
    text, so the correction must keep it (before, no id was read and any record was
    taken in its place)."""
    from cradle.feeds.jobs import NotResubmitted, held_record_ids, resubmit

    token = tokens.add("hv", "health_visiting")[1]
    assert (
        post(client, token, "/api/people", {"source_id": "b1", "role": "child"}).status_code == 200
    )
    body = {"source_id": 123, "kind": "home_visit", "occurred_on": "2026-11-20",
            "outcome": "attended", "subjects": ["b1"]}  # fmt: skip
    assert post(client, token, "/api/contacts", body).status_code == 422
    item = QuarantineItem.objects.get()
    assert held_record_ids(item) == {"123"}
    other = json.dumps(body | {"source_id": "c9"}).encode()
    with pytest.raises(NotResubmitted, match="not of the record held"):
        resubmit(item, other, by="t", today=date(2026, 11, 26))
    fixed = json.dumps(body | {"source_id": "123"}).encode()
    assert resubmit(item, fixed, by="t", today=date(2026, 11, 26)).result.created == 1
    assert SourceRecord.objects.filter(source_id="123", kind="contact").exists()


def test_cradles_own_actors_and_other_agencies_names_are_no_systems_name(tmp_path):
    """A system's name is its audit actor (``system:<name>``): Cradle's own actors are
    reserved, an agency's name is that agency's, and ``cradle import --system`` is held
    to the same as a token, so no one's calls read as another's."""
    import importlib
    import re
    from pathlib import Path

    actors = set()
    for path in Path(importlib.import_module("cradle").__file__).parent.rglob("*.py"):
        actors |= set(re.findall(r'"system:([a-z][a-z-]*)"', path.read_text(encoding="utf-8")))
    assert actors and actors <= tokens.RESERVED  # every actor Cradle writes is reserved
    status, err = cradle_err("feeds", "token", "add", "feeds-dismiss:alice", "--agency", "gp")
    assert status == 2 and "cannot contain ':'" in err  # a person's dismissal's actor
    for name in ("sweep", "linkage", "feeds-resubmit"):
        status, err = cradle_err("feeds", "token", "add", name, "--agency", "gp")
        assert status == 2 and "Cradle's own actors" in err
    status, err = cradle_err("feeds", "token", "add", "police", "--agency", "gp")
    assert status == 2 and "another agency" in err
    assert not SystemToken.objects.exists()
    assert cradle("feeds", "token", "add", "pol", "--agency", "police")[0] == 0
    data = tmp_path / "people.csv"
    data.write_bytes(b"source_id,role,sex,born_on,child\nb1,child,female,2026-11-01,\n")
    for system, why in (("pol", "is police's"), ("police", "another agency"), ("sweep", "own")):
        status, err = cradle_err("import", str(data), "--agency", "gp", "--system", system)
        assert status == 2 and why in err and "nothing read" in err, err
    assert not Message.objects.filter(channel="file").exists()
    assert cradle("import", str(data), "--agency", "gp", "--quiet", "--no-link")[0] == 0
