"""Every page, for the people who may see it and for the stranger who must get "not found"."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from cradle.access.models import Allocation, AuditEntry, Membership, Team
from cradle.records import models as m
from cradle.records.loading import load_case
from tests.signin import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(calderdale, today):
    """Calderdale as of its day 40, held by a health visiting team; a lead; a stranger."""
    with time_machine.travel(today, tick=False):
        family = load_case(calderdale, today, today_is_day=40).family
    User = get_user_model()
    hv_team = Team.objects.create(name="HV", agency="health_visiting")
    lead_team = Team.objects.create(name="Safeguarding", agency="health_visiting")
    other = Team.objects.create(name="HV elsewhere", agency="health_visiting")
    users = {}
    for name, team, role in (("hv", hv_team, "health_visitor"), ("lead", lead_team, "safeguarding_lead"), ("stranger", other, "health_visitor")):
        users[name] = User.objects.create_user(name, password="x" * 12)
        Membership.objects.create(user=users[name], team=team, role=role)
    Allocation.objects.create(family=family, team=hv_team, practitioner=users["hv"], since=family.origin)
    return {"family": family, **users}


@pytest.fixture
def as_user(client, today):
    def login(user):
        sign_in(client, user)
        return client

    with time_machine.travel(today, tick=False):
        yield login


def pages(family):
    return [
        f"/families/{family.pk}/",
        f"/families/{family.pk}/contacts/new/",
        f"/families/{family.pk}/icon/new/",
        f"/families/{family.pk}/assessments/new/",
    ]


def test_signed_out_everyone_is_sent_to_sign_in(client, site):
    for url in ["/", "/inbox/", *pages(site["family"])]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_the_allocated_health_visitor_sees_every_page(as_user, site):
    client = as_user(site["hv"])
    for url in pages(site["family"]):
        assert client.get(url).status_code == 200, url
    assert site["family"].title.encode() in client.get("/").content


def test_a_stranger_gets_not_found_on_every_family_page(as_user, site):
    client = as_user(site["stranger"])
    for url in pages(site["family"]):
        assert client.get(url).status_code == 404, url
    assert site["family"].title.encode() not in client.get("/").content
    assert client.post(pages(site["family"])[0], {"alert": 1, "decision": "acknowledge"}).status_code == 404


def test_the_family_page_shows_alerts_explained_and_the_invisible_man(as_user, site):
    page = as_user(site["hv"]).get(f"/families/{site['family'].pk}/").content.decode()
    assert 'data-rule="no-access-stepped" data-step="3"' in page
    assert "3rd consecutive failed health visiting contact" in page
    assert "Father / male carer not identified" in page
    assert 'data-mark="Failed contact"' in page


def test_every_read_of_a_family_is_audited(as_user, site):
    before = AuditEntry.objects.filter(action="read", family=site["family"]).count()
    as_user(site["hv"]).get(f"/families/{site['family'].pk}/")
    assert AuditEntry.objects.filter(action="read", family=site["family"], user=site["hv"]).count() == before + 1


def test_dismissing_without_a_reason_is_refused_next_to_the_field(as_user, site):
    client = as_user(site["hv"])
    alert = site["family"].alerts.filter(status="open").first()
    response = client.post(f"/families/{site['family'].pk}/", {"alert": alert.pk, "decision": "dismissed", "note": ""})
    assert response.status_code == 400
    assert f'id="note-{alert.pk}-error"' in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == "open"


def test_recording_a_contact_updates_the_alerts(as_user, site, today):
    client = as_user(site["hv"])
    family = site["family"]
    baby, mum = family.index_child, family.members.get(familymember__role="mother")
    members = {fm.person_id: fm.pk for fm in m.FamilyMember.objects.filter(family=family)}
    response = client.post(
        f"/families/{family.pk}/contacts/new/",
        {
            "kind": "home_visit",
            "agency": "health_visiting",
            "occurred_on": today.strftime("%d/%m/%Y"),
            "outcome": "attended",
            "channel": "home_visit",
            "subjects": [members[baby.pk], members[mum.pk]],
            "seen": [members[baby.pk], members[mum.pk]],
            "household": "Mother, baby and the baby's father",
        },
    )
    assert response.status_code == 302
    # Seen at home today: the failed-visits alert and the contact gap both clear.
    live = set(family.alerts.filter(status__in=m.Alert.LIVE).values_list("rule", flat=True))
    assert "no-access-stepped" not in live and "under-one-contact-gap" not in live
    assert m.Contact.objects.filter(note__contains="Household: Mother, baby").exists()


def test_a_bad_form_shows_errors_and_saves_nothing(as_user, site, today):
    client = as_user(site["hv"])
    before = m.Contact.objects.count()
    response = client.post(
        f"/families/{site['family'].pk}/contacts/new/",
        {"kind": "home_visit", "agency": "health_visiting", "occurred_on": (today + timedelta(days=3)).strftime("%d/%m/%Y")},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page and "nhsuk-error-message" in page
    assert m.Contact.objects.count() == before


def test_icon_and_parenting_assessment_forms_record_what_the_rules_read(as_user, site, today):
    client = as_user(site["hv"])
    family = site["family"]
    members = list(m.FamilyMember.objects.filter(family=family).order_by("pk"))
    baby = next(fm for fm in members if fm.role == "child")
    parents = [fm for fm in members if fm.role in ("mother", "father")]
    when = today.strftime("%d/%m/%Y")
    response = client.post(
        f"/families/{family.pk}/icon/new/",
        {"occurred_on": when, "agency": "health_visiting", "touchpoint": "new_birth_visit", "delivered_to": [p.pk for p in parents]},
    )
    assert response.status_code == 302
    icon = m.Contact.objects.get(kind="icon_delivered")
    assert icon.touchpoint == "new_birth_visit" and icon.delivered_to.count() == len(parents)
    answers = {"visiting": "yes", "feeding": "yes", "safe_sleep": "yes", "icon": "yes", "male_carer": "no", "household": "Mother and baby"}
    response = client.post(
        f"/families/{family.pk}/assessments/new/", {"occurred_on": when, "seen": [baby.pk, parents[0].pk], **answers}
    )
    assert response.status_code == 302
    assessment = m.ParentingAssessment.objects.get()
    assert assessment.form_version == "nnu-parenting-1" and assessment.answers["male_carer"] == "no"
    assert assessment.contact.kind == "parenting_assessment"


def test_the_inbox_is_the_safeguarding_lead_s(as_user, site, client):
    lead_page = as_user(site["lead"]).get("/inbox/")
    assert lead_page.status_code == 200
    page = lead_page.content.decode()
    assert "no-access-stepped" in page and "data-overdue" in page  # raised on day 23, due that day
    sign_in(client, site["hv"])
    assert client.get("/inbox/").status_code == 404


def test_my_tasks_lists_the_alerts_whose_task_is_mine(as_user, site):
    page = as_user(site["hv"]).get("/tasks/").content.decode()
    assert "under-one-contact-gap" in page  # for the health visitor
    assert "nnu-discharge-without-parenting-assessment" not in page  # for the neonatal unit


def test_a_duty_worker_sees_families_no_team_of_their_service_holds(site, today, client):
    from cradle.access.models import Membership, Team

    User = get_user_model()
    duty = User.objects.create_user("duty", password="x" * 12)
    Membership.objects.create(user=duty, team=Team.objects.create(name="Social care duty", agency="childrens_social_care"), role="social_worker", is_duty_worker=True)
    with time_machine.travel(today, tick=False):
        sign_in(client, duty)
        assert client.get(f"/families/{site['family'].pk}/").status_code == 200  # no social care team holds it
        Allocation.objects.create(family=site["family"], team=Team.objects.create(name="Social work team", agency="childrens_social_care"), since=today)
        assert client.get(f"/families/{site['family'].pk}/").status_code == 404


def test_marking_a_contact_entered_in_error_from_the_page_withdraws_its_alerts(as_user, site):
    client = as_user(site["hv"])
    family = site["family"]
    alert = family.alerts.get(rule="no-access-stepped", status="open")
    contact = m.Contact.objects.get(pk=int(alert.evidence[-1][1:]))
    url = f"/families/{family.pk}/contacts/{contact.pk}/error/"
    client.post(url, {"reason": ""})
    contact.refresh_from_db()
    assert not contact.entered_in_error  # a reason is required
    client.post(url, {"reason": "recorded on the wrong family"})
    contact.refresh_from_db()
    alert.refresh_from_db()
    assert contact.entered_in_error and alert.status == "withdrawn"
    assert as_user(site["stranger"]).post(url, {"reason": "x"}).status_code == 404


def test_the_icon_and_assessment_forms_re_evaluate_the_family(as_user, site, today):
    client = as_user(site["hv"])
    family = site["family"]
    members = list(m.FamilyMember.objects.filter(family=family).order_by("pk"))
    baby = next(fm for fm in members if fm.role == "child")
    mum = next(fm for fm in members if fm.role == "mother")
    when = today.strftime("%d/%m/%Y")
    assert family.alerts.filter(rule="icon-not-delivered", scope="antenatal", status="open").exists()
    client.post(f"/families/{family.pk}/icon/new/", {"occurred_on": when, "agency": "health_visiting", "touchpoint": "antenatal", "delivered_to": [mum.pk]})
    assert not family.alerts.filter(rule="icon-not-delivered", scope="antenatal", status="open").exists()
    assert family.alerts.filter(rule="under-one-contact-gap", status="open").exists()
    answers = {"visiting": "yes", "feeding": "yes", "safe_sleep": "yes", "icon": "yes", "male_carer": "no", "household": "Mother and baby"}
    client.post(f"/families/{family.pk}/assessments/new/", {"occurred_on": when, "seen": [baby.pk, mum.pk], **answers})
    assert not family.alerts.filter(rule="under-one-contact-gap", status="open").exists()  # the baby was seen


def test_the_safeguarding_lead_sees_who_has_looked(as_user, site, client):
    as_user(site["hv"]).get(f"/families/{site['family'].pk}/")
    sign_in(client, site["lead"])
    page = client.get(f"/families/{site['family'].pk}/audit/").content.decode()
    assert "hv" in page and "health_visitor" in page and "read: family record" in page
    sign_in(client, site["hv"])
    assert client.get(f"/families/{site['family'].pk}/audit/").status_code == 404


def test_sensitive_detail_is_shown_only_to_roles_that_need_it(as_user, site, client, today):
    """A police call-out about the father: the health visitor sees that a concern exists
    and whom to ask; the social worker sees the detail."""
    family = site["family"]
    dad = family.members.get(familymember__role="father")
    callout = m.Contact.objects.create(
        source_key="test/police", agency="police", kind="police_callout", occurred_on=today - timedelta(days=2),
        recorded_on=today - timedelta(days=2), outcome="attended", channel="home_visit", note="Shouting heard; partner bruised",
    )  # fmt: skip
    callout.subjects.add(dad)
    m.ContactFinding.objects.create(contact=callout, word="domestic_abuse")
    hv_page = as_user(site["hv"]).get(f"/families/{family.pk}/").content.decode()
    assert "Shouting heard" not in hv_page and "domestic abuse" not in hv_page
    assert "A concern is recorded that you may not see in detail: ask the police." in hv_page

    from cradle.access.models import Membership, Team

    sw = get_user_model().objects.create_user("sw", password="x" * 12)
    sw_team = Team.objects.create(name="Social work", agency="childrens_social_care")
    Membership.objects.create(user=sw, team=sw_team, role="social_worker")
    Allocation.objects.create(family=family, team=sw_team, since=today)
    sign_in(client, sw)
    sw_page = client.get(f"/families/{family.pk}/").content.decode()
    assert "Shouting heard" in sw_page and "domestic abuse" in sw_page


def test_break_glass_needs_a_reason_is_time_limited_logged_and_shown_to_the_lead(as_user, site, client, today):
    import time_machine as tm

    from cradle.access.models import BreakGlass, Membership, Team

    ed = get_user_model().objects.create_user("ed", password="x" * 12)
    Membership.objects.create(user=ed, team=Team.objects.create(name="ED", agency="ed"), role="emergency_clinician")
    family = site["family"]
    baby = family.index_child
    assert baby.nhs_number  # the Calderdale baby's made-up number passes the check digit
    with tm.travel("2026-11-26 03:00", tick=False) as clock:
        sign_in(client, ed)
        assert client.get(f"/families/{family.pk}/").status_code == 404
        refused = client.post("/break-glass/", {"nhs_number": baby.nhs_number, "reason": " "})
        assert refused.status_code == 400 and not BreakGlass.objects.exists()
        opened = client.post("/break-glass/", {"nhs_number": baby.nhs_number, "reason": "Baby in resus, 3 a.m."})
        assert opened.status_code == 302 and opened["Location"] == f"/families/{family.pk}/"
        assert client.get(f"/families/{family.pk}/").status_code == 200
        assert AuditEntry.objects.filter(user=ed, family=family, break_glass=True, action="read").exists()
        mum = family.members.get(familymember__role="mother")
        assert client.get(f"/people/{mum.pk}/").status_code == 200  # the mother's record, under the same access
        assert AuditEntry.objects.filter(user=ed, what=f"person record {mum.pk}", break_glass=True).exists()
        clock.shift(5 * 3600)  # four hours later it has lapsed (and the idle session has ended)
        assert client.get(f"/families/{family.pk}/").status_code == 302
        sign_in(client, ed)
        assert client.get(f"/families/{family.pk}/").status_code == 404
    sign_in(client, site["lead"])
    with tm.travel(today, tick=False):
        page = client.get("/break-glass/recent/").content.decode()
    assert "Baby in resus, 3 a.m." in page and "ed" in page
