"""Rules about contacts: no-access-stepped, was-not-brought, under-one-contact-gap,
econsult-infant, seen-without-baby, repeat-unscheduled-care, child-protection-flag."""

import pytest

from tests.builders import ev, family, findings, fires, step, visit

PLAN = ev(-100, "childrens_social_care", "child_protection_plan_start", ["mum"], outcome=None, channel=None)
INJURY = ev(20, "gp", "clinic_contact", findings=["bruise"])

# (description, events, as-of day, expected step of no-access-stepped for health visiting)
NO_ACCESS = [
    ("one failed visit is step 1", [visit(10, "no_access")], 10, 1),
    ("two in a row are step 2", [visit(10, "no_access"), visit(17, "access_refused")], 17, 2),
    ("three in a row are step 3", [visit(10, "no_access"), visit(17, "no_access"), visit(24, "cancelled_by_family")], 24, 3),
    ("a fourth joins step 3", [visit(d, "no_access") for d in (10, 17, 24, 31)], 31, 3),
    ("an attended home visit where the baby is not seen is a failure", [visit(10, seen=["mum"])], 10, 1),
    ("an attended visit that sees the baby resets the count", [visit(10, "no_access"), visit(17), visit(24, "no_access")], 24, 1),
    ("a clinic contact where the baby is seen resets too", [visit(10, "no_access"), ev(12, "health_visiting", "clinic_contact"), visit(24, "no_access")], 24, 1),
    ("a service cancellation is not a failure", [visit(10, "cancelled_by_service")], 10, 0),
    ("before birth, a visit where the mother is not seen fails", [visit(-30, subjects=["mum"], seen=[])], -30, 1),
    ("counts carry across the birth", [visit(-30, "no_access", subjects=["mum"]), visit(-20, "no_access", subjects=["mum"]), visit(12, "no_access")], 12, 3),
    ("before birth, seeing the mother resets", [visit(-30, "no_access", subjects=["mum"]), visit(-20, subjects=["mum"]), visit(12, "no_access")], 12, 1),
    ("any failure on a child protection plan is step 3", [PLAN, visit(10, "no_access")], 10, 3),
    ("any failure with an open urgent alert is step 3", [INJURY, visit(22, "no_access")], 22, 3),
    ("a failure after the plan ended counts normally", [PLAN, ev(5, "childrens_social_care", "child_protection_plan_end", outcome=None, channel=None), visit(10, "no_access")], 10, 1),
    ("a later seen visit resolves the rule", [visit(10, "no_access"), visit(17, "no_access"), visit(20)], 20, 0),
    (
        "failures while placed away from the parents are not counted",
        [
            ev(5, "childrens_social_care", "placed_away_from_parents", outcome=None, channel=None),
            visit(10, "no_access"),
            ev(30, "childrens_social_care", "returned_to_parents", outcome=None, channel=None),
            visit(35, "no_access"),
        ],
        35,
        1,
    ),
]


@pytest.mark.parametrize(("description", "events", "day", "expected"), NO_ACCESS, ids=[c[0] for c in NO_ACCESS])
def test_no_access_stepped(description, events, day, expected):
    assert step(family(events), "no-access-stepped", day, scope="health_visiting") == expected


def test_no_access_failures_are_counted_per_agency():
    case = family([visit(10, "no_access"), visit(12, "no_access", agency="midwifery", kind="postnatal_contact")])
    got = {f.scope: f.step for f in findings(case, "no-access-stepped", 12)}
    assert got == {"health_visiting": 1, "midwifery": 1}


def test_no_access_other_visiting_agency_at_step_3_makes_the_next_failure_urgent():
    hv = [visit(d, "no_access") for d in (10, 11, 12)]
    case = family([*hv, visit(13, "no_access", agency="early_help")])
    assert step(case, "no-access-stepped", 13, scope="early_help") == 3


def test_no_access_severity_recipient_and_due_follow_the_step():
    case = family([visit(10, "no_access"), visit(17, "no_access"), visit(24, "no_access")])
    (f1,) = findings(case, "no-access-stepped", 10)
    (f3,) = findings(case, "no-access-stepped", 24)
    assert (f1.severity, f1.due_working_days, f1.for_whom[0]) == ("prompt", 5, "practitioner")
    assert (f3.severity, f3.due_working_days, f3.for_whom[0]) == ("urgent", 0, "safeguarding_lead")
    assert f3.evidence == ("e1", "e2", "e3")


def test_no_access_explanation_names_the_days_and_the_agency():
    antenatal = {"kind": "antenatal_contact", "subjects": ["mum"]}
    case = family([visit(-42, "no_access", **antenatal), visit(-21, "no_access", **antenatal), visit(23, "no_access")], booking=None)
    (f,) = findings(case, "no-access-stepped", 23)
    assert f.explain() == (
        "3rd consecutive failed health visiting contact: no access on day -42, -21, 23 (health visiting); "
        "nobody from health visiting has seen the mother or baby since booking"
    )


