"""Who an alert goes to, the email that tells them (once, with no personal data), and
the escalation of alerts left unacknowledged past their due date (once per level)."""

from datetime import date, timedelta
from smtplib import SMTPException, SMTPRecipientsRefused

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from cradle.access.models import Allocation, AuditEntry, Membership, Team
from cradle.cli import main
from cradle.domain.calendar import add_working_days
from cradle.records import actions
from cradle.records import models as m
from cradle.records.notify import claim, escalate, notify_raised, recipients

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 11, 16)  # a week with no bank holiday
WEDNESDAY, THURSDAY, FRIDAY = (MONDAY + timedelta(days=n) for n in (2, 3, 4))
NEXT_MONDAY, NEXT_TUESDAY = MONDAY + timedelta(days=7), MONDAY + timedelta(days=8)
NOTE = "Mother said her partner Zebedee Quillfeather hit her last week"


@pytest.fixture
def world():
    """A family held by a health visiting team (with an allocated health visitor) and
    by children's social care (nobody allocated); the health visiting safeguarding
    leads in a team of their own; another health visiting team; a midwifery lead."""
    User = get_user_model()

    def user(name, team, role, *, duty=False, active=True):
        u = User.objects.create_user(name, email=f"{name}@example.nhs.uk", password="x" * 12, is_active=active)
        Membership.objects.create(user=u, team=team, role=role, is_duty_worker=duty)
        return u

    hv_team = Team.objects.create(name="Health visiting north", agency="health_visiting")
    sw_team = Team.objects.create(name="Children's social care", agency="childrens_social_care")
    leads = Team.objects.create(name="Health visiting safeguarding", agency="health_visiting")
    south = Team.objects.create(name="Health visiting south", agency="health_visiting")
    mw_team = Team.objects.create(name="Midwifery", agency="midwifery")
    w = {
        "hv": user("hv", hv_team, "health_visitor"),
        "hv2": user("hv2", hv_team, "health_visitor"),
        "hv_duty": user("hv_duty", hv_team, "health_visitor", duty=True),
        "leader": user("leader", hv_team, "team_leader"),
        "old_leader": user("old_leader", hv_team, "team_leader", active=False),
        "sw": user("sw", sw_team, "social_worker"),
        "sw_duty": user("sw_duty", sw_team, "social_worker", duty=True),
        "sw_leader": user("sw_leader", sw_team, "team_leader"),
        "lead": user("lead", leads, "safeguarding_lead"),
        "south_duty": user("south_duty", south, "health_visitor", duty=True),
        "south_gone": user("south_gone", south, "health_visitor", duty=True, active=False),
        "mw_lead": user("mw_lead", mw_team, "safeguarding_lead"),
    }
    origin = MONDAY - timedelta(days=30)
    family = m.Family.objects.create(reference="QF-2026-0042", title="Quillfeather family", origin=origin)
    baby = m.Person.objects.create(
        source_key="t/baby", sex="female", born_on=origin, given_name="Amaryllis", family_name="Quillfeather",
        nhs_number="9434765919",
    )  # fmt: skip
    mum = m.Person.objects.create(
        source_key="t/mum", sex="female", born_on=origin - timedelta(days=10000), given_name="Philippa",
        family_name="Quillfeather", nhs_number="9434765870",
    )  # fmt: skip
    m.FamilyMember.objects.create(family=family, person=baby, role="child", label="baby")
    m.FamilyMember.objects.create(family=family, person=mum, role="mother", label="mum")
    m.Identity.objects.create(
        person=mum, agency="health_visiting", given_name="Philippa", family_name="Quillfeather",
        nhs_number="9434765870", address="7 Lantern Yard", postcode="ZZ9 9ZZ", recorded_on=origin,
    )  # fmt: skip
    family.index_child = baby
    family.save()
    m.Relationship.objects.create(person=mum, kind="mother_of", other=baby, recorded_by="health_visiting")
    Allocation.objects.create(family=family, team=hv_team, practitioner=w["hv"], since=origin)
    Allocation.objects.create(family=family, team=sw_team, since=origin)
    lonely = m.Family.objects.create(reference="unallocated", origin=origin)
    return {**w, "family": family, "baby": baby, "mum": mum, "lonely": lonely}


