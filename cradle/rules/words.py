"""The words the rules read (rules.md, "Words the rules read"), as sets."""

from __future__ import annotations

from cradle.domain import Agency, Channel, EventKind, Finding, Outcome, Sensitivity

F = Finding
K = EventKind

VISITING_AGENCIES = frozenset(
    {Agency.HEALTH_VISITING, Agency.MIDWIFERY, Agency.CHILDRENS_SOCIAL_CARE, Agency.EARLY_HELP}
)
FAILED_OUTCOMES = frozenset(
    {
        Outcome.NO_ACCESS,
        Outcome.ACCESS_REFUSED,
        Outcome.WAS_NOT_BROUGHT,
        Outcome.DID_NOT_ATTEND,
        Outcome.CANCELLED_BY_FAMILY,
    }
)
MISSED_APPOINTMENT_OUTCOMES = frozenset(
    {Outcome.WAS_NOT_BROUGHT, Outcome.DID_NOT_ATTEND, Outcome.CANCELLED_BY_FAMILY}
)
# A person listed in `seen` was seen in person only on these channels (or none given).
REMOTE_CHANNELS = frozenset({Channel.ONLINE, Channel.PHONE, Channel.VIDEO})

RISK_FINDINGS = frozenset(
    {
        F.ANXIETY,
        F.DEPRESSION,
        F.PSYCHOSIS,
        F.SELF_HARM,
        F.WORSENING_MENTAL_HEALTH,
        F.SUBSTANCE_MISUSE,
        F.ALCOHOL_MISUSE,
        F.DOMESTIC_ABUSE,
        F.VIOLENCE,
        F.AGGRESSIVE_BEHAVIOUR,
        F.CRIMINAL_HISTORY,
        F.PREVIOUS_CHILD_REMOVED,
    }
)
INJURY_FINDINGS = frozenset(
    {
        F.BRUISE,
        F.FRACTURE,
        F.HEAD_INJURY,
        F.BURN,
        F.TORN_FRENULUM,
        F.BLEEDING,
        F.SIGNIFICANT_INJURY,
        F.MINOR_INJURY,
    }
)
INFANT_FINDINGS = (
    frozenset(
        {
            F.PERSISTENT_CRYING,
            F.FEEDING_DIFFICULTY,
            F.BLOCKED_NOSE,
            F.VOMITING,
            F.DROWSY,
            F.LIMB_NOT_MOVING,
            F.RESPIRATORY_DISTRESS,
        }
    )
    | INJURY_FINDINGS
)
MENTAL_HEALTH_FINDINGS = frozenset(
    {
        F.ANXIETY,
        F.DEPRESSION,
        F.PSYCHOSIS,
        F.SELF_HARM,
        F.WORSENING_MENTAL_HEALTH,
        F.MEDICATION_STOPPED_IN_PREGNANCY,
        F.MEDICATION_INCREASED,
    }
)
PARTNER_MENTIONS = frozenset({F.SUPPORTIVE_PARTNER_REPORTED, F.NEW_PARTNER, F.PARTNER_NOT_KNOWN})

# The twelve vulnerability factors; the ones read from findings map their words.
VULNERABILITY_FACTORS: dict[str, str] = {
    "parental_mental_health": "parental mental ill-health",
    "substance_misuse": "substance or alcohol misuse",
    "domestic_abuse": "domestic abuse or violence",
    "hardship": "financial or housing hardship",
    "first_time_parent": "first-time parent",
    "young_or_vulnerable_parent": "young or vulnerable parent",
    "neonatal": "neonatal unit stay or prematurity",
    "persistent_crying": "persistent crying",
    "missed_contacts": "missed contacts",
    "unknown_male_carer": "father or male carer not identified",
    "social_care": "children's social care involvement",
    "sibling_injury": "an injury in infancy to a sibling",
}
FACTOR_WORDS: dict[Finding, str] = {
    **dict.fromkeys(
        (F.ANXIETY, F.DEPRESSION, F.PSYCHOSIS, F.SELF_HARM, F.WORSENING_MENTAL_HEALTH, F.MEDICATION_STOPPED_IN_PREGNANCY),
        "parental_mental_health",
    ),
    **dict.fromkeys((F.SUBSTANCE_MISUSE, F.ALCOHOL_MISUSE), "substance_misuse"),
    **dict.fromkeys((F.DOMESTIC_ABUSE, F.VIOLENCE, F.AGGRESSIVE_BEHAVIOUR), "domestic_abuse"),
    **dict.fromkeys((F.FINANCIAL_HARDSHIP, F.HOUSING_PROBLEM, F.UNABLE_TO_VISIT_NNU), "hardship"),
    F.FIRST_PREGNANCY: "first_time_parent",
    **dict.fromkeys((F.YOUNG_PARENT, F.CARE_LEAVER, F.LEARNING_DISABILITY), "young_or_vulnerable_parent"),
    **dict.fromkeys((F.PREMATURE, F.LOW_BIRTH_WEIGHT), "neonatal"),
    F.PERSISTENT_CRYING: "persistent_crying",
    F.PREVIOUS_CHILD_REMOVED: "social_care",
}

