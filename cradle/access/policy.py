"""The one permission policy: may this user see this family?

A practitioner sees a family allocated to them or their team, or one their
agency is working with (an attended contact by the agency in the last 90 days;
open episodes of care arrive with the agency feeds). A safeguarding lead also
sees every family with an open escalate or urgent alert (their inbox). Everything else answers "not found", so that a family's
existence is not revealed. Only roles that work with families get them through their
teams (``FAMILY_ROLES``). Sensitive detail is revealed per role (``SEES``), emergency
access is break-glass, and addresses go through ``cradle.access.disclosure``.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from cradle.access import audit
from cradle.access.models import Allocation, BreakGlass, Membership
from cradle.domain import Sensitivity
from cradle.records import models as m

WORKING_WINDOW_DAYS = 90


# Roles that work with families: their teams' allocations and their agencies' contacts
# give them a legitimate relationship. An administrator manages users and teams, and a
# partnership reviewer sees the cases under review; neither sees families through their team.
FAMILY_ROLES = (
    "health_visitor", "midwife", "neonatal_nurse", "gp", "emergency_clinician", "perinatal_mental_health",
    "adult_mental_health", "social_worker", "police", "safeguarding_lead", "team_leader",
)  # fmt: skip


def _memberships(user):
    return Membership.objects.filter(user=user, role__in=FAMILY_ROLES)


def role_for_audit(user) -> str:
    """The role an access is recorded under: a role that works with families first, else any."""
    roles = list(Membership.objects.filter(user=user).values_list("role", flat=True))
    return next((r for r in roles if r in FAMILY_ROLES), roles[0] if roles else "")


def agencies_of(user) -> set[str]:
    return set(_memberships(user).values_list("team__agency", flat=True))


def visible_families(user, today: date, *, break_glass: bool = True) -> QuerySet[m.Family]:
    """Every family the user may see (for lists, searches and counts); with
    ``break_glass=False``, only through their ordinary relationships."""
    if not user.is_authenticated or not user.is_active:
        return m.Family.objects.none()
    teams = _memberships(user).values("team")
    agencies = agencies_of(user)
    since = today - timedelta(days=WORKING_WINDOW_DAYS)
    working = m.Contact.objects.filter(
        agency__in=agencies, outcome="attended", occurred_on__gte=since, entered_in_error=False
    ).values("subjects__families")
    lead_agencies = set(
        _memberships(user).filter(role="safeguarding_lead").values_list("team__agency", flat=True)
    )
    duty_agencies = set(
        _memberships(user).filter(is_duty_worker=True).values_list("team__agency", flat=True)
    )
    # A team's duty worker holds the families that no team of their service has been given.
    unallocated = (
        Q(pk__in=m.Family.objects.exclude(allocations__team__agency__in=duty_agencies).values("pk"))
        if duty_agencies
        else Q(pk__in=[])
    )
    # A safeguarding lead is their agency's: they see the families any team of their
    # agency holds, and every family with an open escalate or urgent alert (their inbox).
    concern = (
        Q(alerts__status__in=m.Alert.LIVE, alerts__severity__in=("escalate", "urgent"))
        | Q(allocations__team__agency__in=lead_agencies)
        if lead_agencies
        else Q(pk__in=[])
    )
    glass = (
        Q(
            pk__in=BreakGlass.objects.filter(user=user, expires_at__gt=timezone.now()).values(
                "family"
            )
        )
        if break_glass
        else Q(pk__in=[])
    )
    return m.Family.objects.filter(
        Q(allocations__practitioner=user)
        | Q(allocations__team__in=teams)
        | Q(pk__in=working)
        | concern
        | unallocated
        | glass
        | Q(pk__in=reviewed_families(user))
    ).distinct()


def is_safeguarding_lead(user) -> bool:
    return (
        user.is_authenticated
        and Membership.objects.filter(user=user, role="safeguarding_lead").exists()
    )


def family_for(user, pk: int, today: date, *, why: str = "read", ip: str = "") -> m.Family:
    """The family, if the user may see it; "not found" otherwise. The read is audited."""
    family = None
    if user.is_authenticated and user.is_active:
        # The common case first, in one small query: the family is held by the user or their team.
        held = Allocation.objects.filter(family_id=pk).filter(
            Q(practitioner=user)
            | Q(team__memberships__user=user, team__memberships__role__in=FAMILY_ROLES)
        )
        family = m.Family.objects.filter(pk=pk).first() if held.exists() else None
    if family is None:
        family = visible_families(user, today).filter(pk=pk).first()
    if family is None:
        raise Http404("No such family")
    role = role_for_audit(user)
    glass = BreakGlass.objects.filter(
        user=user, family=family, expires_at__gt=timezone.now()
    ).exists()
    audit.record(
        user=user,
        actor=f"user:{user.pk}",
        action=why,
        family=family,
        what="family record",
        ip=ip,
        role=role,
        break_glass=glass,
    )
    return family


def visible_people(user, today: date, *, break_glass: bool = True) -> QuerySet[m.Person]:
    """Every person whose record the user may open: the people of the families they may
    see, and adults their agency is working with (an attended contact in the last 90
    days), such as a father seen by adult mental health."""
    if not user.is_authenticated or not user.is_active:
        return m.Person.objects.none()
    since = today - timedelta(days=WORKING_WINDOW_DAYS)
    working = m.Contact.objects.filter(
        agency__in=agencies_of(user),
        outcome="attended",
        occurred_on__gte=since,
        entered_in_error=False,
    ).values("subjects")
    families = visible_families(user, today, break_glass=break_glass).values("pk")
    return m.Person.objects.filter(Q(families__in=families) | Q(pk__in=working)).distinct()


def person_for(user, pk: int, today: date, *, ip: str = "") -> m.Person:
    """The person, if the user may open their record; "not found" otherwise. Audited."""
    person = visible_people(user, today).filter(pk=pk).first()
    if person is None:
        raise Http404("No such person")
    role = role_for_audit(user)
    family = m.Family.objects.filter(members=person).order_by("pk").first()
    # Opened under break-glass when none of the user's ordinary relationships reaches them.
    glass = (
        BreakGlass.objects.filter(
            user=user, family__members=person, expires_at__gt=timezone.now()
        ).exists()
        and not visible_people(user, today, break_glass=False).filter(pk=pk).exists()
    )
    audit.record(
        user=user,
        actor=f"user:{user.pk}",
        action="read",
        family=family,
        what=f"person record {person.pk}",
        ip=ip,
        role=role,
        break_glass=glass,
    )
    return person


# Which sensitive detail each role may read; everyone else sees that a concern
# exists and whom to ask (the explanation is written from the facts per reader).
_ALL = frozenset(Sensitivity)
SEES: dict[str, frozenset[Sensitivity]] = {
    "social_worker": _ALL,
    "safeguarding_lead": _ALL,
    "partnership_reviewer": _ALL,
    "police": frozenset(
        {Sensitivity.POLICE, Sensitivity.DOMESTIC_ABUSE, Sensitivity.CRIMINAL_JUSTICE}
    ),
    "gp": frozenset(
        {Sensitivity.MENTAL_HEALTH, Sensitivity.SUBSTANCE_MISUSE, Sensitivity.DOMESTIC_ABUSE}
    ),
    "perinatal_mental_health": frozenset({Sensitivity.MENTAL_HEALTH, Sensitivity.SUBSTANCE_MISUSE}),
    "adult_mental_health": frozenset({Sensitivity.MENTAL_HEALTH, Sensitivity.SUBSTANCE_MISUSE}),
}


def sensitivities_for(user) -> frozenset[Sensitivity]:
    allowed: set[Sensitivity] = {Sensitivity.GENERAL}
    for role in Membership.objects.filter(user=user).values_list("role", flat=True):
        allowed |= SEES.get(role, frozenset())
    return frozenset(allowed)


def reveal_for(user):
    """A ``reveal(fact)`` for this reader: the detail of the classes their roles need."""
    allowed = sensitivities_for(user)
    return lambda fact: fact.sensitivity in allowed


BREAK_GLASS_HOURS = 4


def break_glass(user, nhs_number: str, reason: str, *, ip: str = "") -> list[m.Family]:
    """Open the families of the person with this NHS number, stating why. Time-limited,
    audited as break-glass, and listed for each family's safeguarding lead."""
    from datetime import timedelta

    from django.core.exceptions import ValidationError

    if not reason.strip():
        raise ValidationError({"reason": "Say why you need to see this record now."})
    number = nhs_number.replace(" ", "")
    families = (
        list(m.Family.objects.filter(members__nhs_number=number).distinct()) if number else []
    )
    role = Membership.objects.filter(user=user).values_list("role", flat=True).first() or ""
    now = timezone.now()
    for family in families:
        BreakGlass.objects.create(
            user=user,
            family=family,
            reason=reason.strip(),
            started_at=now,
            expires_at=now + timedelta(hours=BREAK_GLASS_HOURS),
        )
        audit.record(
            user=user,
            actor=f"user:{user.pk}",
            action="break-glass",
            family=family,
            what=reason.strip()[:200],
            ip=ip,
            role=role,
            break_glass=True,
        )
    if not families:
        audit.record(
            user=user,
            actor=f"user:{user.pk}",
            action="break-glass",
            what="no record found",
            ip=ip,
            role=role,
            break_glass=True,
        )
    return families


def visible_families_for_agency(agency: str, today: date) -> QuerySet[m.Family]:
    """The families an agency's systems may read the alerts of (for the agency's own system to
    show them): those a team of the agency holds, and those the agency is working with (an
    attended contact in the last 90 days), as for the agency's practitioners. A system is no
    duty worker, lead or break-glass user: those relationships are people's, not systems'."""
    since = today - timedelta(days=WORKING_WINDOW_DAYS)
    working = m.Contact.objects.filter(
        agency=agency, outcome="attended", occurred_on__gte=since, entered_in_error=False
    ).values("subjects__families")
    return m.Family.objects.filter(
        Q(allocations__team__agency=agency) | Q(pk__in=working)
    ).distinct()


def reviewed_families(user) -> QuerySet:
    """The families under an open rapid review that the user, a partnership reviewer, is a
    member of (issue 8): a reviewer's only way to a family's record."""
    from cradle.partnership.models import Review

    if not Membership.objects.filter(user=user, role="partnership_reviewer").exists():
        return m.Family.objects.none().values("pk")
    return Review.objects.filter(members=user, status=Review.OPEN).values("family")