def alert_for(family, *, for_whom=("practitioner",), agency="health_visiting", raised_on=MONDAY, due_on=WEDNESDAY,
              severity="prompt", rule="no-access-stepped"):  # fmt: skip
    child = family.index_child or m.Person.objects.get_or_create(source_key=f"t/child-{family.pk}", born_on=family.origin)[0]
    return m.Alert.objects.create(
        family=family, child=child, rule=rule, rule_version=1, step=1, scope=agency, severity=severity,
        began_on=raised_on, raised_on=raised_on, due_on=due_on, action="Rearrange the visit.",
        for_whom=list(for_whom), agency=agency, source="test", settings_hash="x",
    )  # fmt: skip


def names(users):
    return [u.username for u in users]


# --- recipients ----------------------------------------------------------------------------


def test_recipients_of_an_allocated_family(world):
    family = world["family"]
    assert names(recipients(alert_for(family, for_whom=["practitioner"]))) == ["hv"]
    # Nobody allocated in children's social care: its duty worker.
    assert names(recipients(alert_for(family, for_whom=["recording_practitioner"], agency="childrens_social_care"))) == [
        "sw_duty"
    ]
    assert names(recipients(alert_for(family, for_whom=["health_visitor", "social_worker"]))) == [
        "hv", "hv2", "hv_duty", "sw", "sw_duty",
    ]  # fmt: skip
    assert names(recipients(alert_for(family, for_whom=["team_leader"]))) == ["leader", "sw_leader"]
    # Leads sit in a team of their own, of an agency that holds the family (not midwifery).
    assert names(recipients(alert_for(family, for_whom=["safeguarding_lead"]))) == ["lead"]
    # No neonatal nurse, and a word with no role: the duty workers of the family's teams.
    assert names(recipients(alert_for(family, for_whom=["neonatal_unit"]))) == ["hv_duty", "sw_duty"]
    assert names(recipients(alert_for(family, for_whom=["appointment_agency"]))) == ["hv_duty", "sw_duty"]
    assert names(recipients(alert_for(family, for_whom=["practitioner", "practitioner", "team_leader"]))) == [
        "hv", "leader", "sw_leader",
    ]  # fmt: skip


def test_recipients_of_an_unallocated_family_are_the_agencys_duty_workers(world):
    lonely = world["lonely"]
    for whom in (["practitioner"], ["health_visitor", "team_leader"], ["safeguarding_lead"]):
        assert names(recipients(alert_for(lonely, for_whom=whom))) == ["hv_duty", "south_duty"]
    assert names(recipients(alert_for(lonely, agency="midwifery"))) == []  # no midwifery duty desk


def test_inactive_users_are_never_recipients(world):
    family = world["family"]
    hv = world["hv"]
    hv.is_active = False
    hv.save()
    assert names(recipients(alert_for(family, for_whom=["practitioner"]))) == ["hv_duty"]
    assert names(recipients(alert_for(family, for_whom=["health_visitor"]))) == ["hv2", "hv_duty"]
    assert "old_leader" not in names(recipients(alert_for(family, for_whom=["team_leader"])))
    assert "south_gone" not in names(recipients(alert_for(world["lonely"])))


# --- the email on raising ------------------------------------------------------------------


def test_notify_raised_sends_once_even_if_called_twice(world):
    alert = alert_for(world["family"], for_whom=["practitioner", "team_leader"])
    first = notify_raised(alert, MONDAY)
    second = notify_raised(alert, MONDAY)
    assert names(first) == ["hv", "leader", "sw_leader"] and second == []
    assert sorted(e.to[0] for e in mail.outbox) == ["hv@example.nhs.uk", "leader@example.nhs.uk", "sw_leader@example.nhs.uk"]
    assert all(len(e.to) == 1 for e in mail.outbox)  # nobody sees who else was told
    assert m.Notification.objects.filter(alert=alert, reason="raised").count() == 3
    body = mail.outbox[0].body
    assert "no-access-stepped" in body and "prompt" in body and "2026-11-18" in body
    assert f"/families/{world['family'].pk}/" in body


def test_a_failed_send_leaves_no_record_so_a_later_call_sends_it(world, settings, caplog):
    alert = alert_for(world["family"], for_whom=["practitioner", "team_leader"])
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    assert notify_raised(alert, MONDAY) == []  # each recipient tried; nothing raised to the caller
    assert not m.Notification.objects.exists()
    assert "Quillfeather" not in caplog.text and "@" not in caplog.text
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert names(notify_raised(alert, MONDAY)) == ["hv", "leader", "sw_leader"]


