"""FHIR R4 import: each resource type becomes the record it should, people are matched by
NHS number, a no-show is no access or was not brought as appropriate, SNOMED CT codes
become findings through the table; and whatever arrives (malformed JSON, wrong types,
unknown codes, events after they were received, truncated payloads) is never a crash,
always a clear reason, never half-written."""

from __future__ import annotations

import itertools
import json
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cradle.feeds.jobs import NotResubmitted, read_fhir, resubmit
from cradle.feeds.models import Message, QuarantineItem, SourceRecord, SourceVersion
from cradle.feeds.records import content_hash
from cradle.feeds.store import keep_bytes
from cradle.records import models as m

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 26)
NHS = "https://fhir.nhs.uk/Id/nhs-number"
BABY_NHS, MUM_NHS = "9434765919", "9434765870"


def patient(pid="baby", born="2026-10-20", nhs=BABY_NHS, gender="female", **more):
    r = {"resourceType": "Patient", "id": pid, "birthDate": born, "gender": gender,
         "name": [{"use": "official", "given": ["Test"], "family": "Fhirfamily"}], **more}  # fmt: skip
    if nhs:
        r["identifier"] = [{"system": NHS, "value": nhs}]
    return r


def mother(pid="mum", child="Patient/baby"):
    return {
        "resourceType": "RelatedPerson", "id": pid, "patient": {"reference": child},
        "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "MTH"}]}],
        "identifier": [{"system": NHS, "value": MUM_NHS}], "gender": "female", "birthDate": "1996-02-02",
    }  # fmt: skip


def encounter(
    eid="e1", klass="HH", status="finished", start="2026-11-20T10:00:00Z", who="Patient/baby"
):
    return {
        "resourceType": "Encounter", "id": eid, "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": klass},
        "subject": {"reference": who}, "period": {"start": start},
    }  # fmt: skip


def appointment(aid, status, who="Patient/baby", home=False, start="2026-11-21T09:00:00Z"):
    r = {
        "resourceType": "Appointment", "id": aid, "status": status, "start": start, "end": start,
        "participant": [{"actor": {"reference": who}, "status": "accepted"}],
    }  # fmt: skip
    if home:
        r["appointmentType"] = {
            "coding": [{"system": "urn:cradle:event-kind", "code": "home_visit"}]
        }
    return r


def observation(oid, code, enc="Encounter/e1", who="Patient/baby"):
    return {
        "resourceType": "Observation", "id": oid, "status": "final",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
        "subject": {"reference": who}, "encounter": {"reference": enc},
    }  # fmt: skip


def bundle(*resources) -> bytes:
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": r} for i, r in enumerate(resources)]}
    ).encode()  # fmt: skip


def send(data: bytes, agency="health_visiting"):
    message, _ = keep_bytes(data, source_system="test", agency=agency, channel="api")
    return read_fhir(message, data, agency=agency, today=TODAY)


def contact(source_id, agency="health_visiting") -> m.Contact:
    return m.Contact.objects.get(source_key=f"feed:{agency}:{source_id}")


def test_a_family_arrives_whole_and_alerts_are_raised():
    result = send(bundle(mother(), patient(), encounter(), observation("o1", "125667009")))
    assert not result.quarantined, [q.reasons for q in result.quarantined]
    baby = m.Person.objects.get(nhs_number=BABY_NHS)
    family = m.Family.objects.get(index_child=baby)
    roles = dict(
        m.FamilyMember.objects.filter(family=family).values_list("person__nhs_number", "role")
    )
    assert roles == {BABY_NHS: "child", MUM_NHS: "mother"}
    assert m.Relationship.objects.filter(kind="mother_of", other=baby).count() == 1
    visit = contact("Encounter/e1")
    assert (visit.kind, visit.channel, visit.outcome, str(visit.occurred_on)) == (
        "home_visit",
        "home_visit",
        "attended",
        "2026-11-20",
    )
    assert list(visit.findings.values_list("word", flat=True)) == [
        "bruise"
    ]  # the Observation joined its Encounter
    assert family.alerts.filter(rule="injury-in-non-mobile-infant", status="open").exists()


def test_a_no_show_is_no_access_at_home_was_not_brought_at_a_babys_clinic_did_not_attend_for_an_adult():
    send(bundle(patient(), patient("mumpat", born="1990-01-01", nhs=MUM_NHS)))
    send(bundle(
        appointment("home", "noshow", home=True), appointment("clinic", "noshow"),
        appointment("adult", "noshow", who="Patient/mumpat"), appointment("done", "fulfilled"),
    ))  # fmt: skip
    outcomes = {k: contact(f"Appointment/{k}").outcome for k in ("home", "clinic", "adult", "done")}
    assert outcomes == {
        "home": "no_access",
        "clinic": "was_not_brought",
        "adult": "did_not_attend",
        "done": "attended",
    }
    assert contact("Appointment/home").channel == "home_visit"


def test_incoming_people_are_matched_by_nhs_number():
    existing = m.Person.objects.create(source_key="case:x/baby", nhs_number=BABY_NHS)
    send(bundle(patient()), agency="gp")
    assert m.Person.objects.filter(nhs_number=BABY_NHS).count() == 1
    assert SourceRecord.objects.get(agency="gp", source_id="Patient/baby").person_id == existing.pk
    assert existing.identities.filter(agency="gp").exists()


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        (observation("o1", "999999999999"), "code"),  # unknown (and a bad check digit)
        (observation("o2", "38341003"), "code"),  # a real-looking code not in the table
        (observation("o3", "125667009", enc="Encounter/nowhere"), "encounter"),
        (encounter("e2", start="2026-12-25T10:00:00Z"), "occurred_on"),  # after it was received
        (encounter("e3", klass="XYZ"), "type"),
        (encounter("e4", status="planned"), "status"),
        (appointment("a1", "booked"), "status"),
        (
            {
                "resourceType": "Flag",
                "id": "f",
                "status": "active",
                "code": {"text": "VIP"},
                "subject": {"reference": "Patient/baby"},
            },
            "code",
        ),
        ({"resourceType": "Medication", "id": "x"}, "resourceType"),
        ({"resourceType": "Patient", "id": "p", "birthDate": "not a date"}, "birthDate"),
        ({"resourceType": "Patient", "id": "p", "colour": "blue"}, "colour"),
        (encounter("e5", who="Patient/stranger"), "subjects"),
    ],
)
def test_a_resource_that_cannot_be_taken_is_held_with_its_reason_and_the_rest_is_taken(
    resource, field
):
    result = send(bundle(patient(), resource))
    assert result.created == 1  # the baby
    (held,) = result.quarantined
    assert field in {r["field"] for r in held.reasons}, held.reasons
    assert json.loads(bytes(held.content)) == resource
    assert m.Contact.objects.count() == 0


