"""Alerts out: a child's open alerts for an agency system, as Cradle JSON or FHIR Flags.

Scoped like a practitioner of the agency (``visible_families_for_agency``), and written
for the agency's role class: the sensitive detail only the roles in ``SEES`` may read is
left out for everyone else (the explanation says a concern exists and whom to ask). No
address is ever sent: a Flag names its subject by NHS number only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cradle.access.policy import SEES, visible_families_for_agency
from cradle.domain import Sensitivity
from cradle.feeds.fhir import NHS_SYSTEM
from cradle.records import models as m
from cradle.records.evaluation import evaluate_if_due
from cradle.records.nhs_number import is_valid_nhs_number

# The role whose reading an agency's system gets (agencies not named: general detail only).
ROLE_OF_AGENCY = {
    "gp": "gp",
    "police": "police",
    "adult_mental_health": "adult_mental_health",
    "perinatal_mental_health": "perinatal_mental_health",
    "childrens_social_care": "social_worker",
}
RULE_SYSTEM = "urn:cradle:rule"
SEVERITY_URL = "urn:cradle:alert-severity"


def reveal_for_agency(agency: str):
    allowed = {Sensitivity.GENERAL} | set(SEES.get(ROLE_OF_AGENCY.get(agency, ""), frozenset()))
    return lambda fact: fact.sensitivity in allowed


@dataclass
class OpenAlert:
    row: m.Alert
    explanation: str

    def as_dict(self) -> dict:
        a = self.row
        return {
            "id": a.pk,
            "rule": a.rule,
            "severity": a.severity,
            "status": a.status,
            "raised_on": a.raised_on,
            "due_on": a.due_on,
            "explanation": self.explanation,
            "action": a.action,
        }


def open_alerts(
    system, nhs_number: str, today: date
) -> tuple[m.Family, m.Person, list[OpenAlert]] | None:
    """The child's family, the child and their open alerts, or None ("not found") when there is no such child
    or the agency may not see them."""
    from cradle.web.presenting import explanation

    number = nhs_number.replace(" ", "")
    if not is_valid_nhs_number(number):
        return None
    # A family an API submission has just queued is evaluated before it is read, and
    # before who may see it is decided (an alert can widen that).
    evaluate_if_due(
        m.FamilyMember.objects.filter(person__nhs_number=number, role="child").values_list(
            "family_id", flat=True
        ),
        today,
    )
    visible = visible_families_for_agency(system.agency, today)
    member = (
        m.FamilyMember.objects.filter(person__nhs_number=number, role="child", family__in=visible)
        .select_related("family", "person")
        .order_by("family_id")
        .first()
    )
    if member is None:
        return None
    reveal = reveal_for_agency(system.agency)
    rows = m.Alert.objects.filter(
        family=member.family, child=member.person, status__in=m.Alert.LIVE
    ).order_by("raised_on", "id")
    found = [OpenAlert(a, explanation(a, member.family.origin, reveal)) for a in rows]
    return member.family, member.person, found


def flag(alert: OpenAlert, nhs_number: str) -> dict:
    """One open alert as a FHIR R4 Flag (validated with the fhir.resources R4B model)."""
    from fhir.resources.R4B.flag import Flag

    a = alert.row
    resource = {
        "resourceType": "Flag",
        "id": f"cradle-alert-{a.pk}",
        "status": "active",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/flag-category",
                        "code": "safety",
                        "display": "Safety",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {"system": RULE_SYSTEM, "code": a.rule, "display": a.rule.replace("-", " ")}
            ],
            "text": alert.explanation,
        },
        "subject": {"identifier": {"system": NHS_SYSTEM, "value": nhs_number}},
        "period": {"start": a.raised_on.isoformat()},
        "extension": [{"url": SEVERITY_URL, "valueCode": a.severity}],
    }
    Flag.model_validate(resource)
    return resource


def plan_since(child: m.Person) -> date | None:
    """The day the child's current child protection plan began (None: no plan now): the
    latest plan start not followed by a plan end, as the rules read it."""
    rows = (
        m.Contact.objects.filter(
            subjects=child,
            kind__in=("child_protection_plan_start", "child_protection_plan_end"),
            entered_in_error=False,
        )
        .order_by("occurred_on", "kind")
        .values_list("kind", "occurred_on")
    )
    since = None
    for kind, on in rows:
        since = on if kind == "child_protection_plan_start" else None
    return since


def plan_flag(child: m.Person, since: date, nhs_number: str) -> dict:
    """A current child protection plan as a Flag (as CP-IS shares it with unscheduled care)."""
    from fhir.resources.R4B.flag import Flag

    from cradle.feeds.fhir import CP_PLAN, FLAG_SYSTEM

    resource = {
        "resourceType": "Flag",
        "id": f"cradle-cp-plan-{child.pk}",
        "status": "active",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/flag-category",
                        "code": "safety",
                        "display": "Safety",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {"system": FLAG_SYSTEM, "code": CP_PLAN, "display": "Child protection plan"}
            ],
            "text": "The child is subject to a child protection plan: tell the allocated social worker of this contact.",
        },
        "subject": {"identifier": {"system": NHS_SYSTEM, "value": nhs_number}},
        "period": {"start": since.isoformat()},
    }
    Flag.model_validate(resource)
    return resource


def as_flag_bundle(alerts: list[OpenAlert], nhs_number: str, plan: dict | None = None) -> dict:
    flags = ([plan] if plan else []) + [flag(a, nhs_number) for a in alerts]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(flags),
        "entry": [{"fullUrl": f"urn:cradle:flag:{f['id']}", "resource": f} for f in flags],
    }