def test_cradle_escalate_sends_the_raised_emails_still_owed(world, settings):
    """The mail server was down when an alert was raised: the next escalation run sends
    what failed, once, and nothing to those already told, nor about history replayed or
    a population loaded (never to be told)."""
    failed = alert_for(world["family"], raised_on=WEDNESDAY, due_on=NEXT_MONDAY)
    told = alert_for(
        world["family"], rule="icon-not-delivered", raised_on=WEDNESDAY, due_on=NEXT_MONDAY
    )
    history = alert_for(
        world["family"], rule="male-carer-unknown", raised_on=WEDNESDAY, due_on=NEXT_MONDAY
    )
    m.Alert.objects.filter(pk__in=[failed.pk, told.pk]).update(
        notify_pending=True
    )  # raised by writes
    failed.refresh_from_db()
    told.refresh_from_db()
    assert names(notify_raised(told, WEDNESDAY)) == ["hv"]
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    assert notify_raised(failed, WEDNESDAY) == []
    assert list(m.Alert.objects.filter(notify_pending=True)) == [failed]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    report = escalate(THURSDAY)
    assert report.resent == 1 and "1 alert emails that had failed sent again" in report.summary()
    assert [e.to for e in mail.outbox] == [["hv@example.nhs.uk"]]
    assert m.Notification.objects.filter(alert=failed, reason="raised").count() == 1
    assert not m.Notification.objects.filter(alert=history).exists()
    assert not m.Alert.objects.filter(notify_pending=True).exists()
    assert escalate(FRIDAY).resent == 0


def test_an_owed_email_is_given_up_once_acknowledged_or_a_week_old(world, settings):
    """Someone has it in hand, or it has long been escalated by its due date: not sent
    then (and no longer owed); nor is a resolved alert's, should it reopen later."""
    acknowledged = alert_for(world["family"], raised_on=WEDNESDAY, due_on=NEXT_MONDAY)
    alert_for(world["family"], rule="icon-not-delivered", raised_on=MONDAY - timedelta(days=10))  # old
    resolved = alert_for(world["family"], rule="male-carer-unknown", raised_on=WEDNESDAY)
    m.Alert.objects.update(notify_pending=True)
    m.Alert.objects.filter(pk=acknowledged.pk).update(status=m.Alert.ACKNOWLEDGED)
    m.Alert.objects.filter(pk=resolved.pk).update(status=m.Alert.RESOLVED)
    mail.outbox.clear()
    assert escalate(THURSDAY).resent == 0
    assert not [e for e in mail.outbox if "A new alert" in e.body]
    assert not m.Alert.objects.filter(notify_pending=True).exists()
    assert not m.Notification.objects.filter(reason="raised").exists()  # (the old one escalated)


def test_a_mail_server_down_is_tried_once_not_once_a_recipient(world, settings):
    """Each try would wait out the timeout: after a server-level failure the rest are
    left owed, not tried; one refused address does not stop the others."""
    first = alert_for(world["family"], for_whom=["practitioner", "team_leader"], raised_on=WEDNESDAY,
                      due_on=NEXT_MONDAY)  # fmt: skip
    second = alert_for(world["family"], rule="icon-not-delivered", raised_on=WEDNESDAY, due_on=NEXT_MONDAY)
    m.Alert.objects.update(notify_pending=True)
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    FailingBackend.tries = 0
    from cradle.records.notify import notify_raised_many

    assert notify_raised_many(m.Alert.objects.order_by("pk"), WEDNESDAY) == {first.pk: [], second.pk: []}
    assert FailingBackend.tries == 1
    assert m.Alert.objects.filter(notify_pending=True).count() == 2
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    RefusingBackend.refused = {"hv@example.nhs.uk"}
    sent = notify_raised_many(m.Alert.objects.order_by("pk"), WEDNESDAY)
    assert names(sent[first.pk]) == ["leader", "sw_leader"] and sent[second.pk] == []
    assert list(m.Alert.objects.filter(notify_pending=True)) == [first, second]  # hv still owed


