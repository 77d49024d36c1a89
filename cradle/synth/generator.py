"""A synthetic population of families with babies, one family at a time.

Each family is drawn with its own random generator, seeded by (seed, family number),
so a family is the same however the population is split between processes, and
``families(n, seed)`` is a lazy generator: a national population never has to be in
memory at once. Rates come from ``rates.toml`` (each with its source, or marked a guess).

A family is plain rows (what a database query or a Parquet file gives), strings for
the vocabulary words, days counted from the index baby's birth (day 0):

- ``people``: (id, role, sex, born_day, due_day, given, family, nhs_number, address,
  postcode, known_to)
- ``relationships``: (person, kind, other, recorded_by, from_day)
- ``events``: (day, recorded_day, agency, kind, subjects, outcome, channel, seen,
  findings, to_agency, delivered_to, touchpoint), sorted by (day, recorded_day)

and, for measurement only (the rules never see them): the harm day and kind, the
path the family is on, its deprivation quintile and ethnic group, and its risks.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import accumulate
from math import exp

from cradle.synth.identities import nhs_numbers, pools
from cradle.synth.rates import Rates, load_rates

BIRTHS_FROM = date(2025, 1, 1)
ETHNIC_GROUPS = ("white", "asian", "black", "mixed", "other")
PATTERNS = (
    "unseen_crying_baby",
    "father_history",
    "sentinel_injury",
    "substance_neglect",
    "weak_signal",
    "no_signal",
)
ALL_HEALTH = ("midwifery", "maternity", "health_visiting", "gp")
HOME_VISITORS = ("health_visiting", "midwifery", "childrens_social_care", "early_help")


def family_seed(seed: int, family: int) -> int:
    return seed * 1_000_003 + family


def families(
    n: int, seed: int, rates: Rates | None = None, start: int = 0, births_from: date = BIRTHS_FROM
) -> Iterator[dict]:
    """Families ``start`` to ``start + n - 1`` of the population ``seed``, made as they are read."""
    rates = rates or load_rates()
    for fid in range(start, start + n):
        yield make_family(fid, seed, rates, births_from)


def _pick(rng: random.Random, weights) -> int:
    cum = list(accumulate(weights))
    return min(bisect(cum, rng.random() * cum[-1]), len(cum) - 1)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class _Family:
    """The rows of one family as they are drawn."""

    def __init__(self, rng: random.Random, rates: Rates, horizon: int, failure: float):
        self.rng = rng
        self.rates = rates
        self.events: list[tuple] = []
        self.horizon = horizon  # nothing happens after the harm (or the first birthday)
        self.failure = failure  # missed-contact rates multiplied by this

    def add(self, day, agency, kind, subjects, outcome="attended", channel="clinic", seen=None, findings=(),
            to=None, delivered=(), touchpoint=None):  # fmt: skip
        if day > self.horizon:
            return
        rng = self.rng
        lag = rng.choice((1, 1, 2, 3)) if rng.random() < 0.12 else 0
        if seen is None:
            seen = (
                subjects
                if outcome == "attended" and channel not in ("phone", "online", "video")
                else ()
            )
        self.events.append(
            (day, day + lag, agency, kind, tuple(subjects), outcome, channel, tuple(seen), tuple(findings), to,
             tuple(delivered), touchpoint)
        )  # fmt: skip

    def booked(self, day, agency, kind, subjects, channel="clinic", baby=None, findings=(), seen=None,
               retries=2, extra_failure=1.0) -> int | None:  # fmt: skip
        """A booked contact: it may fail (then it is rebooked a few days later, up to
        ``retries`` times). Returns the day it happened, or None."""
        rng, rates = self.rng, self.rates
        f = self.failure * extra_failure
        for attempt in range(retries + 1):
            if day > self.horizon:
                return None
            r = rng.random()
            if channel == "home_visit":
                p_na, p_refused = (
                    rates["home_visit_no_access"] * f,
                    rates["home_visit_no_access"] * f * 0.1,
                )
                if r < p_na:
                    outcome = "no_access"
                elif r < p_na + p_refused:
                    outcome = "access_refused"
                else:
                    outcome = None
            else:
                p = (rates["was_not_brought"] if baby else rates["antenatal_did_not_attend"]) * f
                outcome = ("was_not_brought" if baby else "did_not_attend") if r < p else None
            if outcome is None:
                r = rng.random()
                if r < rates["cancelled_by_family"] * f:
                    outcome = "cancelled_by_family"
                elif r < rates["cancelled_by_family"] * f + rates["cancelled_by_service"]:
                    outcome = "cancelled_by_service"
            if outcome is None:
                look = seen
                if (
                    look is None
                    and channel == "home_visit"
                    and baby
                    and rng.random() < rates["home_visit_baby_not_seen"]
                ):
                    look = tuple(s for s in subjects if s != baby)
                self.add(day, agency, kind, subjects, "attended", channel, look, findings)
                return day
            self.add(day, agency, kind, subjects, outcome, channel, ())
            if attempt < retries and rng.random() < 0.85:
                day += rng.randint(3, 10)
            else:
                return None
        return None

    def icon(self, day, agency, touchpoint, rate, to):
        if self.rng.random() < self.rates[rate]:
            self.add(
                day,
                agency,
                "icon_delivered",
                ("mum",),
                channel="clinic",
                seen=(),
                delivered=to,
                touchpoint=touchpoint,
            )


def make_family(fid: int, seed: int, rates: Rates, births_from: date = BIRTHS_FROM) -> dict:
    rng = random.Random(family_seed(seed, fid))
    rand, randint, chance = rng.random, rng.randint, lambda name: rng.random() < rates[name]
    names = pools(seed)

    # -- who the family are ------------------------------------------------------------
    quintile = _pick(rng, rates["deprivation_quintile"]) + 1
    ethnic = ETHNIC_GROUPS[_pick(rng, rates["ethnic_group"])]
    social = rates["deprivation_risk_multiplier"][quintile - 1]
    band = _pick(rng, rates["mother_age_band"])
    mum_age = (
        randint(16, 19),
        randint(20, 24),
        randint(25, 29),
        randint(30, 34),
        randint(35, 39),
        randint(40, 45),
    )[band]
    first = chance("first_pregnancy")
    n_sibs = 0 if first else _pick(rng, rates["older_siblings"]) + 1
    twins = chance("twins")

    pattern = None
    if chance("harm_trajectory"):
        pattern = PATTERNS[_pick(rng, rates["harm_pattern"])]

    risks: set[str] = set()
    if first:
        risks.add("first_pregnancy")
    if mum_age < 20:
        risks.add("young_parent")
    if chance("perinatal_mental_health"):
        risks.add(
            rng.choice(
                ("anxiety", "depression", "anxiety", "depression", "worsening_mental_health")
            )
        )
    if chance("severe_mental_illness"):
        risks.add("psychosis")
    if chance("medication_stopped_in_pregnancy"):
        risks.add("medication_stopped_in_pregnancy")
    for word, name in (("domestic_abuse", "domestic_abuse"), ("substance_misuse", "substance_misuse"),
                       ("alcohol_misuse", "alcohol_misuse"), ("financial_hardship", "financial_hardship"),
                       ("housing_problem", "housing_problem")):  # fmt: skip
        if rand() < rates[name] * social:
            risks.add(word)
    for word in ("care_leaver", "learning_disability", "previous_child_removed"):
        if chance(word):
            risks.add(word)
    dad_risk = chance("paternal_mental_health")
    dad_offending = rand() < rates["father_substance_or_offending"] * social
    on_plan = chance("child_protection_plan")

    # -- the paths towards harm (cases/*.yaml) ---------------------------------------------
    harm_day = harm_kind = None
    failure = social
    if pattern == "unseen_crying_baby":  # Calderdale 2022
        harm_day, harm_kind = randint(35, 70), "non_accidental_injury"
        risks |= {rng.choice(("anxiety", "depression")), "worsening_mental_health"}
        failure *= 4
    elif pattern == "father_history":  # Devon, Baby F
        harm_day, harm_kind = randint(60, 110), "non_accidental_injury"
        risks |= {"domestic_abuse", rng.choice(("depression", "housing_problem"))}
        dad_offending = True
        failure *= 4
    elif pattern == "sentinel_injury":  # Hampshire, Baby V
        harm_day, harm_kind = randint(80, 170), rng.choice(("non_accidental_injury", "death"))
    elif pattern == "substance_neglect":  # Norfolk AB2, Derbyshire 2024
        harm_day, harm_kind = randint(60, 330), rng.choice(("neglect", "death"))
        risks |= {rng.choice(("substance_misuse", "alcohol_misuse")), "housing_problem"}
        on_plan = on_plan or rand() < 0.5
        failure *= 6
    elif pattern in ("weak_signal", "no_signal"):
        harm_day = randint(14, 330)
        harm_kind = rng.choice(
            ("non_accidental_injury", "non_accidental_injury", "neglect", "death")
        )
    if "substance_misuse" in risks or "alcohol_misuse" in risks:
        failure *= 1.5
    horizon = harm_day if harm_day is not None else 364
    fam = _Family(rng, rates, horizon, failure)
    add, booked, icon = fam.add, fam.booked, fam.icon

    # -- pregnancy ------------------------------------------------------------------------
    preterm = chance("preterm") or (pattern == "unseen_crying_baby" and rand() < 0.5)
    gestation = randint(168, 258) if preterm else randint(259, 292)  # days at birth
    due_day = 280 - gestation
    booking_ga = randint(91, 200) if chance("late_booking") else randint(56, 90)
    booking_ga = min(booking_ga, gestation - 14)  # a late booker still books before the birth
    booking = booking_ga - gestation
    father = chance("father_involved")
    dad_home = father and chance("father_lives_with_baby")
    recorded = _pick(rng, rates["father_recorded"]) if father else 2
    if pattern in ("unseen_crying_baby",):
        recorded = 2  # the father recorded by no agency
    if pattern == "father_history":
        father, dad_home, recorded = True, True, 0
    partner = (not dad_home) and rand() < rates[
        "new_partner"
    ] * 2  # mostly where no resident father
    partner_day = randint(-60, 300)
    other_adult = chance("other_adult_at_address")

    # -- the people -----------------------------------------------------------------------
    surname = rng.choice(names.surnames)
    address, postcode = names.address(rng)
    if chance("shared_address"):
        # Temporary accommodation / a house in multiple occupation: one of a few addresses per seed.
        shared = random.Random(family_seed(seed, -1 - randint(0, 999)))
        address, postcode = names.address(shared)
        address = f"Flat {randint(1, 12)}, {address}"
    numbers = iter(nhs_numbers(seed, fid))
    people: list[tuple] = []

    def person(pid, role, sex, born, due, given, family, where, pc, known):
        people.append(
            (pid, role, sex, born, due, given, family, next(numbers, None), where, pc, tuple(known))
        )

    baby_sex = rng.choice(("male", "female"))
    person(
        "baby",
        "child",
        baby_sex,
        0,
        due_day,
        names.given(rng, baby_sex),
        surname,
        address,
        postcode,
        (),
    )
    babies = ["baby"]
    if twins:
        sex2 = rng.choice(("male", "female"))
        person(
            "twin",
            "child",
            sex2,
            0,
            due_day,
            names.given(rng, sex2),
            surname,
            address,
            postcode,
            (),
        )
        babies.append("twin")
    person("mum", "mother", "female", -mum_age * 365 - randint(0, 364), None, names.given(rng, "female"), surname,
           address, postcode, ("gp",))  # fmt: skip
    rels: list[tuple] = [("mum", "mother_of", b, ALL_HEALTH, None) for b in babies]
    if father:
        dad_known = ["gp"]
        if dad_offending:
            dad_known += rng.sample(
                ("police", "probation", "substance_misuse", "adult_mental_health"), 2
            )
        if pattern == "father_history":
            dad_known = ["gp", "childrens_social_care", "family_court"]
        where = (address, postcode) if dad_home else names.address(rng)
        dad_surname = surname if rand() < 0.6 else rng.choice(names.surnames)
        person("dad", "father", "male", -(mum_age + randint(-2, 8)) * 365 - randint(0, 364), None,
               names.given(rng, "male"), dad_surname, *where, dad_known)  # fmt: skip
        by = (ALL_HEALTH, ("midwifery",), ())[recorded]
        for b in babies:
            rels.append(("dad", "father_of", b, by, None))
        rels.append(("dad", "partner_of", "mum", by if dad_home else (), None))
    if partner:
        person("partner", "male_carer", "male", -(mum_age + randint(-3, 10)) * 365, None, names.given(rng, "male"),
               rng.choice(names.surnames), address, postcode, ("gp",) if rand() < 0.7 else ("police",))  # fmt: skip
        if chance("new_partner_recorded"):
            for b in babies:
                rels.append(("partner", "carer_of", b, ("health_visiting",), max(partner_day, 0)))
            rels.append(("partner", "partner_of", "mum", ("health_visiting",), partner_day))
        else:
            rels.append(("partner", "partner_of", "mum", (), partner_day))
    for i in range(n_sibs):
        sid = f"sib{i + 1}"
        sex = rng.choice(("male", "female"))
        person(sid, "sibling", sex, -randint(450 + 550 * i, 1200 + 900 * i), None, names.given(rng, sex), surname,
               address, postcode, ("gp",))  # fmt: skip
        rels.append(("mum", "mother_of", sid, ("gp",), None))
        for b in babies:
            rels.append(
                (sid, "sibling_of", b, ("gp", "health_visiting") if rand() < 0.7 else (), None)
            )
    if other_adult:
        gran = rand() < 0.6
        sex = "female" if gran and rand() < 0.7 else rng.choice(("male", "female"))
        person("adult", "grandparent" if gran else "household_member", sex, -randint(20, 70) * 365, None,
               names.given(rng, sex), surname if gran else rng.choice(names.surnames), address, postcode,
               (rng.choice(("gp", "housing")),))  # fmt: skip
        if chance("other_adult_related"):
            rels.append(
                (
                    "adult",
                    "grandparent_of" if gran else "lives_with",
                    "baby",
                    ("health_visiting",),
                    None,
                )
            )

    # -- the universal contact schedule ----------------------------------------------------
    mum, dad_there = ("mum",), ("dad",) if dad_home else ()
    known_words = sorted(w for w in risks if w not in ("domestic_abuse",) or rand() < 0.5)
    if dad_home and recorded < 2 and rand() < 0.5:
        known_words.append("supportive_partner_reported")
    if pattern == "unseen_crying_baby":
        known_words = [w for w in known_words if w != "worsening_mental_health"]
    mh = {"anxiety", "depression", "worsening_mental_health", "psychosis"} & risks
    if mh and not chance("perinatal_mental_health_recorded_at_booking"):
        known_words = [w for w in known_words if w not in mh]
    if pattern == "weak_signal":
        known_words = [w for w in known_words if w in ("first_pregnancy",)]
    add(booking, "midwifery", "antenatal_booking", mum, seen=mum + dad_there, findings=known_words)
    weeks = (16, 25, 28, 31, 34, 36, 38, 40, 41) if first else (16, 28, 34, 36, 38, 41)
    for week in weeks:
        day = week * 7 - gestation + randint(-3, 3)
        if booking < day < 0:
            channel = "home_visit" if week == 36 and rand() < 0.3 else "clinic"
            words = (
                ("medication_stopped_in_pregnancy",)
                if week == 16 and "medication_stopped_in_pregnancy" in risks
                else ()
            )
            booked(day, "midwifery", "antenatal_contact", mum, channel, findings=words)
    for week in (12, 20):  # scans
        day = week * 7 - gestation + randint(-5, 5)
        if booking <= day < 0:
            booked(day, "maternity", "clinic_contact", mum, "hospital")
    icon_to = ("mum", "dad") if dad_there and rand() < rates["icon_reaches_father"] else mum
    antenatal_icon = min(due_day - 35, -1) + randint(-20, 5)
    if antenatal_icon > booking:
        icon(antenatal_icon, "midwifery", "antenatal", "icon_antenatal", icon_to)
    if chance("hv_antenatal_contact") and booking < -40:
        booked(
            randint(max(booking, -100), -30),
            "health_visiting",
            "antenatal_contact",
            mum,
            "home_visit",
        )
    if mh and rand() < 0.5:
        add(
            booking + randint(7, 30),
            "midwifery",
            "referral",
            mum,
            channel="phone",
            to="perinatal_mental_health",
        )
        booked(booking + randint(35, 70), "perinatal_mental_health", "mental_health_review", mum,
               findings=(sorted(mh)[0],))  # fmt: skip
    if "domestic_abuse" in risks and (
        chance("domestic_abuse_police_only") or pattern == "father_history"
    ):
        add(randint(booking, 200), "police", "police_callout", mum + (("dad",) if father else ()), channel="home_visit",
            findings=("domestic_abuse",))  # fmt: skip
    if "financial_hardship" in risks or "housing_problem" in risks:
        if rand() < 0.3:
            add(
                randint(booking, 300),
                "housing",
                "home_visit",
                mum,
                channel="home_visit",
                findings=("housing_problem",),
            )
    if father and dad_risk:
        add(
            randint(-400, 200),
            "gp",
            "gp_appointment",
            ("dad",),
            findings=(rng.choice(("anxiety", "depression")),),
        )
    if father and dad_offending:
        agency = next((a for a in dad_known if a != "gp"), "police")
        word = {"police": "violence", "probation": "criminal_history", "substance_misuse": "substance_misuse",
                "adult_mental_health": "depression", "childrens_social_care": "violence",
                "family_court": "violence"}[agency]  # fmt: skip
        kind = {"police": "police_callout", "adult_mental_health": "mental_health_review"}.get(
            agency, "clinic_contact"
        )
        if pattern == "father_history":
            add(
                -randint(1200, 1700),
                "childrens_social_care",
                "strategy_discussion",
                ("dad",),
                channel="phone",
            )
            add(
                -randint(900, 1150),
                "family_court",
                "parenting_assessment",
                ("dad",),
                findings=("violence",),
            )
        else:
            add(randint(-700, 100), agency, kind, ("dad",), channel="clinic", findings=(word,))
    if on_plan:
        start = randint(booking + 20, 60)
        add(start - 14, "midwifery" if start < 0 else "health_visiting", "safeguarding_referral", mum, channel="phone",
            to="childrens_social_care")  # fmt: skip
        add(start - 7, "childrens_social_care", "strategy_discussion", mum, channel="phone")
        add(start, "childrens_social_care", "child_protection_plan_start", mum if start < 0 else ("baby",), channel="clinic",
            seen=())  # fmt: skip
        day = start + randint(5, 10)
        while day < min(horizon, start + 270):
            booked(day, "childrens_social_care", "home_visit", ("baby", "mum") if day >= 0 else mum, "home_visit",
                   baby="baby" if day >= 0 else None, retries=0)  # fmt: skip
            day += randint(10, 20)
        if rand() < 0.5 and start + 270 < horizon:
            add(
                start + 270,
                "childrens_social_care",
                "child_protection_plan_end",
                ("baby",),
                channel="clinic",
                seen=(),
            )

    # -- the birth -----------------------------------------------------------------------
    family_at_birth = (*babies, "mum", *(("dad",) if father and chance("father_at_birth") else ()))
    add(0, "maternity", "birth", (*babies, "mum"), channel="inpatient", seen=family_at_birth,
        findings=("premature", "low_birth_weight") if preterm and gestation < 245 else ())  # fmt: skip
    icon(0, "maternity", "birth", "icon_birth", icon_to)
    nnu = rand() < rates["nnu_admission_preterm" if preterm else "nnu_admission_term"]
    home = randint(1, 3)
    if nnu:
        stay = randint(10, 60) if preterm and gestation < 240 else randint(2, 14)
        for b in babies:
            add(
                0,
                "nnu",
                "nnu_admission",
                (b,),
                channel="inpatient",
                findings=("respiratory_distress",) if rand() < 0.4 else (),
            )
        words = ("unable_to_visit_nnu",) if "financial_hardship" in risks and rand() < 0.5 else ()
        add(
            max(1, stay // 2),
            "nnu",
            "inpatient_note",
            (*babies, "mum"),
            channel="inpatient",
            seen=babies,
            findings=words,
        )
        if stay >= 7 and chance("nnu_parenting_assessment"):
            add(stay - randint(1, 3), "nnu", "parenting_assessment", (*babies, "mum"), channel="inpatient",
                seen=(*babies, "mum"))  # fmt: skip
        for b in babies:
            add(stay, "nnu", "nnu_discharge", (b,), channel="inpatient", seen=(b, "mum"))
        icon(stay, "nnu", "nnu_discharge", "icon_nnu_discharge", icon_to)
        home = stay
    else:
        add(home, "maternity", "maternity_discharge", (*babies, "mum"), channel="inpatient")
    both = (*babies, "mum")
    for offset in (1, 4, 9):
        channel = "home_visit" if offset < 9 else "clinic"
        booked(
            home + offset, "midwifery", "postnatal_contact", both, channel, baby="baby", retries=1
        )
    if home <= 12:
        icon(home + randint(1, 9), "midwifery", "postnatal", "icon_postnatal", icon_to)

    # -- health visiting and the GP -------------------------------------------------------
    nbv_day = (
        max(home + 2, randint(10, 14))
        if chance("new_birth_visit_within_14_days")
        else randint(15, 30)
    )
    seen_nbv = both + (dad_there if rand() < rates["father_seen_at_new_birth_visit"] else ())
    nbv_words = ("feeding_difficulty",) if rand() < 0.08 else ()
    extra = 3.0 if pattern == "unseen_crying_baby" else 1.0
    nbv = booked(nbv_day, "health_visiting", "new_birth_visit", both, "home_visit", baby="baby", seen=None,
                 findings=nbv_words, extra_failure=extra)  # fmt: skip
    if nbv is not None:
        # The visit happened: who was seen (the father, if he was there).
        last = fam.events[-1]
        if last[3] == "new_birth_visit" and last[5] == "attended" and "baby" in last[7]:
            fam.events[-1] = (*last[:7], seen_nbv, *last[8:])
        icon(nbv, "health_visiting", "new_birth_visit", "icon_new_birth_visit", icon_to)
    add(randint(7, 35), "gp", "registration", babies, channel=None, seen=())
    if chance("six_to_eight_week_review"):
        channel = "home_visit" if rand() < 0.4 else "clinic"
        booked(
            randint(42, 56),
            "health_visiting",
            "six_to_eight_week_review",
            both,
            channel,
            baby="baby",
        )
    if chance("gp_six_to_eight_week_check"):
        check = booked(randint(42, 60), "gp", "gp_six_to_eight_week_check", both, baby="baby")
        if check is not None:
            icon(check, "gp", "six_to_eight_week", "icon_gp_check", icon_to)
    add(
        randint(42, 60),
        "gp",
        "gp_appointment",
        mum,
        findings=(sorted(mh)[0],) if mh and rand() < 0.5 else (),
    )
    for week in (8, 12, 16):
        if chance("immunised_on_time"):
            booked(week * 7 + randint(0, 10), "gp", "immunisation", babies, baby="baby")
    if chance("nine_to_twelve_month_review"):
        booked(randint(270, 350), "health_visiting", "nine_to_twelve_month_review", both,
               "home_visit" if rand() < 0.3 else "clinic", baby="baby")  # fmt: skip
    crying = chance("persistent_crying")
    for _ in range(_poisson(rng, rates["gp_consultations_per_year"])):
        day = randint(5, 360)
        word = (
            rng.choice(("vomiting", "blocked_nose", "feeding_difficulty", ""))
            if rand() < 0.3
            else ""
        )
        if crying and day < 90 and rand() < 0.5:
            word = "persistent_crying"
        booked(day, "gp", "gp_appointment", both, baby="baby", findings=(word,) if word else ())
    if crying:
        booked(
            randint(14, 70),
            "health_visiting",
            "clinic_contact",
            both,
            baby="baby",
            findings=("persistent_crying",),
        )
    for _ in range(_poisson(rng, rates["ed_attendances_per_year"])):
        day = randint(3, 360)
        word = rng.choice(
            (
                "vomiting",
                "respiratory_distress",
                "feeding_difficulty",
                "minor_injury" if day > 200 else "vomiting",
            )
        )
        add(
            day,
            "ed",
            "ed_attendance",
            ("baby",),
            channel="hospital",
            seen=("baby", "mum"),
            findings=(word,),
        )
    if chance("accidental_injury_non_mobile"):
        day = randint(20, 170)
        add(
            day,
            "ed",
            "ed_attendance",
            ("baby",),
            channel="hospital",
            seen=("baby", "mum"),
            findings=("minor_injury",),
        )
        add(day, "ed", "paediatric_examination", ("baby",), channel="hospital", seen=("baby",))
    if chance("remote_consultation"):
        day = randint(10, 300)
        word = rng.choice(("persistent_crying", "vomiting", "blocked_nose", "feeding_difficulty"))
        if rand() < 0.5:
            subjects = mum if (day < 183 and chance("econsult_as_parent")) else ("baby",)
            add(day, "gp", "econsult", subjects, channel="online", seen=(), findings=(word,))
        else:
            add(
                day,
                "gp",
                "phone_contact",
                ("baby", "mum"),
                channel="phone",
                seen=(),
                findings=(word,),
            )
        if rand() < 0.85:
            booked(day + randint(0, 2), "gp", "gp_appointment", both, baby="baby")
    if chance("out_of_hours_contact"):
        day = randint(5, 360)
        add(
            day,
            "gp",
            "out_of_hours_contact",
            ("baby",),
            channel="phone",
            seen=(),
            findings=(rng.choice(("vomiting", "blocked_nose")),),
        )
    if chance("hospital_admission"):
        day = randint(20, 340)
        add(
            day,
            "ed",
            "ed_attendance",
            ("baby",),
            channel="hospital",
            seen=("baby", "mum"),
            findings=("respiratory_distress",),
        )
        add(day, "maternity", "hospital_admission", ("baby",), channel="inpatient")
        add(day + randint(1, 6), "maternity", "hospital_discharge", ("baby",), channel="inpatient")
    for i in range(n_sibs):
        if rand() < 0.5:
            booked(
                randint(booking, 360),
                "gp",
                "gp_appointment",
                (f"sib{i + 1}", "mum"),
                baby=f"sib{i + 1}",
            )
    if partner and partner_day < horizon:
        add(max(partner_day, booking) + randint(0, 20), "health_visiting" if partner_day > 14 else "midwifery",
            "clinic_contact", mum, findings=("new_partner",))  # fmt: skip
    if chance("moved_out_of_area"):
        add(randint(30, 330), "health_visiting", "moved_out_of_area", both, channel=None, seen=())

    # -- the paths towards harm: their signals, then the harm -----------------------------
    if harm_day is not None:
        h = harm_day
        if pattern == "unseen_crying_baby":
            d1 = h - randint(7, 18)
            add(
                d1,
                "gp",
                "econsult",
                mum,
                channel="online",
                seen=(),
                findings=("persistent_crying", "worsening_mental_health"),
            )
            booked(
                h - randint(20, 28),
                "health_visiting",
                "home_visit",
                both,
                "home_visit",
                baby="baby",
                retries=0,
                extra_failure=6,
            )
            add(
                d1 + randint(1, 4),
                "gp",
                "econsult",
                mum,
                channel="online",
                seen=(),
                findings=("blocked_nose", "feeding_difficulty"),
            )
        elif pattern == "father_history":
            booked(h - randint(20, 35), "health_visiting", "six_to_eight_week_review", both, "home_visit", baby="baby",
                   retries=0, extra_failure=8)  # fmt: skip
            booked(
                h - randint(10, 19),
                "gp",
                "gp_six_to_eight_week_check",
                both,
                baby="baby",
                retries=0,
                extra_failure=6,
            )
        elif pattern == "sentinel_injury":
            d1 = h - randint(8, 30)
            add(
                randint(20, max(21, d1 - 5)), "gp", "gp_appointment", mum, findings=("not_bonding",)
            )
            add(d1, "gp" if rand() < 0.6 else "health_visiting", "clinic_contact", ("baby",), channel="clinic",
                seen=("baby", "mum"), findings=("bruise",))  # fmt: skip
            if rand() < 0.5:
                add(
                    d1 + randint(1, 5),
                    "gp",
                    "out_of_hours_contact",
                    ("baby",),
                    channel="phone",
                    seen=(),
                    findings=("bruise",),
                )
        elif pattern == "substance_neglect":
            day = max(14, h - randint(60, 90))
            while day < h - 3:
                booked(
                    day,
                    "health_visiting",
                    "home_visit",
                    both,
                    "home_visit",
                    baby="baby",
                    retries=0,
                    extra_failure=4,
                )
                day += randint(7, 14)
        elif pattern == "weak_signal":
            sign = randint(0, 2)
            if sign == 0:
                add(
                    h - randint(7, 40),
                    "health_visiting",
                    "home_visit",
                    both,
                    "no_access",
                    "home_visit",
                    seen=(),
                )
            elif sign == 1:
                add(
                    h - randint(7, 40),
                    "gp",
                    "phone_contact",
                    ("baby", "mum"),
                    channel="phone",
                    seen=(),
                    findings=("vomiting",),
                )
            else:
                add(h - randint(7, 40), "gp", "gp_appointment", mum, findings=("anxiety",))
        if harm_kind == "death":
            add(
                h,
                "ed",
                "ed_attendance",
                ("baby",),
                channel="hospital",
                seen=("baby", "mum"),
                findings=("significant_injury",),
            )
            add(h, "ed", "death", ("baby",), channel="hospital", seen=())
        elif harm_kind == "neglect":
            add(h, "ed", "ed_attendance", ("baby",), channel="hospital", seen=("baby", "mum"),
                findings=("feeding_difficulty", "significant_injury"))  # fmt: skip
            add(
                h,
                "ed",
                "safeguarding_referral",
                ("baby",),
                channel="phone",
                seen=(),
                to="childrens_social_care",
            )
        else:
            add(h, "ed", "ed_attendance", ("baby",), channel="hospital", seen=("baby", "mum"),
                findings=(rng.choice(("head_injury", "fracture", "bruise")), "significant_injury"))  # fmt: skip
            add(
                h,
                "ed",
                "safeguarding_referral",
                ("baby",),
                channel="phone",
                seen=(),
                to="childrens_social_care",
            )

    events = sorted(fam.events, key=lambda e: (e[0], e[1]))
    origin = births_from + timedelta(days=randint(0, 364))
    return {
        "family": f"F{fid:07d}",
        "number": fid,
        "origin": origin,
        "index_child": "baby",
        "booking_day": booking,
        "harm_day": harm_day,
        "harm_kind": harm_kind,
        "pattern": pattern or "",
        "quintile": quintile,
        "ethnic_group": ethnic,
        "risks": sorted(risks),
        "people": people,
        "relationships": rels,
        "events": events,
    }
