"""Every word of the case-file vocabulary (``cradle-scenario/1``) as an enumeration.

Words are never renamed or removed, because case files depend on them; the
vocabulary grows by adding words (with a test that uses each).
"""

from __future__ import annotations

from enum import StrEnum


class Agency(StrEnum):
    MIDWIFERY = "midwifery"
    MATERNITY = "maternity"
    NNU = "nnu"
    HEALTH_VISITING = "health_visiting"
    GP = "gp"
    PERINATAL_MENTAL_HEALTH = "perinatal_mental_health"
    ADULT_MENTAL_HEALTH = "adult_mental_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    ED = "ed"
    CHILDRENS_SOCIAL_CARE = "childrens_social_care"
    EARLY_HELP = "early_help"
    POLICE = "police"
    HOUSING = "housing"
    PROBATION = "probation"
    FAMILY_COURT = "family_court"

    @property
    def label(self) -> str:
        return AGENCY_LABELS[self]


AGENCY_LABELS = {
    Agency.MIDWIFERY: "midwifery",
    Agency.MATERNITY: "maternity",
    Agency.NNU: "the neonatal unit",
    Agency.HEALTH_VISITING: "health visiting",
    Agency.GP: "the GP practice",
    Agency.PERINATAL_MENTAL_HEALTH: "perinatal mental health",
    Agency.ADULT_MENTAL_HEALTH: "adult mental health",
    Agency.SUBSTANCE_MISUSE: "the substance misuse service",
    Agency.ED: "the emergency department",
    Agency.CHILDRENS_SOCIAL_CARE: "children's social care",
    Agency.EARLY_HELP: "early help",
    Agency.POLICE: "the police",
    Agency.HOUSING: "housing",
    Agency.PROBATION: "probation",
    Agency.FAMILY_COURT: "the family court",
}


class Role(StrEnum):
    CHILD = "child"
    MOTHER = "mother"
    FATHER = "father"
    MALE_CARER = "male_carer"
    FEMALE_CARER = "female_carer"
    PARTNER = "partner"
    GRANDPARENT = "grandparent"
    SIBLING = "sibling"
    RELATIVE = "relative"
    HOUSEHOLD_MEMBER = "household_member"
    ADULT = "adult"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class RelationshipKind(StrEnum):
    MOTHER_OF = "mother_of"
    FATHER_OF = "father_of"
    CARER_OF = "carer_of"
    PARTNER_OF = "partner_of"
    SIBLING_OF = "sibling_of"
    GRANDPARENT_OF = "grandparent_of"
    LIVES_WITH = "lives_with"


class EventKind(StrEnum):
    ANTENATAL_BOOKING = "antenatal_booking"
    ANTENATAL_CONTACT = "antenatal_contact"
    BIRTH = "birth"
    NNU_ADMISSION = "nnu_admission"
    NNU_DISCHARGE = "nnu_discharge"
    INPATIENT_NOTE = "inpatient_note"
    POSTNATAL_CONTACT = "postnatal_contact"
    NEW_BIRTH_VISIT = "new_birth_visit"
    SIX_TO_EIGHT_WEEK_REVIEW = "six_to_eight_week_review"
    HOME_VISIT = "home_visit"
    CLINIC_CONTACT = "clinic_contact"
    GP_APPOINTMENT = "gp_appointment"
    ECONSULT = "econsult"
    PHONE_CONTACT = "phone_contact"
    ED_ATTENDANCE = "ed_attendance"
    HOSPITAL_ADMISSION = "hospital_admission"
    HOSPITAL_DISCHARGE = "hospital_discharge"
    MATERNITY_DISCHARGE = "maternity_discharge"
    REFERRAL = "referral"
    MENTAL_HEALTH_REVIEW = "mental_health_review"
    ICON_DELIVERED = "icon_delivered"
    PARENTING_ASSESSMENT = "parenting_assessment"
    PAEDIATRIC_EXAMINATION = "paediatric_examination"
    STRATEGY_DISCUSSION = "strategy_discussion"
    CHILD_PROTECTION_PLAN_START = "child_protection_plan_start"
    CHILD_PROTECTION_PLAN_END = "child_protection_plan_end"
    POLICE_CALLOUT = "police_callout"
    SAFEGUARDING_REFERRAL = "safeguarding_referral"
    REGISTRATION = "registration"
    IMMUNISATION = "immunisation"
    GP_SIX_TO_EIGHT_WEEK_CHECK = "gp_six_to_eight_week_check"
    NINE_TO_TWELVE_MONTH_REVIEW = "nine_to_twelve_month_review"
    OUT_OF_HOURS_CONTACT = "out_of_hours_contact"
    PLACED_AWAY_FROM_PARENTS = "placed_away_from_parents"
    RETURNED_TO_PARENTS = "returned_to_parents"
    MOVED_OUT_OF_AREA = "moved_out_of_area"
    STILLBIRTH = "stillbirth"
    DEATH = "death"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").replace("gp ", "GP ").replace("nnu ", "NNU ")