def test_an_alert_raised_by_a_write_is_pending_until_its_email_is_sent(
    world, django_capture_on_commit_callbacks
):
    """Raised through a re-evaluation that tells (the feeds', the sweep's): pending until
    the emails go once the write commits; raised while replaying history: never pending."""
    from cradle.records.evaluation import reevaluate, reevaluate_many

    family = world["family"]
    m.Contact.objects.create(
        source_key="t/visit", agency="health_visiting", kind="home_visit", outcome="no_access",
        occurred_on=MONDAY - timedelta(days=1), recorded_on=MONDAY - timedelta(days=1),
    ).subjects.set([world["baby"], world["mum"]])  # fmt: skip
    reevaluate(family, MONDAY, notify=False)  # history: nobody is told
    assert family.alerts.exists() and not family.alerts.filter(notify_pending=True).exists()
    family.alerts.all().delete()
    with django_capture_on_commit_callbacks(execute=False):
        reevaluate_many([family], MONDAY)  # the process ends before its commit's emails
    assert family.alerts.filter(notify_pending=True).exists() and not mail.outbox
    family.alerts.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        reevaluate_many([family], MONDAY)  # committed, the emails sent
    assert mail.outbox and not family.alerts.filter(notify_pending=True).exists()


class FailingBackend(BaseEmailBackend):
    tries = 0

    def send_messages(self, messages):
        FailingBackend.tries += 1
        raise SMTPException("mail server down")


class RefusingBackend(BaseEmailBackend):
    """Refuses some addresses, as a server refuses a recipient; delivers the rest."""

    refused: set = set()

    def send_messages(self, messages):
        for message in messages:
            if set(message.to) & self.refused:
                raise SMTPRecipientsRefused({a: (550, b"no such user") for a in message.to})
            mail.outbox.append(message)
        return len(messages)


# --- escalation ----------------------------------------------------------------------------


def test_unacknowledged_past_due_goes_to_the_team_leader_then_the_safeguarding_lead(world):
    alert = alert_for(world["family"])  # raised Monday, due Wednesday
    assert escalate(WEDNESDAY).escalated == 0  # due today is not late
    report = escalate(THURSDAY)
    assert (report.to_team_leader, report.to_safeguarding_lead, report.emails) == (1, 0, 2)
    alert.refresh_from_db()
    assert (alert.escalation_level, alert.escalated_on) == (1, THURSDAY)
    assert sorted(e.to[0] for e in mail.outbox) == ["leader@example.nhs.uk", "sw_leader@example.nhs.uk"]
    change = alert.changes.get(change="escalated")
    assert change.on == THURSDAY and "leader" in change.note and "sw_leader" in change.note

    # Two working days for the team leader after the first escalation (Friday, Monday).
    assert add_working_days(THURSDAY, 2) == NEXT_MONDAY
    for day in (FRIDAY, FRIDAY + timedelta(days=1), FRIDAY + timedelta(days=2), NEXT_MONDAY):
        assert escalate(day).escalated == 0, day
    report = escalate(NEXT_TUESDAY)
    assert (report.to_team_leader, report.to_safeguarding_lead, report.emails) == (0, 1, 1)
    alert.refresh_from_db()
    assert (alert.escalation_level, alert.escalated_on) == (2, NEXT_TUESDAY)
    assert mail.outbox[-1].to == ["lead@example.nhs.uk"]
    reasons = sorted(m.Notification.objects.filter(alert=alert).values_list("to__username", "reason"))
    assert reasons == [
        ("lead", "escalated_safeguarding_lead"), ("leader", "escalated_team_leader"), ("sw_leader", "escalated_team_leader"),
    ]  # fmt: skip
    assert escalate(NEXT_TUESDAY + timedelta(days=30)).escalated == 0  # nowhere further to go
    assert AuditEntry.objects.filter(actor="system:escalate").count() == 8  # one per run


def test_an_acknowledged_alert_does_not_escalate(world):
    alert = alert_for(world["family"])
    actions.acknowledge(acting_user=world["hv"], alert_pk=alert.pk, today=WEDNESDAY)
    for status in ("acknowledged", "actioned", "dismissed", "resolved", "withdrawn"):
        m.Alert.objects.filter(pk=alert.pk).update(status=status)
        report = escalate(NEXT_TUESDAY)
        assert (report.checked, report.escalated) == (0, 0), status
    alert.refresh_from_db()
    assert alert.escalation_level == 0 and not alert.changes.filter(change="escalated").exists()
    assert mail.outbox == []


