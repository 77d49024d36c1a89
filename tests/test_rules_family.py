"""Rules about the family and its care: injury, ICON, NNU discharge, medication,
the invisible man, household adults, unshared risk, cumulative vulnerability."""

import pytest

from tests.builders import PEOPLE, RELATIONSHIPS, ev, family, findings, fires, step, visit

INJURY = [
    ("a bruise in a 5-month-old", [ev(150, "gp", "clinic_contact", findings=["bruise"])], 150, True),
    ("a bruise in a mobile 10-month-old", [ev(300, "gp", "clinic_contact", findings=["bruise"])], 300, False),
    ("a mobile age but recorded non_mobile", [ev(280, "health_visiting", "clinic_contact", findings=["non_mobile"]), ev(300, "gp", "clinic_contact", findings=["bruise"])], 300, True),
    ("182 days old is still non-mobile", [ev(182, "gp", "clinic_contact", findings=["minor_injury"])], 182, True),
    ("183 days old is not", [ev(183, "gp", "clinic_contact", findings=["minor_injury"])], 183, False),
    ("whatever the explanation, it stays open", [ev(40, "ed", "ed_attendance", channel="hospital", findings=["bruise"], note="Fell off the sofa")], 60, True),
    ("closed by a paediatric examination on the same day", [ev(40, "gp", "clinic_contact", findings=["bruise"]), ev(40, "ed", "paediatric_examination", channel="hospital")], 40, False),
    ("an injury after the examination opens it again", [ev(40, "gp", "clinic_contact", findings=["bruise"]), ev(41, "ed", "paediatric_examination", channel="hospital"), ev(60, "gp", "clinic_contact", findings=["burn"])], 60, True),
]


@pytest.mark.parametrize(("description", "events", "day", "expected"), INJURY, ids=[c[0] for c in INJURY])
def test_injury_in_non_mobile_infant(description, events, day, expected):
    assert fires(family(events), "injury-in-non-mobile-infant", day) == expected


def test_injury_lists_earlier_injuries_as_sentinels_and_is_urgent():
    case = family([ev(20, "gp", "clinic_contact", findings=["bruise"]), ev(21, "ed", "paediatric_examination", channel="hospital"), ev(50, "ed", "ed_attendance", channel="hospital", findings=["fracture"])])
    (f,) = findings(case, "injury-in-non-mobile-infant", 50)
    assert f.severity == "urgent" and f.due_working_days == 0
    assert "possible sentinel injury on day 20" in f.explain()


def _icon(day, agency, to=("mum", "dad"), **kw):
    return ev(day, agency, "icon_delivered", ["mum"], outcome=None, channel=None, delivered_to=list(to), seen=[], **kw)


def icon_scopes(events, day, **kw):
    return sorted(f.scope for f in findings(family(events, **kw), "icon-not-delivered", day))


def test_icon_antenatal_is_due_by_36_weeks():
    assert icon_scopes([], -28) == []
    assert icon_scopes([], -27) == ["antenatal"]
    assert icon_scopes([_icon(-40, "midwifery")], -27) == []
    assert icon_scopes([], -27, due_day=21) == []  # due three weeks late: deadline day -7


def test_icon_late_delivery_resolves_the_touchpoint():
    assert icon_scopes([_icon(-10, "health_visiting")], -10) == []


def test_icon_tagged_delivery_counts_for_its_touchpoint_only():
    tagged = _icon(-40, "midwifery", touchpoint="other")
    assert icon_scopes([tagged], -27) == ["antenatal"]


def test_icon_postnatal_by_day_14_and_not_while_in_the_nnu():
    base = [_icon(-40, "midwifery")]
    assert icon_scopes(base, 15) == ["postnatal"]
    assert icon_scopes([*base, _icon(3, "maternity", touchpoint="birth")], 15) == []
    in_nnu = [ev(0, "nnu", "nnu_admission", channel="inpatient")]
    assert icon_scopes([*base, *in_nnu], 15) == []


def test_icon_nnu_discharge_is_checked_at_discharge():
    stay = [_icon(-40, "midwifery"), ev(0, "nnu", "nnu_admission", channel="inpatient"), ev(20, "nnu", "nnu_discharge", channel="inpatient")]
    assert icon_scopes(stay, 20) == ["nnu_discharge:e3"]
    assert icon_scopes([*stay, _icon(10, "nnu", touchpoint="nnu_discharge")], 20) == []


def test_icon_new_birth_visit_and_the_father():
    before = [_icon(-40, "midwifery"), _icon(2, "maternity", touchpoint="birth")]
    nbv = visit(12, kind="new_birth_visit", subjects=["baby", "mum"], seen=["baby", "mum", "dad"])
    assert icon_scopes([*before, nbv], 12) == ["new_birth_visit"]
    assert icon_scopes([*before, nbv, _icon(12, "health_visiting")], 12) == []
    only_mum = [_icon(-40, "midwifery", to=["mum"]), _icon(2, "maternity", to=["mum"]), _icon(12, "health_visiting", to=["mum"])]
    assert icon_scopes([*only_mum, nbv], 12) == ["male_carer:dad"]


