"""Actions: every change re-evaluates the family's alerts, in the same transaction,
and only people with a reason to see the family can make it."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404

from cradle.access.models import Allocation, AuditEntry, Membership, Team
from cradle.records import actions
from cradle.records import models as m

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(today):
    """A fresh family (baby born 30 days ago), a health visiting team that holds it,
    a social worker in another team, and a stranger in a third."""
    User = get_user_model()
    hv_team = Team.objects.create(name="Health visiting north", agency="health_visiting")
    sw_team = Team.objects.create(name="Children's social care", agency="childrens_social_care")
    other = Team.objects.create(name="Health visiting south", agency="health_visiting")
    hv = User.objects.create_user("hv", password="x" * 12)
    sw = User.objects.create_user("sw", password="x" * 12)
    stranger = User.objects.create_user("stranger", password="x" * 12)
    Membership.objects.create(user=hv, team=hv_team, role="health_visitor")
    Membership.objects.create(user=sw, team=sw_team, role="social_worker")
    Membership.objects.create(user=stranger, team=other, role="health_visitor")
    origin = today - timedelta(days=30)
    family = m.Family.objects.create(reference="fresh", origin=origin)
    baby = m.Person.objects.create(source_key="t/baby", sex="female", born_on=origin)
    mum = m.Person.objects.create(source_key="t/mum", sex="female", born_on=origin - timedelta(days=10000))
    m.FamilyMember.objects.create(family=family, person=baby, role="child", label="baby")
    m.FamilyMember.objects.create(family=family, person=mum, role="mother", label="mum")
    family.index_child = baby
    family.save()
    m.Relationship.objects.create(person=mum, kind="mother_of", other=baby, recorded_by="health_visiting")
    Allocation.objects.create(family=family, team=hv_team, practitioner=hv, since=origin)
    Allocation.objects.create(family=family, team=sw_team, since=origin)
    return {"family": family, "baby": baby, "mum": mum, "hv": hv, "sw": sw, "stranger": stranger}


def no_access(world, day):
    return actions.record_contact(
        acting_user=world["hv"],
        family_pk=world["family"].pk,
        agency="health_visiting",
        kind="home_visit",
        occurred_on=day,
        outcome="no_access",
        channel="home_visit",
        subjects=[world["baby"], world["mum"]],
        today=day,
    )


def live(family, rule="no-access-stepped"):
    return list(family.alerts.filter(rule=rule, status__in=m.Alert.LIVE))


def test_three_failed_visits_climb_the_steps(world, today):
    family = world["family"]
    steps = []
    for offset in (2, 1, 0):
        no_access(world, today - timedelta(days=offset))
        (alert,) = live(family)
        steps.append((alert.step, alert.severity))
    assert steps == [(1, "prompt"), (2, "escalate"), (3, "urgent")]
    resolved = family.alerts.filter(rule="no-access-stepped", status="resolved").values_list("resolution", flat=True)
    assert list(resolved) == ["stepped up", "stepped up"]


def test_a_seen_visit_resolves_the_alert(world, today):
    no_access(world, today - timedelta(days=1))
    actions.record_contact(
        acting_user=world["hv"], family_pk=world["family"].pk, agency="health_visiting", kind="home_visit",
        occurred_on=today, outcome="attended", channel="home_visit",
        subjects=[world["baby"]], seen=[world["baby"], world["mum"]], today=today,
    )  # fmt: skip
    assert live(world["family"]) == []


def test_dismissing_needs_a_reason_and_new_evidence_raises_a_new_alert_citing_it(world, today):
    no_access(world, today - timedelta(days=1))
    (alert,) = live(world["family"])
    with pytest.raises(ValidationError):
        actions.decide(acting_user=world["hv"], alert_pk=alert.pk, decision="dismissed", note="  ", today=today)
    actions.decide(acting_user=world["hv"], alert_pk=alert.pk, decision="dismissed", note="Family away; GP confirms", today=today)
    alert.refresh_from_db()
    assert alert.status == "dismissed" and alert.decided_by == world["hv"]
    no_access(world, today)
    (new,) = live(world["family"])
    assert new.step == 2  # the second failure: a new step is a new alert anyway
    assert m.AlertChange.objects.filter(alert=alert, change="dismissed", by=world["hv"]).exists()


def test_a_social_worker_acknowledges(world, today):
    no_access(world, today)
    (alert,) = live(world["family"])
    actions.acknowledge(acting_user=world["sw"], alert_pk=alert.pk, today=today)
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    assert m.AlertChange.objects.filter(alert=alert, change="acknowledged", by=world["sw"]).exists()


def test_a_user_from_another_team_gets_not_found(world, today):
    no_access(world, today)
    (alert,) = live(world["family"])
    with pytest.raises(Http404):
        actions.acknowledge(acting_user=world["stranger"], alert_pk=alert.pk, today=today)
    with pytest.raises(Http404):
        no_access({**world, "hv": world["stranger"]}, today)
    assert m.Contact.objects.count() == 1  # nothing written for the stranger


def test_entered_in_error_withdraws_the_alerts_it_caused_and_keeps_history(world, today):
    contact = no_access(world, today)
    (alert,) = live(world["family"])
    with pytest.raises(ValidationError):
        actions.mark_entered_in_error(acting_user=world["hv"], contact_pk=contact.pk, reason="", today=today)
    actions.mark_entered_in_error(acting_user=world["hv"], contact_pk=contact.pk, reason="wrong family", today=today)
    alert.refresh_from_db()
    assert alert.status == "withdrawn"
    assert m.Contact.objects.filter(pk=contact.pk, entered_in_error=True).exists()
    assert live(world["family"]) == []


def test_bad_input_saves_nothing(world, today):
    with pytest.raises(ValidationError) as info:
        actions.record_contact(
            acting_user=world["hv"], family_pk=world["family"].pk, agency="health_visiting", kind="visit",
            occurred_on=today + timedelta(days=1), outcome="nobody_in", subjects=[], today=today,
        )  # fmt: skip
    assert set(info.value.message_dict) == {"kind", "outcome", "occurred_on", "subjects"}
    assert m.Contact.objects.count() == 0


def test_every_read_and_write_is_audited(world, today):
    no_access(world, today)
    entries = list(AuditEntry.objects.filter(family=world["family"]).values_list("action", "user"))
    assert ("update", world["hv"].pk) in entries and ("create", world["hv"].pk) in entries


def test_a_raised_alert_is_emailed_after_commit_without_personal_data(world, today, django_capture_on_commit_callbacks):
    from django.core import mail

    world["hv"].email = "hv@example.nhs.uk"
    world["hv"].save()
    world["mum"].given_name, world["mum"].family_name = "Testmum", "Surname"
    world["mum"].save()
    with django_capture_on_commit_callbacks(execute=True):
        no_access(world, today)
    # One email per alert for which someone with an email address holds the task (here the
    # allocated health visitor; the social work team has no duty worker in this world).
    assert 1 <= len(mail.outbox) <= world["family"].alerts.count()
    assert all(message.to == ["hv@example.nhs.uk"] for message in mail.outbox)
    text = " ".join(message.subject + message.body for message in mail.outbox)
    assert "no-access-stepped" in text and f"/families/{world['family'].pk}/" in text
    assert "Testmum" not in text and "Surname" not in text