def test_acknowledging_after_the_first_escalation_stops_the_second(world):
    alert = alert_for(world["family"])
    escalate(THURSDAY)
    actions.acknowledge(acting_user=world["leader"], alert_pk=alert.pk, today=FRIDAY)
    assert escalate(NEXT_TUESDAY).escalated == 0
    alert.refresh_from_db()
    assert alert.escalation_level == 1


def test_an_urgent_alert_due_the_day_it_is_raised_escalates_the_next_day(world):
    alert_for(world["family"], severity="urgent", raised_on=MONDAY, due_on=MONDAY)
    assert escalate(MONDAY).escalated == 0
    assert escalate(MONDAY + timedelta(days=1)).to_team_leader == 1


def test_escalating_twice_the_same_day_changes_nothing_the_second_time(world):
    alert = alert_for(world["family"])
    first = escalate(THURSDAY)
    state = (
        list(m.Alert.objects.values_list("pk", "escalation_level", "escalated_on")),
        m.AlertChange.objects.count(),
        m.Notification.objects.count(),
        len(mail.outbox),
    )
    second = escalate(THURSDAY)
    assert first.escalated == 1 and second.escalated == 0 and second.emails == 0
    assert state == (
        list(m.Alert.objects.values_list("pk", "escalation_level", "escalated_on")),
        m.AlertChange.objects.count(),
        m.Notification.objects.count(),
        len(mail.outbox),
    )
    assert not claim(alert.pk, 0, THURSDAY)  # a run that read the alert before the first one claimed it loses


def test_an_alert_with_nobody_to_tell_is_still_escalated_and_said_so(world):
    alert = alert_for(world["lonely"], agency="midwifery")
    report = escalate(THURSDAY)
    assert (report.to_team_leader, report.nobody, report.emails) == (1, 1, 0)
    assert "nobody found" in alert.changes.get(change="escalated").note


def test_a_failed_send_rolls_the_escalation_back_for_the_next_run(world, settings):
    alert = alert_for(world["family"])
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    report = escalate(THURSDAY)
    assert (report.escalated, report.failed) == (0, 1)
    alert.refresh_from_db()
    assert alert.escalation_level == 0 and not m.Notification.objects.exists()
    assert not alert.changes.filter(change="escalated").exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert escalate(FRIDAY).to_team_leader == 1


def test_the_cradle_escalate_command(world, capsys):
    alert_for(world["family"])
    assert main(["escalate", "--as-of", THURSDAY.isoformat()]) == 0
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0
    assert "1 escalated to team leaders, 0 to safeguarding leads; 2 emails sent" in out


# --- no personal data ----------------------------------------------------------------------


def test_emails_hold_no_personal_data(world):
    family, baby, mum = world["family"], world["baby"], world["mum"]
    actions.record_contact(
        acting_user=world["hv"], family_pk=family.pk, agency="health_visiting", kind="home_visit",
        occurred_on=MONDAY, outcome="no_access", channel="home_visit", subjects=[baby, mum], note=NOTE,
        today=MONDAY,
    )  # fmt: skip
    raised = list(family.alerts.filter(status="open"))
    alert = next(a for a in raised if a.rule == "no-access-stepped")
    for a in raised:
        notify_raised(a, MONDAY)
    escalate(alert.due_on + timedelta(days=1))
    escalate(add_working_days(alert.due_on + timedelta(days=1), 2) + timedelta(days=1))
    assert {n.reason for n in m.Notification.objects.all()} == {
        "raised", "escalated_team_leader", "escalated_safeguarding_lead",
    }  # fmt: skip

    secrets = {"Amaryllis", "Philippa", "Quillfeather", "Zebedee", "9434765919", "9434765870", "943 476 5919",
               "Lantern", "ZZ9", NOTE, "hit her", family.reference, family.title}  # fmt: skip
    for a in raised:
        secrets |= {a.action} | {f["label"] for f in a.facts if len(f.get("label") or "") >= 10}
    for email in mail.outbox:
        text = f"{email.subject}\n{email.body}".lower()
        leaked = [s for s in secrets if s.lower() in text]
        assert leaked == [], (email.subject, leaked)
        assert f"/families/{family.pk}/" in email.body
