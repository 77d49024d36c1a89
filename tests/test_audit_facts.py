"""The core's audit facts (issue 8; pure, no Django) and the chronology's gaps, as tables
of cases: what a family's record says about ICON touchpoints, failed-contact sequences,
fathers and remote consultations, read from the rules themselves."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cradle.partnership.gaps import find_gaps
from cradle.rules.audit_facts import facts
from tests.builders import ev, family, visit

D0 = date(2026, 1, 1)


def _d(n: int) -> date:
    return D0 + timedelta(days=n)


@pytest.mark.parametrize(
    "seen, end, expected",
    [
        # Seen on day 0 and day 14: at most 13 days unseen (day 13): no gap at 14.
        ([0, 14], 14, []),
        # Seen on day 0 and day 15: 14 days unseen on day 14: a gap.
        ([0, 15], 15, [(0, 15, 14)]),
        # Not seen again: a gap open on the as-of day once it reaches 14 days.
        ([0], 13, []),
        ([0], 14, [(0, None, 14)]),
        # Two gaps, and sightings outside the period ignored.
        ([-5, 0, 20, 21, 40], 60, [(0, 20, 19), (21, 40, 18), (40, None, 20)]),
    ],
)
def test_gaps_at_their_boundaries(seen, end, expected):
    gaps = find_gaps([_d(s) for s in seen], _d(0), _d(end), 14)
    assert [(g.last_seen, g.next_seen, g.days) for g in gaps] == [
        (_d(a), _d(b) if b is not None else None, n) for a, b, n in expected
    ]


def _by(found, measure):
    return {(f.item, f.agency): f for f in found if f.measure == measure}


def test_icon_touchpoints_due_and_met():
    case = family(
        events=[
            ev(
                -100,
                "midwifery",
                "icon_delivered",
                ["mum"],
                touchpoint="antenatal",
                outcome=None,
                channel=None,
            ),
            visit(10, kind="new_birth_visit", subjects=("baby", "mum", "dad")),
            ev(
                10,
                "health_visiting",
                "icon_delivered",
                ["mum", "dad"],
                outcome=None,
                channel=None,
                touchpoint="new_birth_visit",
                delivered_to=["mum", "dad"],
            ),
        ]
    )
    icon = _by(facts(case.timeline, 70), "icon")
    assert icon[("antenatal", "midwifery")].met
    assert icon[("new_birth_visit", "health_visiting")].met
    assert icon[("father", "health_visiting")].met
    assert not icon[("postnatal", "maternity")].met  # no delivery by day 14
    assert not icon[("six_to_eight_week", "gp")].met  # none by day 63
    assert all(f.counted for f in icon.values())
    # Before the GP's touchpoint is due, it is not counted at all.
    assert ("six_to_eight_week", "gp") not in _by(facts(case.timeline, 40), "icon")


@pytest.mark.parametrize(
    "referral_day, on_time, escalated",
    # The baby was born on Monday 8 January 2024: step 2 is reached on day 6 (Sunday 14th),
    # due two working days later (Tuesday 16th, day 8).
    [(6, True, True), (8, True, True), (9, False, True), (None, False, False), (5, False, False)],
)
def test_a_failed_contact_sequence_and_its_escalation(referral_day, on_time, escalated):
    events = [visit(5, "no_access"), visit(6, "no_access"), visit(7, "no_access")]
    if referral_day is not None:
        events.append(
            ev(
                referral_day,
                "health_visiting",
                "safeguarding_referral",
                ["baby"],
                outcome=None,
                channel=None,
            )
        )
    case = family(events=events)
    seqs = [f for f in facts(case.timeline, 60) if f.measure == "sequence"]
    assert len(seqs) == 1
    s = seqs[0]
    # Step 2 on day 6 (2025-01 calendars aside: day 6 plus two working days reaches day 8 or later).
    assert (s.agency, s.step, s.counted, s.met, s.extra) == (
        "health_visiting",
        3,
        True,
        on_time,
        escalated,
    )


def test_a_single_failure_is_not_a_sequence_to_escalate():
    case = family(events=[visit(5, "no_access"), visit(6)])
    seqs = [f for f in facts(case.timeline, 30) if f.measure == "sequence"]
    assert [(f.step, f.counted) for f in seqs] == [(1, False)]


def test_fathers_identified_seen_and_linked():
    with_father = family(
        events=[visit(10, kind="new_birth_visit", subjects=("baby", "mum", "dad"))]
    )
    men = {f.item: f.met for f in facts(with_father.timeline, 30) if f.measure == "male_carer"}
    assert men == {"identified": True, "seen": True, "linked": True}
    people = [
        p for p in __import__("tests.builders", fromlist=["PEOPLE"]).PEOPLE if p["id"] != "dad"
    ]
    relationships = [
        {"person": "mum", "kind": "mother_of", "other": "baby", "recorded_by": ["midwifery"]}
    ]
    alone = family(
        people=people, relationships=relationships, events=[visit(10, kind="new_birth_visit")]
    )
    men = {f.item: f.met for f in facts(alone.timeline, 30) if f.measure == "male_carer"}
    assert men == {"identified": False, "seen": False, "linked": False}


@pytest.mark.parametrize(
    "seen_day, as_of, counted, met",
    [
        (21, 30, True, True),
        (22, 30, True, True),
        (23, 30, True, False),
        (None, 21, False, False),
        (None, 30, True, False),
    ],
)
def test_remote_consultations_seen_within_48_hours(seen_day, as_of, counted, met):
    events = [ev(20, "gp", "econsult", ["baby"], channel="online", findings=["persistent_crying"])]
    if seen_day is not None:
        events.append(ev(seen_day, "gp", "gp_appointment", ["baby", "mum"], channel="clinic"))
    case = family(events=events)
    remote = [f for f in facts(case.timeline, as_of) if f.measure == "remote"]
    assert [(f.agency, f.counted, f.met) for f in remote] == [("gp", counted, met)]
