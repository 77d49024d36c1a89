"""The audit dashboards (issue 8) on a small population built by hand, each figure checked
against numbers worked out by hand from the rules' catalogue; the facts behind them are
the core's, stored when a family is re-evaluated, and counted in the database."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from cradle.access.models import Membership, Team
from cradle.partnership import dashboards as d
from cradle.partnership import reviews
from cradle.partnership.models import AuditFact
from cradle.records import models as m
from cradle.records.evaluation import reevaluate
from tests.signin import sign_in

pytestmark = pytest.mark.django_db


def _contact(key, origin, day, agency, kind, subjects, *, outcome="attended", channel="",
             seen=(), delivered=(), touchpoint="", findings=()):  # fmt: skip
    on = origin + timedelta(days=day)
    c = m.Contact.objects.create(source_key=key, agency=agency, kind=kind, occurred_on=on, recorded_on=on,
                                 outcome=outcome, channel=channel, touchpoint=touchpoint)  # fmt: skip
    c.subjects.set(subjects)
    c.seen.set(seen)
    c.delivered_to.set(delivered)
    for w in findings:
        m.ContactFinding.objects.create(contact=c, word=w)
    return c


def _family(ref, origin, father: bool):
    family = m.Family.objects.create(reference=ref, title=ref, origin=origin)
    people = {}
    for label, role, sex, born in (
        ("baby", "child", "female", origin),
        ("mum", "mother", "female", origin - timedelta(days=9000)),
        *([("dad", "father", "male", origin - timedelta(days=9500))] if father else []),
    ):
        people[label] = m.Person.objects.create(source_key=f"{ref}/{label}", sex=sex, given_name=label.title(),
                                                family_name=ref.title(), born_on=born)  # fmt: skip
        m.FamilyMember.objects.create(family=family, person=people[label], role=role, label=label)
    family.index_child = people["baby"]
    family.save()
    m.Relationship.objects.create(
        person=people["mum"], kind="mother_of", other=people["baby"], recorded_by="midwifery"
    )
    if father:
        m.Relationship.objects.create(person=people["dad"], kind="father_of", other=people["baby"],
                                      recorded_by="health_visiting")  # fmt: skip
    return family, people


@pytest.fixture
def population(today):
    """Two families, both babies born 70 days ago.

    A: the father is recorded and seen at the new birth visit (day 10), where health visiting
    gives ICON to both parents; the midwife gave it postnatally (day 3); the GP's 6-8 week check
    (day 42) gives none; an e-consult about the baby (day 50) is followed by a clinic visit
    the next day.
    B: no father; three failed health visits (days 5, 7, 9), the team referring to children's
    social care on day 7 (step 2 reached that day); nobody gives ICON; an e-consult on day 20
    is never followed by the baby being seen."""
    origin = today - timedelta(days=70)
    a, pa = _family("alpha", origin, father=True)
    baby, mum, dad = pa["baby"], pa["mum"], pa["dad"]
    _contact(
        "a1",
        origin,
        3,
        "midwifery",
        "icon_delivered",
        [mum],
        delivered=[mum],
        touchpoint="postnatal",
    )
    _contact(
        "a2",
        origin,
        3,
        "midwifery",
        "postnatal_contact",
        [baby, mum],
        channel="home_visit",
        seen=[baby, mum],
    )
    _contact("a3", origin, 10, "health_visiting", "new_birth_visit", [baby, mum, dad], channel="home_visit",
             seen=[baby, mum, dad])  # fmt: skip
    _contact("a4", origin, 10, "health_visiting", "icon_delivered", [mum, dad], delivered=[mum, dad],
             touchpoint="new_birth_visit")  # fmt: skip
    _contact(
        "a5", origin, 42, "gp", "gp_six_to_eight_week_check", [baby], channel="clinic", seen=[baby]
    )
    _contact(
        "a6", origin, 50, "gp", "econsult", [baby], channel="online", findings=["persistent_crying"]
    )
    _contact(
        "a7", origin, 51, "gp", "gp_appointment", [baby, mum], channel="clinic", seen=[baby, mum]
    )
    b, pb = _family("bravo", origin, father=False)
    baby, mum = pb["baby"], pb["mum"]
    for i, day in enumerate((5, 7, 9)):
        _contact(f"b{i}", origin, day, "health_visiting", "home_visit", [baby, mum], outcome="no_access",
                 channel="home_visit")  # fmt: skip
    ref = _contact("b3", origin, 7, "health_visiting", "safeguarding_referral", [baby])
    ref.to_agency = "childrens_social_care"
    ref.save()
    _contact(
        "b4",
        origin,
        20,
        "gp",
        "econsult",
        [baby],
        channel="online",
        findings=["feeding_difficulty"],
    )
    with time_machine.travel(today, tick=False):
        for family in (a, b):
            reevaluate(family, today, notify=False)
    return {"a": a, "b": b, "origin": origin}


def _table(figure) -> dict:
    return {
        tuple(str(x) for x in row[: 2 if figure.columns[1] in ("Agency", "Severity") else 1]): row
        for row in figure.rows
    }


def test_the_facts_are_the_cores_and_stored_per_family(population):
    assert AuditFact.objects.filter(family=population["a"]).exists()
    assert AuditFact.objects.filter(family=population["b"]).exists()


def test_icon_by_touchpoint_and_agency(population, today):
    f = d.icon(population["origin"] - timedelta(days=300), today, None)
    t = _table(f)
    # postnatal (by day 14): A met (midwife, day 3), B missed; the task is maternity's.
    assert t[("Postnatal midwife", "Maternity")][2:] == [2, 1, 50.0]
    # new birth visit: only A had one, and ICON was given at it.
    assert t[("New birth visit", "Health visiting")][2:] == [1, 1, 100.0]
    # GP 6-8 week check: A's at day 42 without ICON; B's due by day 63, none: both missed.
    assert t[("GP 6-8 week check", "GP practice")][2:] == [2, 0, 0.0]
    # The father: only A has one, and the new birth visit's ICON reached him.
    assert t[("To the father or male carer", "Health visiting")][2:] == [1, 1, 100.0]
    assert len(f.rows) == 4
    # One agency only.
    assert [r[0] for r in d.icon(population["origin"] - timedelta(days=300), today, "gp").rows] == [
        "GP 6-8 week check"
    ]


def test_failed_contact_sequences_escalated_on_time(population, today):
    f = d.sequences(population["origin"], today, None)
    assert f.rows == [["Health visiting", 1, 1, 1, 100.0]]


def test_fathers_identified_seen_and_linked(population, today):
    f = d.male_carers(population["origin"], today, None)
    assert f.rows == [["Identified", 2, 1, 50.0], ["Seen in person", 2, 1, 50.0],
                      ["Linked to the baby's record", 2, 1, 50.0]]  # fmt: skip


def test_remote_consultations_followed_by_a_face_to_face_contact_within_48_hours(population, today):
    f = d.remote(population["origin"], today, None)
    assert f.rows == [["GP practice", 2, 1, 50.0]]


def test_alert_response_times_by_agency_and_severity(population, today):
    family = population["b"]
    child = family.index_child
    raised = today - timedelta(days=10)

    def alert(severity, due_days, response=None, after=0):
        a = m.Alert.objects.create(family=family, child=child, rule="test-rule", rule_version=1, severity=severity,
                                   began_on=raised, raised_on=raised, due_on=raised + timedelta(days=due_days),
                                   action="", source="", settings_hash="x", agency="police")  # fmt: skip
        if response:
            m.AlertChange.objects.create(
                alert=a, change=response, on=raised + timedelta(days=after)
            )

    alert("escalate", 2, "acknowledged", 2)  # in time, 2 days
    alert("escalate", 2)  # never
    alert("urgent", 0, "dismissed", 1)  # late, 1 day
    f = d.responses(population["origin"], today, "police")
    assert f.rows == [["Police", "escalate", 2, 1, 1, 2.0], ["Police", "urgent", 1, 1, 0, 1.0]]


def test_review_actions_open_done_and_overdue(population, today):
    User = get_user_model()
    reviewer = User.objects.create_user("rev", password="x" * 12)
    team = Team.objects.create(name="Unit", agency="childrens_social_care")
    Membership.objects.create(user=reviewer, team=team, role="partnership_reviewer")
    child = population["a"].index_child
    child.nhs_number = "9434765919"
    child.save()
    review = reviews.open_review(
        acting_user=reviewer, nhs_number="9434765919", reference="R", harm_on=None, today=today
    )
    rec = reviews.recommend(acting_user=reviewer, review=review, title="T", detail="")
    for agency, due, done in (("nnu", -1, False), ("nnu", 1, False), ("gp", -3, True)):
        a = reviews.add_action(acting_user=reviewer, recommendation=rec, description="x", agency=agency,
                               due_on=today + timedelta(days=due))  # fmt: skip
        if done:
            reviews.update_action(
                acting_user=reviewer, action=a, status="done", note="", evidence="e", today=today
            )
    f = d.review_actions(today - timedelta(days=30), today + timedelta(days=30), None, today)
    assert f.rows == [["GP practice", 0, 1, 0], ["Neonatal unit", 1, 0, 1]]


def test_the_dashboard_page_and_its_csv(client, population, today):
    User = get_user_model()
    reviewer = User.objects.create_user("rev", password="x" * 12)
    hv = User.objects.create_user("hv", password="x" * 12)
    Membership.objects.create(user=reviewer, team=Team.objects.create(name="U", agency="childrens_social_care"),
                              role="partnership_reviewer")  # fmt: skip
    Membership.objects.create(
        user=hv, team=Team.objects.create(name="H", agency="health_visiting"), role="health_visitor"
    )
    sign_in(client, reviewer)
    start = (population["origin"] - timedelta(days=300)).isoformat()
    with time_machine.travel(today, tick=False):
        page = client.get("/partnership/dashboards/", {"from": start, "to": today.isoformat()})
        body = page.content.decode()
        assert (
            page.status_code == 200
            and body.count("<svg") >= 4
            and "style=" not in body.split("<main", 1)[1]
        )
        for key in ("icon", "sequences", "male_carers", "remote", "responses", "actions"):
            assert f'data-figure="{key}"' in body
        download = client.get(
            "/partnership/dashboards/",
            {"from": start, "to": today.isoformat(), "figure": "icon", "format": "csv"},
        )
        lines = download.content.decode().splitlines()
        assert lines[0] == "OFFICIAL-SENSITIVE"
        rows = list(csv.reader(io.StringIO("\n".join(lines[2:]))))
        assert (
            rows[0] == ["Touchpoint", "Agency", "Due", "Delivered", "Delivered %"]
            and len(rows) == 5
        )
        client.logout()
        sign_in(client, hv)
        assert client.get("/partnership/dashboards/").status_code == 404