class Outcome(StrEnum):
    ATTENDED = "attended"
    NO_ACCESS = "no_access"
    ACCESS_REFUSED = "access_refused"
    WAS_NOT_BROUGHT = "was_not_brought"
    DID_NOT_ATTEND = "did_not_attend"
    CANCELLED_BY_FAMILY = "cancelled_by_family"
    CANCELLED_BY_SERVICE = "cancelled_by_service"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Channel(StrEnum):
    HOME_VISIT = "home_visit"
    CLINIC = "clinic"
    HOSPITAL = "hospital"
    INPATIENT = "inpatient"
    ONLINE = "online"
    PHONE = "phone"
    VIDEO = "video"


class Touchpoint(StrEnum):
    ANTENATAL = "antenatal"
    BIRTH = "birth"
    POSTNATAL = "postnatal"
    NNU_DISCHARGE = "nnu_discharge"
    NEW_BIRTH_VISIT = "new_birth_visit"
    SIX_TO_EIGHT_WEEK = "six_to_eight_week"
    OTHER = "other"


class HarmKind(StrEnum):
    NON_ACCIDENTAL_INJURY = "non_accidental_injury"
    SERIOUS_INJURY = "serious_injury"
    NEGLECT = "neglect"
    DEATH = "death"


class Finding(StrEnum):
    """What was found or said about an event's subjects (a case file's ``findings``)."""

    FIRST_PREGNANCY = "first_pregnancy"
    RAISED_BMI = "raised_bmi"
    FAMILY_HISTORY_DIABETES = "family_history_diabetes"
    ANXIETY = "anxiety"
    DEPRESSION = "depression"
    PSYCHOSIS = "psychosis"
    WORSENING_MENTAL_HEALTH = "worsening_mental_health"
    MEDICATION_STOPPED_IN_PREGNANCY = "medication_stopped_in_pregnancy"
    MEDICATION_INCREASED = "medication_increased"
    SELF_HARM = "self_harm"
    SUBSTANCE_MISUSE = "substance_misuse"
    ALCOHOL_MISUSE = "alcohol_misuse"
    DOMESTIC_ABUSE = "domestic_abuse"
    FINANCIAL_HARDSHIP = "financial_hardship"
    HOUSING_PROBLEM = "housing_problem"
    YOUNG_PARENT = "young_parent"
    CARE_LEAVER = "care_leaver"
    LEARNING_DISABILITY = "learning_disability"
    PREVIOUS_CHILD_REMOVED = "previous_child_removed"
    RESPIRATORY_DISTRESS = "respiratory_distress"
    PREMATURE = "premature"
    LOW_BIRTH_WEIGHT = "low_birth_weight"
    UNABLE_TO_VISIT_NNU = "unable_to_visit_nnu"
    PERSISTENT_CRYING = "persistent_crying"
    FEEDING_DIFFICULTY = "feeding_difficulty"
    BLOCKED_NOSE = "blocked_nose"
    VOMITING = "vomiting"
    DROWSY = "drowsy"
    BRUISE = "bruise"
    FRACTURE = "fracture"
    HEAD_INJURY = "head_injury"
    BURN = "burn"
    TORN_FRENULUM = "torn_frenulum"
    BLEEDING = "bleeding"
    SIGNIFICANT_INJURY = "significant_injury"
    MINOR_INJURY = "minor_injury"
    SUPPORTIVE_PARTNER_REPORTED = "supportive_partner_reported"
    NEW_PARTNER = "new_partner"
    PARTNER_NOT_KNOWN = "partner_not_known"
    NON_ENGAGEMENT = "non_engagement"
    NON_MOBILE = "non_mobile"
    DISGUISED_COMPLIANCE = "disguised_compliance"
    AGGRESSIVE_BEHAVIOUR = "aggressive_behaviour"
    VIOLENCE = "violence"
    CRIMINAL_HISTORY = "criminal_history"
    LIMB_NOT_MOVING = "limb_not_moving"
    NOT_BONDING = "not_bonding"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").replace("nnu", "NNU").replace("bmi", "BMI")


class Severity(StrEnum):
    PROMPT = "prompt"
    ESCALATE = "escalate"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.PROMPT: 1, Severity.ESCALATE: 2, Severity.URGENT: 3}


class Sensitivity(StrEnum):
    """How sensitive a fact is: who may read its detail (the access policy decides)."""

    GENERAL = "general"
    MENTAL_HEALTH = "mental_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    DOMESTIC_ABUSE = "domestic_abuse"
    POLICE = "police"
    FAMILY_COURT = "family_court"
    CRIMINAL_JUSTICE = "criminal_justice"


class Recipient(StrEnum):
    """Who an alert's task is for (a role in a team, resolved by the shell)."""

    PRACTITIONER = "practitioner"
    TEAM_LEADER = "team_leader"
    SAFEGUARDING_LEAD = "safeguarding_lead"
    HEALTH_VISITOR = "health_visitor"
    MIDWIFE = "midwife"
    GP = "gp"
    SOCIAL_WORKER = "social_worker"
    NEONATAL_UNIT = "neonatal_unit"
    PAEDIATRICS = "paediatrics"
    CHILDRENS_SOCIAL_CARE = "childrens_social_care"
    ED_SAFEGUARDING = "ed_safeguarding"
    CLINICIAN = "clinician"
    RECORDING_PRACTITIONER = "recording_practitioner"
    APPOINTMENT_AGENCY = "appointment_agency"