def test_episodes_referrals_plans_and_assessments():
    send(bundle(
        patient(),
        {"resourceType": "EpisodeOfCare", "id": "ep", "status": "active", "patient": {"reference": "Patient/baby"}, "period": {"start": "2026-10-25"}},
        {"resourceType": "ServiceRequest", "id": "sr", "status": "active", "intent": "order", "subject": {"reference": "Patient/baby"},
         "authoredOn": "2026-11-02", "performerType": {"coding": [{"system": "urn:cradle:agency", "code": "childrens_social_care"}]}},
        {"resourceType": "Flag", "id": "cp", "status": "active", "subject": {"reference": "Patient/baby"}, "period": {"start": "2026-11-03", "end": "2026-11-10"},
         "code": {"coding": [{"system": "urn:cradle:flag", "code": "child-protection-plan"}]}},
        {"resourceType": "QuestionnaireResponse", "id": "qr", "status": "completed", "subject": {"reference": "Patient/baby"}, "authored": "2026-11-04",
         "questionnaire": "https://example.org/Questionnaire/parenting|2", "item": [{"linkId": "bond", "answer": [{"valueBoolean": True}]}]},
    ))  # fmt: skip
    assert contact("EpisodeOfCare/ep").kind == "registration"
    ref = contact("ServiceRequest/sr")
    assert (ref.kind, ref.to_agency) == ("referral", "childrens_social_care")
    assert contact("Flag/cp#start").kind == "child_protection_plan_start"
    assert str(contact("Flag/cp#end").occurred_on) == "2026-11-10"
    qa = contact("QuestionnaireResponse/qr").assessment
    assert (qa.form_version, qa.answers) == ("2", {"bond": True})


def test_the_same_bundle_again_changes_nothing_and_a_changed_one_is_a_new_version():
    send(bundle(patient(), encounter()))
    counts = (m.Contact.objects.count(), SourceVersion.objects.count(), m.Alert.objects.count())
    send(bundle(patient(), encounter()))
    assert (
        m.Contact.objects.count(),
        SourceVersion.objects.count(),
        m.Alert.objects.count(),
    ) == counts
    send(bundle(patient(), encounter(status="cancelled")))
    record = SourceRecord.objects.get(source_id="Encounter/e1")
    assert record.version == 2 and contact("Encounter/e1").outcome == "cancelled_by_service"
    assert [v.content["outcome"] for v in record.versions.all()] == [
        "attended",
        "cancelled_by_service",
    ]


def test_a_finding_about_an_encounter_sent_before_is_a_new_version_of_it():
    send(bundle(patient(), encounter()))
    send(bundle(observation("o9", "35489007")))
    assert list(contact("Encounter/e1").findings.values_list("word", flat=True)) == ["depression"]
    assert SourceRecord.objects.get(source_id="Encounter/e1").version == 2


def test_a_held_resource_corrected_and_sent_again_is_taken():
    result = send(bundle(patient(), encounter("e7", klass="XYZ")))
    (held,) = result.quarantined
    # Another resource in its place is refused, nothing written: a correction is of the
    # record held (its type and id), alone or in a Bundle.
    for other in (
        encounter("e8"),
        {"resourceType": "Bundle", "entry": [{"resource": encounter("e8")}]},
    ):
        with pytest.raises(NotResubmitted, match="not of the record held"):
            resubmit(held, json.dumps(other).encode(), by="system:test", today=TODAY)
    assert not SourceRecord.objects.filter(source_id="Encounter/e8").exists()
    fixed = json.dumps(encounter("e7")).encode()
    job = resubmit(held, fixed, by="system:test", today=TODAY)
    assert not job.result.quarantined and job.result.created == 1
    held.refresh_from_db()
    assert held.status == QuarantineItem.ACCEPTED and held.resubmitted_as == job.message
    assert contact("Encounter/e7").outcome == "attended"


def test_a_held_resource_named_by_its_fullurl_alone_is_corrected_only_as_itself():
    """A resource with no id is named by its entry's fullUrl: held, it keeps that name,
    so a correction must be of it (before, with no id to check, any record was taken in
    its place), and a lone corrected resource is read under it again."""
    from cradle.feeds.jobs import held_record_ids

    nameless = encounter(klass="XYZ")
    del nameless["id"]
    result = send(bundle(patient(), nameless))  # fullUrls urn:uuid:0 and urn:uuid:1
    (held,) = result.quarantined
    assert held_record_ids(held) == {"Encounter/urn:uuid:1"}
    with pytest.raises(NotResubmitted, match="not of the record held"):
        resubmit(held, json.dumps(encounter("e8")).encode(), by="system:test", today=TODAY)
    assert not SourceRecord.objects.filter(source_id="Encounter/e8").exists()
    fixed = encounter()
    del fixed["id"]
    job = resubmit(held, json.dumps(fixed).encode(), by="system:test", today=TODAY)
    assert not job.result.quarantined and job.result.created == 1
    held.refresh_from_db()
    assert held.status == QuarantineItem.ACCEPTED
    assert contact("Encounter/urn:uuid:1").outcome == "attended"


# -- whatever arrives ------------------------------------------------------------------------

VALID = bundle(mother(), patient(), encounter(), observation("o1", "125667009"))


def _nothing_half_written(before_people, before_contacts):
    # Whatever was taken is whole: every contact has its subjects, every source record a row.
    assert not m.Contact.objects.filter(subjects=None).exists()
    assert not SourceRecord.objects.filter(person=None, contact=None, relationship=None).exists()
    assert (
        m.Person.objects.count() >= before_people and m.Contact.objects.count() >= before_contacts
    )


@settings(max_examples=40, suppress_health_check=list(HealthCheck), deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(VALID) - 1))
def test_a_truncated_bundle_is_held_whole_with_a_reason(cut):
    data = VALID[:cut]
    result = send(data)
    assert result.created == 0 and len(result.quarantined) == 1
    assert result.quarantined[0].reasons[0]["problem"]
    _nothing_half_written(0, 0)
    assert m.Contact.objects.count() == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=60, suppress_health_check=list(HealthCheck), deadline=None)