def test_icon_gp_check_by_day_63():
    before = [_icon(-40, "midwifery"), _icon(2, "maternity")]
    assert icon_scopes(before, 63) == []
    assert icon_scopes(before, 64) == ["six_to_eight_week"]
    check = ev(50, "gp", "gp_six_to_eight_week_check")
    assert icon_scopes([*before, check], 50) == ["six_to_eight_week"]
    assert icon_scopes([*before, check, _icon(50, "gp")], 64) == []


NNU_STAY = [
    ("a 7-day stay with no assessment", 7, [], True),
    ("a 6-day stay needs none", 6, [], False),
    ("an assessment on the discharge day counts", 7, [ev(7, "nnu", "parenting_assessment", ["mum", "baby"])], False),
    ("an assessment on admission day counts", 7, [ev(0, "nnu", "parenting_assessment", ["mum"])], False),
]


@pytest.mark.parametrize(("description", "stay", "extra", "expected"), NNU_STAY, ids=[c[0] for c in NNU_STAY])
def test_nnu_discharge_without_parenting_assessment(description, stay, extra, expected):
    events = [ev(0, "nnu", "nnu_admission", channel="inpatient"), ev(stay, "nnu", "nnu_discharge", channel="inpatient"), *extra]
    assert fires(family(events), "nnu-discharge-without-parenting-assessment", stay) == expected


def test_medication_stopped_until_a_referral_on_or_after_it():
    stopped = ev(-150, "midwifery", "antenatal_contact", ["mum"], findings=["medication_stopped_in_pregnancy"])
    case = family([stopped])
    assert fires(case, "medication-stopped-in-pregnancy", -150)
    referral = ev(-150, "gp", "referral", ["mum"], to_agency="perinatal_mental_health", seen=[])
    assert not fires(family([stopped, referral]), "medication-stopped-in-pregnancy", -150)
    wrong = ev(-140, "gp", "referral", ["mum"], to_agency="adult_mental_health", seen=[])
    assert fires(family([stopped, wrong]), "medication-stopped-in-pregnancy", -140)


NO_DAD_RELS = [RELATIONSHIPS[0]]
UNRECORDED_DAD = [RELATIONSHIPS[0], {"person": "dad", "kind": "father_of", "other": "baby", "recorded_by": []}]


def test_male_carer_unknown_when_no_agency_recorded_him():
    case = family([], relationships=UNRECORDED_DAD)
    assert fires(case, "male-carer-unknown", -200)  # from booking: the expected baby exists
    assert not fires(case, "male-carer-unknown", -201)  # before booking there is no expected baby


def test_male_carer_known_from_the_day_an_agency_records_him():
    rels = [RELATIONSHIPS[0], {"person": "dad", "kind": "father_of", "other": "baby", "recorded_by": ["ed"], "from_day": 45}]
    case = family([], relationships=rels)
    assert fires(case, "male-carer-unknown", 44)
    assert not fires(case, "male-carer-unknown", 45)


def test_partner_of_the_mother_living_with_the_baby_is_a_male_carer():
    rels = [RELATIONSHIPS[0], {"person": "dad", "kind": "partner_of", "other": "mum", "recorded_by": ["midwifery"]}]
    assert not fires(family([], relationships=rels), "male-carer-unknown", 0)
    people = [*PEOPLE[:2], {**PEOPLE[2], "identity": {"address": "9 Far Away", "postcode": "ZZ9 9ZZ"}}]
    assert fires(family([], relationships=rels, people=people), "male-carer-unknown", 0)


def test_male_carer_partner_mentioned_and_none_identified():
    mention = ev(32, "gp", "gp_appointment", ["mum"], findings=["supportive_partner_reported"])
    rels = [RELATIONSHIPS[0], RELATIONSHIPS[1]]  # father recorded, but no partner_of
    assert fires(family([mention], relationships=rels), "male-carer-unknown", 32)
    assert not fires(family([mention]), "male-carer-unknown", 32)


def test_male_carer_not_seen_at_the_new_birth_visit_until_seen():
    nbv = visit(12, kind="new_birth_visit", seen=["baby", "mum"])
    assert fires(family([nbv]), "male-carer-unknown", 12)
    dad_seen = ev(20, "gp", "gp_appointment", ["dad"])
    assert not fires(family([nbv, dad_seen]), "male-carer-unknown", 20)


LODGER = {"id": "lodger", "role": "adult", "sex": "male", "born_day": -9000, "identity": {"address": "1 Test Row", "postcode": "ZZ1 1ZZ"}, "known_to": ["police"]}


def test_unlinked_household_adult_steps():
    case = family([], extra_people=[LODGER])
    assert step(case, "unlinked-household-adult", -200) == 1
    risk = ev(-100, "police", "police_callout", ["lodger"], findings=["violence"], channel="home_visit")
    assert step(family([risk], extra_people=[LODGER]), "unlinked-household-adult", -100) == 2


