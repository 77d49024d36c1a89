"""A link changes the evidence of an alert that stays open: linking adds the other
record's evidence, undoing the link takes it away again, and each change is in the
alert's history.

The Calderdale case as of its day 40, with the father recorded by the GP as the
baby's father and an adult mental health record of his own (depression): a risk no
agency working with the baby holds, so ``unshared-parent-risk`` is open for him
before any link and stays open throughout. The police record linked to him (and
unlinked again) is invented.
"""

from datetime import timedelta

import pytest
import time_machine

from cradle.links import actions
from cradle.links.models import Candidate, IdentityLink
from cradle.records import models as m
from cradle.records.evaluation import reevaluate, rule_settings
from cradle.records.loading import load_case
from cradle.records.timeline import person_id, timeline_for
from cradle.rules import evaluate

pytestmark = pytest.mark.django_db

RULE = "unshared-parent-risk"


@pytest.fixture
def world(calderdale, today, django_user_model):
    from cradle.access.models import Membership, Team

    with time_machine.travel(today, tick=False):
        family = load_case(calderdale, today, today_is_day=40).family
    dad = m.FamilyMember.objects.get(family=family, role="father").person
    baby = m.FamilyMember.objects.get(family=family, role="child").person
    m.Relationship.objects.create(
        person=dad, kind="father_of", other=baby, recorded_by="gp", from_on=family.origin
    )
    long_ago = family.origin - timedelta(days=200)
    own = m.Contact.objects.create(
        source_key="amh:dad:1", agency="adult_mental_health", kind="mental_health_review",
        occurred_on=long_ago, recorded_on=long_ago, outcome="attended",
    )  # fmt: skip
    own.subjects.add(dad)
    m.ContactFinding.objects.create(contact=own, word="depression")

    police_person = m.Person.objects.create(
        source_key="police:79", sex="male", born_on=dad.born_on, given_name="Danny",
        family_name="Walsh",
    )  # fmt: skip
    police = m.Identity.objects.create(
        person=police_person, agency="police", given_name="Danny", family_name="Walsh",
        address="4 Canal Street, Halifax", postcode="HX1 2CD", recorded_on=family.origin,
    )  # fmt: skip
    callout = m.Contact.objects.create(
        source_key="police:79:1", agency="police", kind="police_callout",
        occurred_on=long_ago, recorded_on=long_ago, outcome="attended",
    )  # fmt: skip
    callout.subjects.add(police_person)
    m.ContactFinding.objects.create(contact=callout, word="domestic_abuse")

    lead = django_user_model.objects.create_user("lead", password="x" * 12)
    Membership.objects.create(
        user=lead, team=Team.objects.create(name="S", agency="gp"), role="safeguarding_lead"
    )
    left, right = sorted((m.Identity.objects.filter(person=dad).first().pk, police.pk))
    candidate = Candidate.objects.create(
        left_id=left, right_id=right, probability=0.9, match_weight=3.2, weights=[]
    )
    with time_machine.travel(today, tick=False):
        reevaluate(family, today)
    return {
        "family": family,
        "dad": dad,
        "own": f"c{own.pk}",
        "police": f"c{callout.pk}",
        "lead": lead,
        "candidate": candidate,
    }


def _alert(world) -> m.Alert:
    return m.Alert.objects.get(family=world["family"], rule=RULE, scope=person_id(world["dad"].pk))


def _current_evidence(world, today) -> set[str]:
    """The evidence of the rule's finding about the father as the family stands now."""
    family = world["family"]
    findings = evaluate(timeline_for(family), (today - family.origin).days, rule_settings())
    (finding,) = [f for f in findings if f.rule == RULE and f.scope == person_id(world["dad"].pk)]
    return set(finding.evidence)


def test_a_link_adds_its_evidence_to_the_open_alert_and_undoing_it_takes_it_away(world, today):
    before = _alert(world)
    assert before.status == m.Alert.OPEN and before.evidence == [world["own"]]

    with time_machine.travel(today, tick=False):
        actions.decide(world["candidate"].pk, confirm=True, acting_user=world["lead"])
    linked = _alert(world)  # the same alert, one episode
    assert linked.pk == before.pk and linked.status == m.Alert.OPEN
    assert (
        set(linked.evidence) == {world["own"], world["police"]} == _current_evidence(world, today)
    )
    assert linked.changes.filter(change="updated", note="new evidence").count() == 1

    with time_machine.travel(today, tick=False):
        link = IdentityLink.objects.get(active=True)
        actions.unlink(link.pk, acting_user=world["lead"], reason="not him after all")
    unlinked = _alert(world)
    # Held open by his own risk, the alert shows what the family's record holds now: not
    # the police record of the man he is no longer linked to.
    assert unlinked.pk == before.pk and unlinked.status == m.Alert.OPEN
    assert unlinked.evidence == [world["own"]]
    assert set(unlinked.evidence) == _current_evidence(world, today)
    assert all(world["police"] != f["event"] for f in unlinked.facts)
    # The history says so, as it says every other change to the alert.
    assert [c.change for c in unlinked.changes.order_by("id")] == ["raised", "updated", "updated"]
    assert unlinked.changes.order_by("id").last().note == "evidence no longer found"
    # Each change names whose decision made it: the lead's confirmation, then the unlink.
    assert [c.by for c in unlinked.changes.filter(change="updated")] == [world["lead"]] * 2


def test_re_evaluating_with_nothing_changed_records_no_change(world, today):
    alert = _alert(world)
    with time_machine.travel(today, tick=False):
        reevaluate(world["family"], today)
        reevaluate(world["family"], today)
    assert _alert(world).evidence == alert.evidence
    assert [c.change for c in alert.changes.all()] == ["raised"]