@given(
    rtype=st.sampled_from(["Patient", "RelatedPerson", "Encounter", "Appointment", "Observation", "Condition",
                           "EpisodeOfCare", "ServiceRequest", "Flag", "QuestionnaireResponse", "Bundle", "Basic", 7]),
    fields=st.dictionaries(st.sampled_from(["id", "status", "subject", "patient", "code", "period", "birthDate",
                                            "identifier", "class", "start", "participant", "encounter", "item"]),
                           json_values, max_size=6),
)  # fmt: skip
def test_any_resource_is_taken_or_held_with_reasons_never_a_crash(rtype, fields):
    result = send(bundle(patient(), {"resourceType": rtype, **fields}))
    for held in result.quarantined:
        assert held.reasons and all(r["problem"] for r in held.reasons)
    _nothing_half_written(1, 0)


@settings(max_examples=40, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_are_kept_and_held_with_a_reason(data):
    result = send(data)
    assert result.created == 0 and len(result.quarantined) == 1
    message = Message.objects.get(pk=result.quarantined[0].message_id)
    assert message.raw() == data  # kept byte for byte, even bytes that do not decode


def test_practitioners_and_locations_taking_part_are_not_people_of_the_family():
    visit = encounter("e8")
    visit["participant"] = [
        {"individual": {"reference": "Practitioner/hv1"}},
        {"individual": {"reference": "RelatedPerson/mum"}},
    ]
    clinic = appointment("a8", "fulfilled")
    clinic["participant"] += [{"actor": {"reference": "Location/clinic"}, "status": "accepted"},
                              {"actor": {"reference": "Practitioner/gp1"}, "status": "accepted"}]  # fmt: skip
    result = send(bundle(patient(), mother(), visit, clinic))
    assert not result.quarantined, [q.reasons for q in result.quarantined]
    subjects = set(contact("Encounter/e8").subjects.values_list("nhs_number", flat=True))
    assert subjects == {BABY_NHS, MUM_NHS}
    assert contact("Appointment/a8").subjects.count() == 1


def test_a_bundle_via_the_api_is_written_whole_with_its_audit_entry_or_not_at_all(client):
    """The Bundle's records, its audit entry and its families queued are one transaction:
    one entry that cannot be written (another server's contact under the key the
    Encounter's will have) undoes the whole Bundle; its bytes, kept first, are held in
    quarantine with the kind of error and the call is audited as failed."""
    from django.test import Client

    from cradle.access import audit
    from cradle.access.models import AuditEntry
    from cradle.feeds import tokens
    from cradle.feeds.models import QuarantineItem

    _row, token = tokens.add("hv-fhir", "health_visiting")
    m.Contact.objects.create(
        source_key="feed:health_visiting:Encounter/e1",
        agency="health_visiting",
        kind="home_visit",
        occurred_on=TODAY,
        recorded_on=TODAY,
    )
    data = bundle(mother(), patient(), encounter())
    people = m.Person.objects.count()
    answer = Client(raise_request_exception=False).post(
        "/api/fhir/Bundle", data, content_type="application/fhir+json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert answer.status_code == 500
    assert m.Person.objects.count() == people  # the Patient and RelatedPerson undone too
    assert not m.DueEvaluation.objects.exists()
    held = QuarantineItem.objects.get()
    assert bytes(held.content) == data and held.context == {"format": "fhir", "failed": True}
    assert held.reasons[0]["problem"].startswith("not written: IntegrityError")
    entries = list(AuditEntry.objects.filter(actor="system:hv-fhir"))
    assert [e.action for e in entries] == ["submit-failed"]
    assert not audit.verify().problems
    # Sent again once the fault is put right: written whole, the item settled.
    m.Contact.objects.filter(source_key="feed:health_visiting:Encounter/e1").delete()
    again = client.post(
        "/api/fhir/Bundle", data, content_type="application/fhir+json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert again.status_code == 200 and contact("Encounter/e1").kind == "home_visit"
    assert m.Person.objects.count() == people + 2
    held.refresh_from_db()
    assert held.status == QuarantineItem.ACCEPTED


def test_a_bundle_undone_once_by_a_deadlock_is_taken_again(client, monkeypatch):
    """PostgreSQL undoes one transaction of a deadlock (and another server may write one
    of the Bundle's new records first): the Bundle is taken again, once, and answered as
    if nothing had happened; its one audit entry is the write's."""
    from django.db import OperationalError
    from psycopg.errors import DeadlockDetected

    from cradle.access import audit
    from cradle.access.models import AuditEntry
    from cradle.feeds import jobs, tokens
    from cradle.feeds.models import QuarantineItem

    real, calls = jobs.read_fhir, []

    def deadlocked_once(*args, **kwargs):
        result = real(*args, **kwargs)  # written, then undone with its transaction
        calls.append(result)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from DeadlockDetected()
        return result

    monkeypatch.setattr(jobs, "read_fhir", deadlocked_once)
    _row, token = tokens.add("hv-fhir", "health_visiting")
    answer = client.post(
        "/api/fhir/Bundle", bundle(mother(), patient(), encounter()),
        content_type="application/fhir+json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert answer.status_code == 200 and answer.json()["created"] == 4  # and the relationship
    assert len(calls) == 2 and m.Person.objects.count() == 2
    assert contact("Encounter/e1").kind == "home_visit"
    assert [e.action for e in AuditEntry.objects.filter(actor="system:hv-fhir")] == ["submit"]
    assert not QuarantineItem.objects.exists() and not audit.verify().problems


def test_a_bundle_that_timed_out_is_not_taken_again(monkeypatch):
    """A statement timeout is not another transaction's doing: taking the Bundle again
    would only double its cost. It fails once, held in quarantine as failed."""
    from django.db import OperationalError
    from django.test import Client
    from psycopg.errors import QueryCanceled

    from cradle.feeds import jobs, tokens
    from cradle.feeds.models import QuarantineItem

    calls = []

    def timed_out(*args, **kwargs):
        calls.append(1)
        raise OperationalError("canceling statement due to statement timeout") from (
            QueryCanceled()
        )

    monkeypatch.setattr(jobs, "read_fhir", timed_out)
    _row, token = tokens.add("hv-fhir", "health_visiting")
    answer = Client(raise_request_exception=False).post(
        "/api/fhir/Bundle", bundle(patient()), content_type="application/fhir+json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert answer.status_code == 500 and calls == [1]
    assert QuarantineItem.objects.get().context == {"format": "fhir", "failed": True}


BOM = b"\xef\xbb\xbf"


def test_a_fhir_file_with_a_byte_order_mark_is_read_and_kept_as_it_came(tmp_path):
    from cradle.feeds.jobs import import_file

    data = BOM + bundle(mother(), patient(), encounter())
    path = tmp_path / "bundle.json"
    path.write_bytes(data)
    job = import_file(path, agency="health_visiting", system="hv-files", today=TODAY)
    assert not job.result.quarantined and contact("Encounter/e1").outcome == "attended"
    assert job.message.raw() == data  # the mark kept: the bytes are those received


def test_a_bundle_with_a_byte_order_mark_is_taken_by_the_api_and_a_resubmission(client):
    from cradle.feeds import tokens

    _row, token = tokens.add("hv-fhir", "health_visiting")
    data = BOM + bundle(patient())
    answer = client.post(
        "/api/fhir/Bundle", data, content_type="application/fhir+json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert answer.status_code == 200 and answer.json()["created"] == 1, answer.json()
    assert Message.objects.get(pk=answer.json()["message"]).raw() == data
    # A held resource corrected with a byte-order mark (saved by an editor that adds one).
    (held,) = send(bundle(patient(), encounter("e7", klass="XYZ"))).quarantined
    job = resubmit(held, BOM + json.dumps(encounter("e7")).encode(), by="system:t", today=TODAY)
    assert not job.result.quarantined and job.result.created == 1


def test_a_utf16_fhir_file_is_said_to_be_utf16():
    (held,) = send(json.dumps({"resourceType": "Bundle"}).encode("utf-16")).quarantined
    assert held.reasons == [
        {
            "field": "message",
            "problem": "not UTF-8 text: it starts with a UTF-16 byte-order mark (it looks like "
            "UTF-16): save it as UTF-8",
        }
    ]
    data = BOM + b'{"resourceType": "Bundle", "id": "\xff"}'
    (held,) = send(data).quarantined
    at = data.index(b"\xff")  # counted in the bytes received, the mark included
    assert held.reasons[0]["problem"] == f"not UTF-8 text (byte {at})"


def test_a_bundle_whose_tags_are_not_codings_says_no_agency():
    """Read before anything else of the Bundle: never a crash, whatever ``meta.tag`` holds."""
    from cradle.feeds import fhir

    for tag in ([{"coding": 5}], [{"coding": {"system": "x"}}], [5], {"coding": []}):
        doc = {"resourceType": "Bundle", "meta": {"tag": tag}}
        assert fhir.bundle_agency(json.dumps(doc).encode()) is None


def test_a_contact_the_sender_marks_entered_in_error_is_kept_counts_for_nothing_and_can_return():
    send(bundle(mother(), patient(), encounter(), observation("o1", "125667009")))
    family = m.Family.objects.get(index_child__nhs_number=BABY_NHS)
    alert = family.alerts.get(rule="injury-in-non-mobile-infant", status="open")
    visit = contact("Encounter/e1")
    assert f"c{visit.pk}" in alert.evidence

    # The sender withdraws the visit (recorded against the wrong baby, say).
    result = send(bundle(encounter(status="entered-in-error")))
    assert (result.versioned, result.quarantined) == (1, [])
    visit.refresh_from_db()
    assert visit.entered_in_error
    record = SourceRecord.objects.get(source_id="Encounter/e1")
    assert [v.content.get("entered_in_error", False) for v in record.versions.all()] == [
        False,
        True,
    ]  # both kept
    alert.refresh_from_db()
    assert alert.status == m.Alert.WITHDRAWN
    change = alert.changes.get(change="withdrawn")
    assert change.by is None and "health_visiting" in change.note
    assert not family.alerts.filter(rule="injury-in-non-mobile-infant", status="open").exists()

    # Sent as it really was, it counts again.
    send(bundle(encounter()))
    visit.refresh_from_db()
    assert not visit.entered_in_error and record.versions.count() == 3


def test_a_practitioners_marking_outlives_whatever_the_sender_sends_after():
    send(bundle(patient(), encounter()))
    # As the family page marks it (cradle.records.actions.mark_entered_in_error).
    m.Contact.objects.filter(pk=contact("Encounter/e1").pk).update(
        entered_in_error=True, marked_in_error=True
    )
    send(bundle(encounter(start="2026-11-21T10:00:00Z")))  # changed, not withdrawn
    visit = contact("Encounter/e1")
    assert str(visit.occurred_on) == "2026-11-21" and visit.entered_in_error
    send(bundle(encounter(status="entered-in-error")))  # withdrawn by the sender...
    send(bundle(encounter()))  # ... and sent again as it was
    assert contact("Encounter/e1").entered_in_error  # the practitioner's word stands


def test_a_withdrawal_is_of_what_was_sent_not_of_what_the_withdrawal_says():
    """The withdrawn version is the last one sent, marked: an Encounter that found nobody
    in stays a failed visit (not the 'finished' the mapping would read), and a
    withdrawal that leaves out what a new resource would need is still taken."""
    send(bundle(patient(), encounter("nobody", status="cancelled")))
    result = send(bundle({"resourceType": "Encounter", "id": "nobody", "status": "entered-in-error",
                          "class": encounter()["class"], "subject": {"reference": "Patient/baby"}}))  # fmt: skip
    assert (result.versioned, result.quarantined) == (1, [])
    visit = contact("Encounter/nobody")
    assert visit.entered_in_error and visit.outcome == "cancelled_by_service"
    assert visit.seen.count() == 0
    # Nothing sent before under the id, and no day to read it by: held, saying why.
    result = send(bundle({**encounter("never"), "status": "entered-in-error", "period": {}}))
    (held,) = result.quarantined
    assert held.reasons[0]["problem"].startswith("a withdrawal of nothing sent before")


def test_a_finding_the_sender_marks_entered_in_error_leaves_its_encounter():
    """A bruise recorded on the wrong baby: the sender withdraws the Observation; the
    visit stands, without the bruise, as a new version (the old kept), and the injury
    alert it raised is withdrawn (not resolved: the partnership's chronology leaves it
    out), saying by whom."""
    send(bundle(mother(), patient(), encounter(), observation("o1", "125667009"),
                observation("o2", "35489007", who="RelatedPerson/mum")))  # fmt: skip
    family = m.Family.objects.get(index_child__nhs_number=BABY_NHS)
    assert family.alerts.filter(rule="injury-in-non-mobile-infant", status="open").exists()

    result = send(bundle({**observation("o1", "125667009"), "status": "entered-in-error"}))

    assert (result.versioned, result.quarantined) == (1, [])
    visit = contact("Encounter/e1")
    assert not visit.entered_in_error  # the visit happened
    assert list(visit.findings.values_list("word", flat=True)) == ["depression"]
    record = SourceRecord.objects.get(source_id="Encounter/e1")
    assert [v.content["findings"] for v in record.versions.all()] == [
        ["bruise", "depression"],
        ["depression"],
    ]
    baby = m.Person.objects.get(nhs_number=BABY_NHS)
    assert visit.withdrawn_findings == [{"words": ["bruise"], "subject": baby.pk}]
    alert = family.alerts.get(rule="injury-in-non-mobile-infant")
    assert (alert.status, alert.resolution) == (
        m.Alert.WITHDRAWN,
        "a finding behind it was withdrawn",
    )
    assert "health_visiting" in alert.changes.get(change="withdrawn").note
    # The same withdrawal again changes nothing; the finding sent again counts again.
    assert (
        send(bundle({**observation("o1", "125667009"), "status": "entered-in-error"})).versioned
        == 0
    )
    send(bundle(observation("o1", "125667009")))
    assert "bruise" in contact("Encounter/e1").findings.values_list("word", flat=True)
    assert contact("Encounter/e1").withdrawn_findings is None
    assert family.alerts.get(rule="injury-in-non-mobile-infant", status="open") != alert


def test_an_alert_no_longer_found_for_another_reason_is_resolved_though_a_finding_was_withdrawn():
    """Withdrawn only when a withdrawn finding is why: the baby's birth date is corrected
    (a year older: able to move, the bruise no injury in a non-mobile infant), and in the
    same Bundle a low mood recorded about the mother at that visit is withdrawn."""
    send(bundle(mother(), patient(), encounter(), observation("o1", "125667009"),
                observation("o2", "35489007", who="RelatedPerson/mum")))  # fmt: skip
    family = m.Family.objects.get(index_child__nhs_number=BABY_NHS)
    alert = family.alerts.get(rule="injury-in-non-mobile-infant", status="open")
    send(bundle(patient(born="2025-10-20"),
                {**observation("o2", "35489007", who="RelatedPerson/mum"), "status": "cancelled"}))  # fmt: skip
    assert contact("Encounter/e1").withdrawn_findings == [
        {"words": ["depression"], "subject": m.Person.objects.get(nhs_number=MUM_NHS).pk}
    ]
    alert.refresh_from_db()
    assert alert.status == m.Alert.RESOLVED
    assert not alert.changes.filter(change="withdrawn").exists()


def test_an_alert_that_went_for_another_reason_too_is_resolved_though_its_record_was_in_error():
    """The visit that found the bruise is withdrawn, and in the same Bundle the baby's
    birth date is corrected a year earlier: without the error the alert would be gone
    all the same, so it is resolved, not withdrawn. Without the correction, withdrawn."""
    send(bundle(mother(), patient(), encounter(), observation("o1", "125667009")))
    family = m.Family.objects.get(index_child__nhs_number=BABY_NHS)
    alert = family.alerts.get(rule="injury-in-non-mobile-infant", status="open")
    send(bundle(patient(born="2025-10-20"), encounter(status="entered-in-error")))
    assert contact("Encounter/e1").entered_in_error
    alert.refresh_from_db()
    assert alert.status == m.Alert.RESOLVED
    assert not alert.changes.filter(change="withdrawn").exists()


def test_an_alert_about_the_person_a_withdrawn_finding_named_is_withdrawn():
    """The bruise was recorded at the mother's visit about the baby; withdrawn, the
    visit is no longer about the baby, and the baby's injury alert is withdrawn."""
    send(bundle(mother(), patient(), encounter(who="RelatedPerson/mum")))
    send(bundle(observation("o1", "125667009", who="Patient/baby")))
    family = m.Family.objects.get(index_child__nhs_number=BABY_NHS)
    alert = family.alerts.get(rule="injury-in-non-mobile-infant", status="open")
    send(
        bundle({**observation("o1", "125667009", who="Patient/baby"), "status": "entered-in-error"})
    )
    alert.refresh_from_db()
    assert alert.status == m.Alert.WITHDRAWN
    baby = m.Person.objects.get(nhs_number=BABY_NHS)
    assert baby not in contact("Encounter/e1").subjects.all()
    assert contact("Encounter/e1").withdrawn_findings == [{"words": ["bruise"], "subject": baby.pk}]


def _words(sid="Encounter/e1") -> list[str]:
    return list(contact(sid).findings.values_list("word", flat=True).order_by("word"))


def test_a_finding_withdrawn_while_another_finds_it_again_stays():
    send(bundle(patient(), encounter(), observation("o1", "125667009")))
    send(bundle({**observation("o1", "125667009"), "status": "entered-in-error"},
                observation("o3", "125667009")))  # fmt: skip
    assert _words() == ["bruise"]
    # Found by two resources, the word stays while either stands.
    send(bundle(observation("o5", "125667009")))
    send(bundle({**observation("o3", "125667009"), "status": "entered-in-error"}))
    assert _words() == ["bruise"]
    send(bundle({**observation("o5", "125667009"), "status": "cancelled"}))
    assert _words() == []
    # A withdrawal about an encounter never sent is held, saying why.
    result = send(
        bundle(
            {**observation("o4", "125667009", enc="Encounter/none"), "status": "entered-in-error"}
        )
    )
    (held,) = result.quarantined
    assert "neither in this Bundle nor sent before" in held.reasons[0]["problem"]


def condition(cid, code, verification="confirmed"):
    return {
        "resourceType": "Condition", "id": cid, "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]},
        "subject": {"reference": "Patient/baby"}, "encounter": {"reference": "Encounter/e1"},
    }  # fmt: skip


@pytest.mark.parametrize("verification", ["entered-in-error", "refuted"])
def test_a_condition_entered_in_error_or_refuted_is_no_finding(verification):
    send(bundle(patient(), encounter(), condition("k1", "125667009")))
    assert list(contact("Encounter/e1").findings.values_list("word", flat=True)) == ["bruise"]
    send(bundle(condition("k1", "125667009", verification)))
    assert not contact("Encounter/e1").findings.exists()
    # Never a finding, sent so at first.
    send(
        bundle(
            encounter("e2"),
            {
                **condition("k2", "125667009", verification),
                "encounter": {"reference": "Encounter/e2"},
            },
        )
    )
    assert not contact("Encounter/e2").findings.exists()


NOT_SEEN = "urn:cradle:extension:not-seen"


def test_an_encounter_says_the_baby_was_not_there_and_seen_without_baby_prompts():
    review = {
        **encounter("rev", klass="AMB"),
        "participant": [{"individual": {"reference": "RelatedPerson/mum"}}],
        "extension": [{"url": NOT_SEEN, "valueReference": {"reference": "Patient/baby"}}],
    }
    earlier = encounter("clinic", klass="AMB", start="2026-11-10T10:00:00Z")
    result = send(bundle(mother(), patient(), review, earlier))
    assert not result.quarantined, [q.reasons for q in result.quarantined]
    baby, mum = (m.Person.objects.get(nhs_number=n) for n in (BABY_NHS, MUM_NHS))
    visit = contact("Encounter/rev")
    assert set(visit.subjects.all()) == {baby, mum} and list(visit.seen.all()) == [mum]
    assert list(contact("Encounter/clinic").seen.all()) == [baby]  # no extension: seen
    family = m.Family.objects.get(index_child=baby)
    (alert,) = family.alerts.filter(rule="seen-without-baby", status="open")
    assert f"c{visit.pk}" in alert.evidence and f"c{contact('Encounter/clinic').pk}" not in (
        alert.evidence
    )


def test_an_appointment_says_who_was_not_there():
    appt = {
        **appointment("a1", "fulfilled", who="RelatedPerson/mum"),
        "extension": [{"url": NOT_SEEN, "valueReference": {"reference": "Patient/baby"}}],
    }
    send(bundle(patient(), mother(), appt))
    baby, mum = (m.Person.objects.get(nhs_number=n) for n in (BABY_NHS, MUM_NHS))
    visit = contact("Appointment/a1")
    assert set(visit.subjects.all()) == {baby, mum} and list(visit.seen.all()) == [mum]
    # Not brought: the baby, named only as not there, is still whom it was about.
    missed = {**appt, "id": "a2", "status": "noshow"}
    send(bundle(missed))
    assert contact("Appointment/a2").outcome == "was_not_brought"


def test_not_seen_must_name_a_person():
    bad = {
        **encounter(),
        "extension": [{"url": NOT_SEEN, "valueReference": {"reference": "Practitioner/p1"}}],
    }
    result = send(bundle(patient(), bad))
    (held,) = result.quarantined
    assert [r["field"] for r in held.reasons] == ["extension"]


def test_a_resource_that_cannot_be_read_still_marks_the_family_it_names():
    send(bundle(mother(), patient()))
    family = m.Family.objects.get(index_child__nhs_number=BABY_NHS)
    result = send(
        bundle(
            encounter("bad", klass="XYZ"),
            {**encounter("lost"), "subject": {"reference": "Patient/nobody"}},
        )
    )
    held = {q.locator: q for q in result.quarantined}
    assert len(held) == 2
    marked = {q.pk: list(q.families.all()) for q in held.values()}
    assert sorted(marked.values(), key=len) == [[], [family]]  # the unknown patient: nobody


def test_an_encounter_sent_again_keeps_what_its_observations_found():
    """An Encounter is amended (its end, its status) and sent alone: the bruise its
    Observation found, sent in another Bundle, is still there (it was lost before)."""
    send(bundle(patient(), encounter()))
    send(bundle(observation("o1", "125667009")))
    assert _words() == ["bruise"]
    send(bundle(encounter(start="2026-11-21T10:00:00Z")))  # the day corrected
    assert str(contact("Encounter/e1").occurred_on) == "2026-11-21"
    assert _words() == ["bruise"]
    assert SourceRecord.objects.get(source_id="Encounter/e1").version == 3
    # And a Bundle of both, sent again, changes nothing.
    again = bundle(encounter(start="2026-11-21T10:00:00Z"), observation("o1", "125667009"))
    assert send(again).versioned == 0


def test_a_finding_withdrawn_takes_its_subject_with_it():
    """A bruise recorded on the wrong baby's visit names that baby: withdrawn, the visit
    is no longer about them, and their family no longer sees it."""
    send(bundle(patient(), patient("other", nhs=None), encounter()))
    send(bundle(observation("o1", "125667009", who="Patient/other")))
    other = m.Person.objects.get(source_key="feed:health_visiting:Patient/other")
    assert other in contact("Encounter/e1").subjects.all()
    send(
        bundle(
            {**observation("o1", "125667009", who="Patient/other"), "status": "entered-in-error"}
        )
    )
    visit = contact("Encounter/e1")
    assert other not in visit.subjects.all() and visit.subjects.count() == 1
    assert _words() == []


def test_the_wrong_babys_alert_in_another_family_is_withdrawn_with_the_finding():
    """The bruise recorded at one baby's visit about another baby, of another family:
    withdrawn, the visit leaves that family's record, and its alert is withdrawn (the
    record read again with the visit about them)."""
    other_nhs = "9434765927"
    send(bundle(patient(), patient("other", nhs=other_nhs), encounter()))
    send(bundle(observation("o1", "125667009", who="Patient/other")))
    family = m.Family.objects.get(index_child__nhs_number=other_nhs)
    alert = family.alerts.get(rule="injury-in-non-mobile-infant", status="open")
    send(
        bundle(
            {**observation("o1", "125667009", who="Patient/other"), "status": "entered-in-error"}
        )
    )
    other = m.Person.objects.get(nhs_number=other_nhs)
    assert other not in contact("Encounter/e1").subjects.all()
    alert.refresh_from_db()
    assert (alert.status, alert.resolution) == (
        m.Alert.WITHDRAWN,
        "a finding behind it was withdrawn",
    )
    # Sent again, whole or in part, in any order: no new version.
    withdrawal = {**observation("o1", "125667009", who="Patient/other"), "status": "cancelled"}
    for again in (bundle(encounter()), bundle(withdrawal, encounter()), bundle(withdrawal)):
        assert send(again).versioned == 0


def test_an_observation_sent_again_changed_replaces_what_it_found():
    send(bundle(patient(), encounter(), observation("o1", "125667009")))
    send(bundle({**observation("o1", "35489007"), "status": "amended"}))
    assert _words() == ["depression"]


def test_findings_sent_before_they_were_kept_by_resource_are_kept():
    """An encounter's content from before this change has its words and no sources:
    sent again, it keeps them; a withdrawal takes its words off."""
    send(
        bundle(
            patient(), encounter(), observation("o1", "125667009"), observation("o2", "35489007")
        )
    )
    version = SourceRecord.objects.get(source_id="Encounter/e1").versions.get(version=1)
    content = dict(version.content)
    del content["finding_sources"]
    SourceVersion.objects.filter(pk=version.pk).update(content=content)
    SourceRecord.objects.filter(source_id="Encounter/e1").update(content_hash=content_hash(content))
    # Sent again unchanged, it stays as it was (no new version for the upgrade's sake).
    assert send(bundle(encounter())).versioned == 0
    send(bundle(encounter(start="2026-11-21T10:00:00Z")))
    assert _words() == ["bruise", "depression"]
    send(bundle({**observation("o1", "125667009"), "status": "entered-in-error"}))
    assert _words() == ["depression"]
    # A resource sent again, then withdrawn: its words leave those kept by word.
    send(bundle(observation("o2", "35489007")))
    send(bundle({**observation("o2", "35489007"), "status": "entered-in-error"}))
    assert _words() == []


def test_a_finding_kept_by_word_withdrawn_is_kept_as_withdrawn_and_its_alert_withdrawn():
    """An encounter's bruise sent before findings were kept by resource, its Observation
    withdrawn: the word kept by word is the one withdrawn (kept so), and the injury alert
    it raised is withdrawn, not resolved."""
    send(bundle(mother(), patient(), encounter(), observation("o1", "125667009")))
    version = SourceRecord.objects.get(source_id="Encounter/e1").versions.get(version=1)
    content = {k: v for k, v in version.content.items() if k != "finding_sources"}
    SourceVersion.objects.filter(pk=version.pk).update(content=content)
    SourceRecord.objects.filter(source_id="Encounter/e1").update(content_hash=content_hash(content))
    family = m.Family.objects.get(index_child__nhs_number=BABY_NHS)
    alert = family.alerts.get(rule="injury-in-non-mobile-infant", status="open")
    withdrawal = {**observation("o1", "125667009"), "status": "entered-in-error"}
    send(bundle(withdrawal))
    last = SourceRecord.objects.get(source_id="Encounter/e1").versions.last().content
    assert last["finding_sources"] == {
        "Observation/o1": {"words": ["bruise"], "subject": "", "withdrawn": True}
    }
    assert _words() == [] and contact("Encounter/e1").withdrawn_findings == [
        {"words": ["bruise"], "subject": None}
    ]
    alert.refresh_from_db()
    assert alert.status == m.Alert.WITHDRAWN
    assert send(bundle(withdrawal)).versioned == 0
    assert send(bundle(encounter(), withdrawal)).versioned == 0


CODES = {"125667009": "bruise", "35489007": "depression", "1234": None}
_EXAMPLE = itertools.count()


@settings(max_examples=25, suppress_health_check=list(HealthCheck), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["o1", "o2", "o3"]),
            st.sampled_from(sorted(CODES)),
            st.sampled_from(["final", "amended", "preliminary", "entered-in-error", "cancelled"]),
            st.sampled_from(["Observation", "Condition-confirmed", "Condition-refuted"]),
            st.booleans(),  # the Encounter sent again in the same Bundle
            st.sampled_from(["Patient/baby", "Patient/twin", "RelatedPerson/mum"]),
        ),
        max_size=6,
    )
)
def test_an_encounters_findings_are_those_of_its_resources_standing(sent):
    """Whatever order findings are sent, changed, withdrawn and the Encounter sent again
    in: its findings are the words of each resource as last sent, but for those withdrawn."""
    n = next(_EXAMPLE)  # each example its own encounter and resources
    visit = encounter(f"h{n}")
    send(bundle(mother(), patient(), patient("twin", nhs=None), visit))
    standing: dict[str, tuple] = {}
    gone: dict[str, tuple] = {}  # once standing, withdrawn since
    last: dict[str, dict] = {}
    for oid, code, status, rtype, with_encounter, who in sent:
        rid, at = f"{n}-{oid}", f"Encounter/h{n}"
        if rtype == "Observation":
            resource = {**observation(rid, code, enc=at, who=who), "status": status}
            withdrawn = status in ("entered-in-error", "cancelled")
        else:
            resource = {**condition(rid, code, rtype.split("-")[1]), "encounter": {"reference": at},
                        "subject": {"reference": who}}  # fmt: skip
            withdrawn = rtype == "Condition-refuted"
        result = send(bundle(*([visit] if with_encounter else []), resource))
        if CODES[code] is None:
            assert len(result.quarantined) == 1  # no mapped code: held, saying why
            continue
        assert not result.quarantined
        key = f"{resource['resourceType']}/{rid}"
        if withdrawn:
            if key in standing:
                gone[key] = standing.pop(key)
        else:
            standing[key], last[key] = (CODES[code], who), resource
            gone.pop(key, None)
        assert set(_words(at)) == {word for word, _who in standing.values()}
        person = {
            w: m.Person.objects.get(source_key=f"feed:health_visiting:{w}").pk
            for _, w in gone.values()
        }
        assert sorted(
            (entry["words"], entry["subject"]) for entry in contact(at).withdrawn_findings or []
        ) == sorted(([word], person[w]) for word, w in gone.values())
        subjects = contact(at).subjects.values_list("source_key", flat=True)
        assert set(subjects) == {
            f"feed:health_visiting:{w}"
            for w in {"Patient/baby", *(w for _, w in standing.values())}
        }
    # What stands, sent again in any order: nothing changes.
    assert send(bundle(*reversed([last[k] for k in standing]))).versioned == 0


def test_findings_naming_others_sent_again_change_nothing():
    """The subjects a finding names are in one order however they are sent: the content,
    and its hash, the same (a new version each time, before)."""
    send(bundle(mother(), patient(), patient("twin", nhs=None), encounter()))
    found = [observation("o2", "125667009", who="Patient/twin"),
             observation("o1", "35489007", who="RelatedPerson/mum")]  # fmt: skip
    assert send(bundle(*found)).versioned == 1
    assert send(bundle(*found)).versioned == 0
    assert send(bundle(*reversed(found))).versioned == 0


def test_a_correction_settles_its_own_records_never_another_held_beside_it():
    """An Encounter held (its Patient not sent); the correction Bundle brings the Patient,
    wrong too: both held as its corrections. The Patient corrected is taken, and the
    Encounter and the first item still wait; the Encounter corrected, all are settled."""
    (root,) = send(bundle(encounter("e9", who="Patient/p9"))).quarantined
    bad_patient = patient("p9", nhs=None, born="2099-01-01")  # born after today
    again = resubmit(
        root, bundle(bad_patient, encounter("e9", who="Patient/p9")), by="t", today=TODAY
    )
    held = {q.record_type: q for q in again.result.quarantined}
    assert set(held) == {"fhir:Patient", "fhir:Encounter"}
    assert all(q.corrects_id == root.pk for q in held.values())
    resubmit(
        held["fhir:Patient"], json.dumps(patient("p9", nhs=None)).encode(), by="t", today=TODAY
    )
    for q in (root, *held.values()):
        q.refresh_from_db()
    assert held["fhir:Patient"].status == QuarantineItem.ACCEPTED
    assert (root.status, held["fhir:Encounter"].status) == (
        QuarantineItem.RESUBMITTED,
        QuarantineItem.HELD,
    )
    assert not SourceRecord.objects.filter(source_id="Encounter/e9").exists()
    resubmit(
        held["fhir:Encounter"],
        json.dumps(encounter("e9", who="Patient/p9")).encode(),
        by="t",
        today=TODAY,
    )
    root.refresh_from_db()
    assert root.status == QuarantineItem.ACCEPTED and contact("Encounter/e9")


def test_a_correction_held_whole_is_corrected_only_by_the_first_items_record():
    """A correction refused whole (a Bundle with no type) names no record of its own: its
    correction must still be of the record first held, not any other in its place."""
    (root,) = send(bundle(encounter("e9", who="Patient/p9"))).quarantined
    whole = json.dumps(
        {"resourceType": "Bundle", "entry": [{"resource": encounter("e9", who="Patient/p9")}]}
    )
    (child,) = resubmit(root, whole.encode(), by="t", today=TODAY).result.quarantined
    assert child.corrects_id == root.pk
    with pytest.raises(NotResubmitted, match="not of the record held"):
        resubmit(child, bundle(patient("other", nhs=None)), by="t", today=TODAY)


def _encounter_then_another_bruise_meanwhile(monkeypatch, in_thread: bool = False) -> list:
    """A baby's Encounter sent; then another import of an Observation of a bruise on it
    written between the next reading of it and its writing (below)."""
    send(bundle(patient(), encounter()))
    return _another_import_between_reading_and_writing(
        monkeypatch, bundle(observation("o1", "125667009")), in_thread=in_thread
    )


def _another_import_between_reading_and_writing(
    monkeypatch, *others: bytes, in_thread: bool = False
) -> list:
    """Each of the next readings of what was sent before, by the thread that reads first,
    is followed at once by another import's writing the next of ``others`` (as another
    process would, between this one's reading and its writing): ``in_thread``, committed
    on a connection of its own while this one's transaction is open (PostgreSQL). The
    versions read, each time and by either, are noted."""
    import threading

    from django.db import connections

    from cradle.feeds import fhir

    real, seen, pending, first = fhir.db_lookups, [], list(others), []

    def another(other):
        try:
            send(other)
        finally:
            connections.close_all()

    def write(other):
        if not in_thread:
            return send(other)
        thread = threading.Thread(target=another, args=(other,))
        thread.start()
        thread.join(60)

    def lookups(agency):
        found = real(agency)
        read = found.contact_contents

        def contents(source_ids):
            out = read(source_ids)
            seen.append({sid: version for sid, (version, _c) in out.items()})
            first[:] = first or [threading.get_ident()]
            if pending and threading.get_ident() == first[0]:
                write(pending.pop(0))  # which reads, for its own Encounter, afterwards
            return out

        found.contact_contents = contents
        return found

    monkeypatch.setattr(fhir, "db_lookups", lookups)
    return seen


def test_a_record_made_from_an_older_version_is_not_written():
    """Records read before another import wrote the Encounter they join a finding to are
    refused whole when written (``Stale``): nothing of them written, the transaction left
    to its caller (``read_fhir`` and the API read them again)."""
    from django.db import transaction

    from cradle.feeds import fhir
    from cradle.feeds.ingest import Stale, apply_batch

    send(bundle(patient(), encounter()))
    renamed = patient(name=[{"use": "official", "given": ["Changed"], "family": "Fhirfamily"}])
    second = bundle(renamed, observation("o2", "35489007"))
    message, _ = keep_bytes(
        second, source_system="file:b", agency="health_visiting", channel="file"
    )
    read = fhir.read_bundle(
        second, TODAY, agency="health_visiting", lookups=fhir.db_lookups("health_visiting")
    )
    # The Patient as sent; the Encounter made from its version 1, with the finding joined.
    assert [(i.kind, i.based_on) for i in read.items] == [("person", None), ("contact", 1)]
    send(bundle(observation("o1", "125667009")))  # another import, meanwhile
    with pytest.raises(Stale), transaction.atomic():
        apply_batch(read.items, agency="health_visiting", message=message, today=TODAY)
    assert _words() == ["bruise"]
    assert m.Person.objects.get(nhs_number=BABY_NHS).given_name == "Test"
    assert SourceRecord.objects.get(source_id="Encounter/e1").version == 2


def test_an_encounter_twice_in_one_bundle_is_written_over_itself_not_refused_as_stale():
    """Both made from the version read; the second is written over the first's."""
    send(bundle(patient(), encounter()))
    result = send(
        bundle(encounter(start="2026-11-21T10:00:00Z"), encounter(start="2026-11-22T10:00:00Z"))
    )
    assert (result.versioned, result.quarantined) == (2, [])
    assert str(contact("Encounter/e1").occurred_on) == "2026-11-22"


def test_a_resource_named_by_a_full_url_with_white_space_is_found_as_it_is_kept():
    """Its id is kept stripped ("urn:uuid:e1 " as "urn:uuid:e1") and looked up so: sent
    again it is a new version of itself (looked up as sent it was never found, and every
    Bundle that changed it was refused as stale), a finding joins what it was, and a
    mother named by such a fullUrl is still a subject (references are matched as sent)."""

    def entries(*pairs) -> bytes:
        return json.dumps({"resourceType": "Bundle", "type": "collection",
                           "entry": [{"fullUrl": u, "resource": r} for u, r in pairs]}).encode()  # fmt: skip

    visit = {k: v for k, v in encounter().items() if k != "id"}
    mum = {**patient("mumpat", nhs=MUM_NHS, gender="female", born="1996-02-02")}
    visit["participant"] = [{"individual": {"reference": "urn:uuid:m "}}]
    send(entries(("urn:uuid:p", patient()), ("urn:uuid:m ", mum), ("urn:uuid:e1 ", visit)))
    assert contact("Encounter/urn:uuid:e1").subjects.count() == 2
    moved = {**visit, "period": {"start": "2026-11-21T10:00:00Z"}}
    result = send(entries(("urn:uuid:e1 ", moved)))
    assert (result.versioned, result.quarantined) == (1, [])
    found = observation("o1", "125667009", enc="urn:uuid:e1 ")
    assert send(entries(("urn:uuid:e1 ", moved), ("urn:uuid:o", found))).versioned == 1
    assert _words("Encounter/urn:uuid:e1") == ["bruise"]
    assert str(contact("Encounter/urn:uuid:e1").occurred_on) == "2026-11-21"