WNB = [
    ("a baby not brought to the GP", [ev(30, "gp", "immunisation", outcome="was_not_brought")], 30, True),
    ("resolved when the baby is next seen", [ev(30, "gp", "immunisation", outcome="was_not_brought"), ev(33, "gp", "gp_appointment")], 33, False),
    ("a parent's own missed appointment is not the baby's", [ev(30, "gp", "gp_appointment", ["mum"], outcome="did_not_attend")], 30, False),
    ("visiting services are no-access-stepped's", [visit(30, "was_not_brought", kind="clinic_contact")], 30, False),
    ("a hospital stay counts as seen", [ev(30, "gp", "immunisation", outcome="was_not_brought"), ev(31, "ed", "hospital_admission", channel="inpatient")], 31, False),
]


@pytest.mark.parametrize(("description", "events", "day", "expected"), WNB, ids=[c[0] for c in WNB])
def test_was_not_brought(description, events, day, expected):
    assert fires(family(events), "was-not-brought", day) == expected


def test_was_not_brought_escalates_on_a_plan():
    case = family([PLAN, ev(30, "gp", "immunisation", outcome="was_not_brought")])
    (f,) = findings(case, "was-not-brought", 30)
    assert f.severity == "escalate"


NNU = [ev(0, "nnu", "nnu_admission", channel="inpatient"), ev(10, "nnu", "nnu_discharge", channel="inpatient")]
GAP = [
    ("a vulnerable baby unseen for 14 days", [*NNU], 24, True),
    ("13 days is not yet a gap", [*NNU], 23, False),
    ("days in hospital count as seen", [ev(0, "nnu", "nnu_admission", channel="inpatient")], 40, False),
    ("a baby who is not vulnerable is not prompted", [], 30, False),
    ("after 12 weeks the limit is 28 days", [*NNU, ev(90, "gp", "immunisation")], 117, False),
    ("after 12 weeks, 28 days fires", [*NNU, ev(90, "gp", "immunisation")], 118, True),
    ("on a plan the 14-day limit holds after 12 weeks", [PLAN, ev(90, "gp", "immunisation")], 104, True),
    ("a video call does not see the baby", [*NNU, ev(20, "health_visiting", "clinic_contact", channel="video", seen=["baby"])], 24, True),
    (
        "the clock restarts on return from a placement",
        [
            *NNU,
            ev(12, "childrens_social_care", "placed_away_from_parents", outcome=None, channel=None),
            ev(40, "childrens_social_care", "returned_to_parents", outcome=None, channel=None),
        ],
        50,
        False,
    ),
]


@pytest.mark.parametrize(("description", "events", "day", "expected"), GAP, ids=[c[0] for c in GAP])
def test_under_one_contact_gap(description, events, day, expected):
    assert fires(family(events), "under-one-contact-gap", day) == expected


def test_contact_gap_is_frozen_while_the_baby_is_placed_away():
    events = [*NNU, ev(26, "childrens_social_care", "placed_away_from_parents", outcome=None, channel=None)]
    case = family(events)
    assert fires(case, "under-one-contact-gap", 25)  # unseen since day 10
    assert fires(case, "under-one-contact-gap", 60)  # frozen: still open, neither raised nor resolved


ECONSULT = ev(30, "gp", "econsult", ["mum", "baby"], channel="online", findings=["persistent_crying"])
CONSULTS = [
    ("an online consultation about the baby is step 1", [ECONSULT], 30, 1),
    ("unseen by the end of day d + 2 is step 2", [ECONSULT], 32, 2),
    ("seen the next day resolves it", [ECONSULT, ev(31, "gp", "gp_appointment")], 31, 0),
    ("a parent's own consultation mentioning the baby's crying counts", [ev(30, "gp", "econsult", ["mum"], channel="online", findings=["persistent_crying"])], 30, 1),
    ("a parent's own consultation about herself alone does not", [ev(30, "gp", "econsult", ["mum"], channel="online", findings=["anxiety"])], 30, 0),
    ("a phone GP appointment is remote", [ev(30, "gp", "gp_appointment", channel="phone")], 30, 1),
    ("a GP appointment in the clinic is not", [ev(30, "gp", "gp_appointment")], 30, 0),
]


@pytest.mark.parametrize(("description", "events", "day", "expected"), CONSULTS, ids=[c[0] for c in CONSULTS])
def test_econsult_infant(description, events, day, expected):
    assert step(family(events), "econsult-infant", day) == expected