def test_unlinked_household_adult_not_when_linked_or_elsewhere():
    linked = {"person": "lodger", "kind": "lives_with", "other": "mum", "recorded_by": ["health_visiting"]}
    assert not fires(family([], extra_people=[LODGER], extra_relationships=[linked]), "unlinked-household-adult", 0)
    away = {**LODGER, "identity": {"address": "2 Other Street", "postcode": "ZZ1 1ZZ"}}
    assert not fires(family([], extra_people=[away]), "unlinked-household-adult", 0)
    unknown = {**LODGER, "known_to": []}
    assert not fires(family([], extra_people=[unknown]), "unlinked-household-adult", 0)


def test_unlinked_household_adult_address_matching_ignores_case_and_punctuation():
    shouty = {**LODGER, "identity": {"address": "1, TEST ROW", "postcode": "zz11zz"}}
    assert fires(family([], extra_people=[shouty]), "unlinked-household-adult", 0)


def test_unshared_parent_risk_held_only_by_the_police():
    callout = ev(-100, "police", "police_callout", ["dad"], findings=["domestic_abuse"], channel="home_visit")
    case = family([callout])
    (f,) = findings(case, "unshared-parent-risk", -100)
    assert f.scope == "dad" and f.severity == "escalate"
    assert f.facts[0].sensitivity == "police"
    hidden = f.explain(reveal=lambda fact: fact.sensitivity == "general")
    assert "domestic abuse" not in hidden and "ask the police" in hidden
    assert "domestic abuse" in f.explain()


def test_unshared_parent_risk_not_when_an_agency_working_with_the_baby_recorded_it():
    shared = ev(-100, "gp", "gp_appointment", ["dad"], findings=["depression"])
    assert not fires(family([shared]), "unshared-parent-risk", -100)


def test_unshared_parent_risk_needs_a_recorded_relationship():
    callout = ev(-100, "police", "police_callout", ["dad"], findings=["violence"], channel="home_visit")
    assert not fires(family([callout], relationships=UNRECORDED_DAD), "unshared-parent-risk", -100)


def factor_names(case, day):
    (f,) = findings(case, "cumulative-vulnerability", day) or [None]
    return None if f is None else sorted({x.what.removeprefix("factor:") for x in f.facts})


def test_cumulative_vulnerability_fires_at_three_factors():
    two = [ev(-200, "midwifery", "antenatal_contact", ["mum"], findings=["first_pregnancy", "anxiety"])]
    assert factor_names(family(two), -150) is None
    three = [*two, ev(-150, "gp", "gp_appointment", ["dad"], findings=["financial_hardship"])]
    assert factor_names(family(three), -150) == ["first_time_parent", "hardship", "parental_mental_health"]


def test_cumulative_vulnerability_counts_each_factor_once_and_never_lapses():
    events = [ev(-200, "midwifery", "antenatal_contact", ["mum"], findings=["anxiety", "depression"]), ev(-190, "gp", "gp_appointment", ["mum"], findings=["psychosis"])]
    assert factor_names(family(events), 100) is None
    events.append(visit(-180, "no_access", kind="antenatal_contact", subjects=["mum"]))
    events.append(ev(-170, "midwifery", "antenatal_contact", ["mum"], findings=["young_parent"]))
    assert factor_names(family(events), 300) == ["missed_contacts", "parental_mental_health", "young_or_vulnerable_parent"]


def test_cumulative_vulnerability_reads_the_invisible_man_and_the_nnu():
    events = [ev(0, "nnu", "nnu_admission", channel="inpatient"), ev(-150, "midwifery", "antenatal_contact", ["mum"], findings=["first_pregnancy"])]
    assert factor_names(family(events, relationships=UNRECORDED_DAD), 0) == ["first_time_parent", "neonatal", "unknown_male_carer"]


def test_cumulative_vulnerability_young_mother_and_sibling_injury():
    young_mum = {**PEOPLE[1], "born_day": -19 * 365}
    sib = {"id": "sib", "role": "sibling", "sex": "male", "born_day": -700}
    sib_rel = {"person": "mum", "kind": "mother_of", "other": "sib", "recorded_by": ["gp"]}
    events = [ev(-500, "ed", "ed_attendance", ["sib"], channel="hospital", findings=["fracture"]), ev(-100, "police", "safeguarding_referral", ["mum"], channel=None, outcome=None)]
    case = family(events, people=[PEOPLE[0], young_mum, PEOPLE[2], sib], extra_relationships=[sib_rel])
    assert factor_names(case, -100) == ["sibling_injury", "social_care", "young_or_vulnerable_parent"]


def test_every_baby_in_the_family_gets_its_own_alerts():
    twin = {"id": "twin", "role": "child", "sex": "male", "born_day": 0}
    rel = {"person": "mum", "kind": "mother_of", "other": "twin", "recorded_by": ["maternity"]}
    events = [ev(150, "gp", "clinic_contact", ["twin"], findings=["bruise"])]
    case = family(events, extra_people=[twin], extra_relationships=[rel], index_child="baby")
    assert fires(case, "injury-in-non-mobile-infant", 150, child="twin")
    assert not fires(case, "injury-in-non-mobile-infant", 150, child="baby")