# Unscheduled care about a baby: anything the ED records, and these kinds by anyone.
UNSCHEDULED_KINDS = frozenset({K.OUT_OF_HOURS_CONTACT, K.ECONSULT, K.PHONE_CONTACT})
# Remote consultations: an econsult, or one of these kinds by a remote channel.
REMOTE_CONSULTATION_KINDS = frozenset({K.PHONE_CONTACT, K.OUT_OF_HOURS_CONTACT, K.GP_APPOINTMENT})
# Face-to-face consultations, reviews and clinic contacts (seen-without-baby).
CONSULTATION_KINDS = frozenset(
    {
        K.ANTENATAL_CONTACT,
        K.POSTNATAL_CONTACT,
        K.SIX_TO_EIGHT_WEEK_REVIEW,
        K.CLINIC_CONTACT,
        K.GP_APPOINTMENT,
        K.ED_ATTENDANCE,
        K.MENTAL_HEALTH_REVIEW,
        K.PAEDIATRIC_EXAMINATION,
        K.IMMUNISATION,
        K.GP_SIX_TO_EIGHT_WEEK_CHECK,
        K.NINE_TO_TWELVE_MONTH_REVIEW,
        K.OUT_OF_HOURS_CONTACT,
        K.PARENTING_ASSESSMENT,
    }
)
FACE_TO_FACE_CHANNELS = frozenset({Channel.CLINIC, Channel.HOSPITAL})

_SENSITIVE_AGENCIES = {
    Agency.POLICE: Sensitivity.POLICE,
    Agency.FAMILY_COURT: Sensitivity.FAMILY_COURT,
    Agency.PROBATION: Sensitivity.CRIMINAL_JUSTICE,
    Agency.ADULT_MENTAL_HEALTH: Sensitivity.MENTAL_HEALTH,
    Agency.PERINATAL_MENTAL_HEALTH: Sensitivity.MENTAL_HEALTH,
    Agency.SUBSTANCE_MISUSE: Sensitivity.SUBSTANCE_MISUSE,
}
_SENSITIVE_WORDS = {
    **dict.fromkeys(MENTAL_HEALTH_FINDINGS | {F.NOT_BONDING}, Sensitivity.MENTAL_HEALTH),
    **dict.fromkeys((F.SUBSTANCE_MISUSE, F.ALCOHOL_MISUSE), Sensitivity.SUBSTANCE_MISUSE),
    **dict.fromkeys((F.DOMESTIC_ABUSE, F.VIOLENCE, F.AGGRESSIVE_BEHAVIOUR), Sensitivity.DOMESTIC_ABUSE),
    F.CRIMINAL_HISTORY: Sensitivity.CRIMINAL_JUSTICE,
}


def sensitivity_of(word: Finding | None, agency: Agency | None, about_adult: bool) -> Sensitivity:
    """The sensitivity class of a fact about a person.

    Detail held by the police, the family court, probation, and adult mental
    health and substance services is sensitive whatever it is; so is what is
    said about an adult's mental health, substance use, violence or offending.
    What is found about a baby is shared with everyone working with the baby.
    """
    if agency in _SENSITIVE_AGENCIES:
        return _SENSITIVE_AGENCIES[agency]
    if about_adult and word in _SENSITIVE_WORDS:
        return _SENSITIVE_WORDS[word]
    return Sensitivity.GENERAL