SEEN_WITHOUT = [
    ("the baby a subject, not seen", [ev(32, "gp", "gp_appointment", ["mum", "baby"], seen=["mum"])], 32, True),
    ("the baby seen", [ev(32, "gp", "gp_appointment", ["mum", "baby"])], 32, False),
    ("home visits are not this rule's", [visit(32, seen=["mum"])], 32, False),
    ("referrals do not count", [ev(32, "gp", "referral", ["mum", "baby"], seen=[], to_agency="perinatal_mental_health")], 32, False),
    ("a parent's mental health review while an econsult is open", [ECONSULT, ev(31, "perinatal_mental_health", "mental_health_review", ["mum"])], 31, True),
    ("a parent's mental health review with nothing open", [ev(31, "perinatal_mental_health", "mental_health_review", ["mum"])], 31, False),
    ("resolved when the baby is seen", [ev(32, "gp", "gp_appointment", ["mum", "baby"], seen=["mum"]), visit(34)], 34, False),
]


@pytest.mark.parametrize(("description", "events", "day", "expected"), SEEN_WITHOUT, ids=[c[0] for c in SEEN_WITHOUT])
def test_seen_without_baby(description, events, day, expected):
    assert fires(family(events), "seen-without-baby", day) == expected


def test_repeat_unscheduled_care_counts_within_the_window():
    events = [ev(d, "ed", "ed_attendance", channel="hospital") for d in (20, 26, 33)]
    case = family(events)
    assert fires(case, "repeat-unscheduled-care", 33)  # 20..33 is 14 days
    events[0]["day"] = 19
    assert not fires(family(events), "repeat-unscheduled-care", 33)  # day 19 is outside


def test_repeat_unscheduled_care_counts_one_presentation_per_agency_per_day():
    events = [ev(20, "ed", "ed_attendance", channel="hospital"), ev(20, "ed", "hospital_admission", channel="inpatient"), ev(22, "gp", "phone_contact", channel="phone")]
    assert not fires(family(events), "repeat-unscheduled-care", 22)


CP_FLAG = [
    ("an ED attendance on a plan", [PLAN, ev(40, "ed", "ed_attendance", channel="hospital")], 40, True),
    ("no plan, no flag", [ev(40, "ed", "ed_attendance", channel="hospital")], 40, False),
    ("a planned clinic contact is not unscheduled", [PLAN, ev(40, "gp", "immunisation")], 40, False),
    ("an unborn baby's plan: the mother's ED visit", [PLAN, ev(-50, "ed", "ed_attendance", ["mum"], channel="hospital")], -50, True),
]


@pytest.mark.parametrize(("description", "events", "day", "expected"), CP_FLAG, ids=[c[0] for c in CP_FLAG])
def test_child_protection_flag(description, events, day, expected):
    assert fires(family(events), "child-protection-flag", day) == expected


def _event(day, kind, subjects=("baby",), agency="childrens_social_care"):
    return ev(day, agency, kind, subjects, outcome=None, channel=None)


def test_after_a_death_every_alert_for_the_baby_closes_and_none_is_raised():
    events = [visit(10, "no_access"), _event(20, "death", agency="ed"), visit(25, "no_access")]
    case = family(events)
    assert fires(case, "no-access-stepped", 19)
    from cradle.rules import evaluate

    assert [f for f in evaluate(case.timeline, 20) if f.child == "baby"] == []
    assert [f for f in evaluate(case.timeline, 30) if f.child == "baby"] == []


def test_a_stillbirth_recorded_about_the_mother_ends_the_expected_baby():
    case = family([ev(-100, "midwifery", "antenatal_contact", ["mum"], findings=["first_pregnancy", "anxiety", "substance_misuse"]), _event(-60, "stillbirth", ["mum"], agency="maternity")])
    assert fires(case, "cumulative-vulnerability", -61)
    assert not fires(case, "cumulative-vulnerability", -60)


def test_after_a_move_out_of_the_area_alerts_stay_open_and_nothing_new_is_raised():
    events = [*NNU, visit(30, "no_access"), _event(32, "moved_out_of_area", ["baby", "mum"], agency="health_visiting"), ev(40, "gp", "gp_appointment"), visit(45, "no_access")]
    case = family(events)
    assert step(case, "no-access-stepped", 50, scope="health_visiting") == 1  # the day-45 failure is not counted
    assert fires(case, "under-one-contact-gap", 50)  # not resolved by the contact after the move


def test_icon_touchpoints_falling_inside_a_placement_are_skipped():
    delivered = ev(-40, "midwifery", "icon_delivered", ["mum"], outcome=None, channel=None, seen=[], delivered_to=["mum", "dad"])
    away = [_event(5, "placed_away_from_parents"), _event(30, "returned_to_parents")]
    case = family([delivered, *away])
    scopes = {f.scope for f in findings(case, "icon-not-delivered", 40)}
    assert "postnatal" not in scopes  # its day-14 check fell inside the placement
    assert {f.scope for f in findings(family([delivered]), "icon-not-delivered", 40)} == {"postnatal"}
