"""The practitioners' pages. Every family is loaded through the permission policy
(``family_for``: "not found" for anyone without a reason to see it, and the read is
audited); every change goes through an action."""

from __future__ import annotations

from collections import Counter

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import capfirst

from cradle.access.disclosure import address_for, addresses_for
from cradle.access.guard import EVERYONE, LEADS, PRACTITIONERS, page, roles_of
from cradle.access.models import AuditEntry, BreakGlass, Membership
from cradle.access.policy import (
    BREAK_GLASS_HOURS,
    family_for,
    is_safeguarding_lead,
    person_for,
    reveal_for,
    sensitivities_for,
    visible_families,
)
from cradle.access.policy import break_glass as policy_break_glass
from cradle.domain import Agency, Finding
from cradle.partnership.chronology import chronology_rows as _chronology
from cradle.records import actions
from cradle.records import models as m
from cradle.records.evaluation import evaluate_if_due
from cradle.rules.words import sensitivity_of
from cradle.web.forms import ContactForm, DecisionForm, IconForm, ParentingAssessmentForm
from cradle.web.presenting import explanation

SEVERITY_TAGS = {
    "urgent": "nhsuk-tag--red",
    "escalate": "nhsuk-tag--orange",
    "prompt": "nhsuk-tag--yellow",
}


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _today():
    return timezone.localdate()


def _user_agency(user) -> str:
    return Membership.objects.filter(user=user).values_list("team__agency", flat=True).first() or ""


@page(roles=EVERYONE, purpose="the families the user may see")
def caseload(request):
    today = _today()
    mine = visible_families(request.user, today).filter(allocations__practitioner=request.user)
    team = visible_families(request.user, today).exclude(pk__in=mine.values("pk"))
    rows = []
    for label, families in (("Allocated to you", mine), ("Your teams and services", team)):
        for family in families.order_by("reference"):
            counts = Counter(
                family.alerts.filter(status__in=m.Alert.LIVE).values_list("severity", flat=True)
            )
            rows.append({"group": label, "family": family, "counts": counts})
    # A partnership reviewer reads a family under review through its chronology.
    opens = "family" if roles_of(request.user) & PRACTITIONERS else "partnership-chronology"
    return render(request, "web/caseload.html", {"rows": rows, "opens": opens})


def _people(family: m.Family) -> tuple[list[dict], bool]:
    members = list(
        m.FamilyMember.objects.filter(family=family).select_related("person").order_by("pk")
    )
    pks = [fm.person_id for fm in members]
    label = {fm.person_id: fm.person.name for fm in members}
    rels = m.Relationship.objects.filter(
        person_id__in=pks, other_id__in=pks, entered_in_error=False
    )
    said: dict[int, set[str]] = {}
    for r in rels:
        said.setdefault(r.person_id, set()).add(f"{r.get_kind_display()} {label[r.other_id]}")
    father = rels.filter(
        kind__in=("father_of", "carer_of"), other_id=family.index_child_id
    ).exists()
    addresses = addresses_for(fm.person for fm in members)
    people = [
        {
            "member": fm,
            "relations": sorted(said.get(fm.person_id, ())),
            "address": addresses.get(fm.person_id, ""),
        }
        for fm in members
    ]
    return people, father


def _label(word: str) -> str:
    return word.replace("_", " ").capitalize() if word else ""


def _alerts(family: m.Family, reveal) -> list[dict]:
    live = list(
        family.alerts.filter(status__in=m.Alert.LIVE).order_by("-severity", "raised_on", "pk")
    )
    wanted = {int(e[1:]) for a in live for e in a.evidence if e.startswith("c")}
    contacts = {f"c{c.pk}": c for c in m.Contact.objects.filter(pk__in=wanted)}
    out = []
    for a in live:
        evidence = [contacts[e] for e in a.evidence if e in contacts]
        out.append(
            {
                "alert": a,
                "tag": SEVERITY_TAGS[a.severity],
                "explanation": explanation(a, family.origin, reveal),
                "evidence": evidence,
            }
        )
    return out


@page(roles=PRACTITIONERS, scope="family", methods=("GET", "POST"), purpose="a family's record")
def family_page(request, pk: int):
    today = _today()
    family = family_for(request.user, pk, today, ip=_ip(request))
    evaluate_if_due([family], today)  # an agency system's submission of a moment ago, counted
    errors: dict[int, str] = {}
    if request.method == "POST":
        form = DecisionForm(request.POST)
        if not form.is_valid():
            return HttpResponseBadRequest("Bad request")
        alert_pk, decision, note = (
            form.cleaned_data["alert"],
            form.cleaned_data["decision"],
            form.cleaned_data["note"] or "",
        )
        if not family.alerts.filter(pk=alert_pk).exists():
            raise Http404("No such alert")
        try:
            if decision == "acknowledge":
                actions.acknowledge(acting_user=request.user, alert_pk=alert_pk, today=today)
                messages.success(request, "Alert acknowledged.")
            else:
                actions.decide(
                    acting_user=request.user,
                    alert_pk=alert_pk,
                    decision=decision,
                    note=note,
                    today=today,
                )
                messages.success(request, f"Alert {decision}.")
            return redirect("family", pk=pk)
        except ValidationError as exc:
            errors[alert_pk] = " ".join(" ".join(v) for v in exc.message_dict.values())
    agency = request.GET.get("agency") or None
    people, father_known = _people(family)
    context = {
        "family": family,
        "people": people,
        "father_known": father_known,
        "alerts": _alerts(family, reveal_for(request.user)),
        "errors": errors,
        "chronology": _chronology(family, agency, sensitivities_for(request.user)),
        "agencies": sorted(
            set(
                m.Contact.objects.filter(subjects__in=family.members.all()).values_list(
                    "agency", flat=True
                )
            )
        ),
        "agency": agency,
        "is_lead": is_safeguarding_lead(request.user),
        "held": _held_records(family, sensitivities_for(request.user)),
    }
    return render(request, "web/family.html", context, status=400 if errors else 200)


def _held_records(family: m.Family, allowed) -> list[dict]:
    """Records about the family an agency sent that are held in quarantine, by agency:
    how many and since when (never their content): not yet in this record (HAZ-S01). An
    agency whose records the reader may not see in detail (the police, a family court,
    adult mental health...) is not named: that a parent is known to it is its detail."""
    from django.db.models import Count, Min

    from cradle.feeds.models import QuarantineItem

    rows = (
        QuarantineItem.objects.waiting()
        .filter(families=family)
        .values("message__agency")
        .annotate(n=Count("id"), first=Min("since"))
        .order_by("message__agency")
    )
    out: dict[str, dict] = {}
    for r in rows:
        agency = r["message__agency"]
        known = agency in Agency._value2member_map_
        named = known and sensitivity_of(None, Agency(agency), False) in allowed
        label = (
            capfirst(Agency(agency).label)
            if named
            else "A service whose records you may not see in detail"
        )
        row = out.setdefault(label, {"agency": label, "n": 0, "since": r["first"]})
        row["n"] += r["n"]
        row["since"] = min(row["since"], r["first"])
    return list(out.values())


def _members(family):
    return m.FamilyMember.objects.filter(family=family).select_related("person").order_by("pk")


def _record(request, pk: int, form_class, title: str, build):
    """Shared shape of the record-something pages: check, validate, act, or show errors."""
    today = _today()
    family = family_for(request.user, pk, today, ip=_ip(request))
    members = _members(family)
    initial = {"agency": _user_agency(request.user), "occurred_on": today.strftime("%d/%m/%Y")}
    form = form_class(request.POST or None, members=members, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            build(form.cleaned_data, family, today)
            messages.success(request, "Saved. The family's alerts have been updated.")
            return redirect("family", pk=pk)
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "web/record.html", {"family": family, "form": form, "title": title}, status=status
    )


@page(roles=PRACTITIONERS, scope="family", methods=("GET", "POST"), purpose="record a contact")
def record_contact(request, pk: int):
    def build(d, family, today):
        lines = [d["note"].strip()] if d["note"].strip() else []
        for key, label in (
            ("household", "Household"),
            ("carers", "Looks after the baby"),
            ("male_carer_seen", "Father or male carer seen"),
        ):
            if d.get(key):
                lines.append(f"{label}: {d[key]}")
        actions.record_contact(
            acting_user=request.user, family_pk=family.pk, agency=d["agency"], kind=d["kind"],
            occurred_on=d["occurred_on"], outcome=d["outcome"], channel=d["channel"],
            subjects=[fm.person for fm in d["subjects"]], seen=[fm.person for fm in d["seen"]],
            findings=d["findings"], note="\n".join(lines), today=today,
        )  # fmt: skip

    return _record(request, pk, ContactForm, "Record a contact", build)


@page(
    roles=PRACTITIONERS, scope="family", methods=("GET", "POST"), purpose="record an ICON delivery"
)
def record_icon(request, pk: int):
    def build(d, family, today):
        people = [fm.person for fm in d["delivered_to"]]
        actions.record_contact(
            acting_user=request.user, family_pk=family.pk, agency=d["agency"], kind="icon_delivered",
            occurred_on=d["occurred_on"], subjects=people, delivered_to=people, touchpoint=d["touchpoint"], today=today,
        )  # fmt: skip

    return _record(request, pk, IconForm, "Record an ICON delivery", build)


@page(
    roles=PRACTITIONERS,
    scope="family",
    methods=("GET", "POST"),
    purpose="record a parenting assessment",
)
def record_assessment(request, pk: int):
    def build(d, family, today):
        answers = {k: v for k, v in d.items() if k not in ("occurred_on", "seen")}
        seen = [fm.person for fm in d["seen"]]
        subjects = [family.index_child] if family.index_child else seen
        actions.record_contact(
            acting_user=request.user, family_pk=family.pk, agency=_user_agency(request.user) or "nnu",
            kind="parenting_assessment", occurred_on=d["occurred_on"], outcome="attended", channel="hospital",
            subjects=subjects + [p for p in seen if p not in subjects], seen=seen,
            assessment=(ParentingAssessmentForm.VERSION, answers), today=today,
        )  # fmt: skip

    return _record(request, pk, ParentingAssessmentForm, "Record a parenting assessment", build)


@page(
    roles=PRACTITIONERS,
    scope="family",
    methods=("POST",),
    purpose="mark a contact entered in error",
)
def entered_in_error(request, pk: int, contact_pk: int):
    """Mark a contact as entered in error: it stays in the chronology, marked, and the
    alerts it caused are withdrawn."""
    today = _today()
    family = family_for(request.user, pk, today, why="update")
    if not m.Contact.objects.filter(pk=contact_pk, subjects__in=family.members.all()).exists():
        raise Http404("No such contact")
    try:
        actions.mark_entered_in_error(
            acting_user=request.user,
            contact_pk=contact_pk,
            reason=request.POST.get("reason", ""),
            today=today,
        )
        messages.success(
            request, "Marked as entered in error. Alerts it caused have been withdrawn."
        )
    except ValidationError as exc:
        messages.error(request, " ".join(" ".join(v) for v in exc.message_dict.values()))
    return redirect(f"/families/{pk}/#chronology")


@page(roles=LEADS, scope="family", purpose="who has looked at a family")
def who_looked(request, pk: int):
    """Who has read or changed this family's record: for the safeguarding lead."""
    if not is_safeguarding_lead(request.user):
        raise Http404("No such page")
    family = family_for(request.user, pk, _today(), ip=_ip(request))
    entries = AuditEntry.objects.filter(family=family).select_related("user").order_by("-seq")[:500]
    return render(request, "web/who_looked.html", {"family": family, "entries": entries})


@page(roles=PRACTITIONERS, methods=("GET", "POST"), purpose="emergency access with a reason")
def break_glass_page(request):
    """Emergency access to a baby's record by NHS number, with a stated reason."""
    error, not_found = "", False
    if request.method == "POST":
        try:
            families = policy_break_glass(
                request.user,
                request.POST.get("nhs_number", ""),
                request.POST.get("reason", ""),
                ip=_ip(request),
            )
            if families:
                messages.success(
                    request,
                    f"Break-glass access for {BREAK_GLASS_HOURS} hours. Your access is recorded and shown to the safeguarding lead.",
                )
                return redirect("family", pk=families[0].pk)
            not_found = True
        except ValidationError as exc:
            error = " ".join(" ".join(v) for v in exc.message_dict.values())
    return render(
        request,
        "web/break_glass.html",
        {"error": error, "not_found": not_found, "hours": BREAK_GLASS_HOURS},
        status=400 if error else 200,
    )


@page(roles=LEADS, purpose="recent break-glass accesses")
def recent_break_glass(request):
    """Recent break-glass accesses to the families a safeguarding lead looks after."""
    if not is_safeguarding_lead(request.user):
        raise Http404("No such page")
    rows = BreakGlass.objects.filter(
        family__in=visible_families(request.user, _today())
    ).select_related("user", "family")[:200]
    return render(request, "web/recent_break_glass.html", {"rows": rows})


@page(roles=PRACTITIONERS, purpose="my tasks")
def tasks(request):
    """My tasks: the open alerts whose task is mine (my role in a team holding the family)."""
    from cradle.records.notify import recipients

    today = _today()
    reveal = reveal_for(request.user)
    alerts = (
        m.Alert.objects.filter(
            family__in=visible_families(request.user, today), status__in=m.Alert.LIVE
        )
        .select_related("family")
        .order_by("due_on", "pk")
    )
    rows = [
        {
            "alert": a,
            "tag": SEVERITY_TAGS[a.severity],
            "overdue": a.due_on < today,
            "explanation": explanation(a, a.family.origin, reveal),
        }
        for a in alerts
        if request.user in recipients(a)
    ]
    return render(request, "web/tasks.html", {"rows": rows})


@page(roles=LEADS, purpose="the safeguarding lead's inbox")
def inbox(request):
    """The safeguarding lead's inbox: open escalate and urgent alerts, oldest first."""
    if not is_safeguarding_lead(request.user):
        raise Http404("No such page")
    today = _today()
    alerts = (
        m.Alert.objects.filter(
            family__in=visible_families(request.user, today),
            status__in=m.Alert.LIVE,
            severity__in=("escalate", "urgent"),
        )
        .select_related("family")
        .order_by("raised_on", "pk")
    )
    severity, rule = request.GET.get("severity"), request.GET.get("rule")
    if severity in ("escalate", "urgent"):
        alerts = alerts.filter(severity=severity)
    if rule:
        alerts = alerts.filter(rule=rule)
    rows = [
        {
            "alert": a,
            "tag": SEVERITY_TAGS[a.severity],
            "overdue": a.due_on < today,
            "explanation": explanation(a, a.family.origin),
        }
        for a in alerts
    ]
    # The filter offers the rules of the alerts this lead may see, and no others.
    visible = m.Alert.objects.filter(
        family__in=visible_families(request.user, today), status__in=m.Alert.LIVE
    )
    rules = sorted(set(visible.values_list("rule", flat=True)))
    return render(
        request,
        "web/inbox.html",
        {"rows": rows, "severity": severity, "rule": rule, "rules": rules, "today": today},
    )


ADULT_ROLES = (
    "mother",
    "father",
    "male_carer",
    "female_carer",
    "partner",
    "grandparent",
    "relative",
    "household_member",
    "adult",
)


def concerns_about_linked_children(person: m.Person, user, today) -> list[dict]:
    """Calderdale recommendation 5: on a parent's or carer's record, the concerns about
    the children they are linked to: an open escalate or urgent alert, or a child
    protection plan. The reader learns that the concern exists and whom to ask; the
    child's name and a link only if they may see the child's family; never an address."""
    families = m.Family.objects.filter(
        familymember__person=person, familymember__role__in=ADULT_ROLES
    ).distinct()
    seeable = set(
        visible_families(user, today)
        .filter(pk__in=families.values("pk"))
        .values_list("pk", flat=True)
    )
    out = []
    for family in families.select_related("index_child"):
        child = family.index_child
        if child is None:
            continue
        alerts = family.alerts.filter(
            child=child, status__in=m.Alert.LIVE, severity__in=("escalate", "urgent")
        )
        starts = m.Contact.objects.filter(
            subjects=child, kind="child_protection_plan_start", entered_in_error=False
        )
        last_start = starts.order_by("-occurred_on").values_list("occurred_on", flat=True).first()
        ended = (
            last_start is not None
            and m.Contact.objects.filter(
                subjects=child,
                kind="child_protection_plan_end",
                entered_in_error=False,
                occurred_on__gte=last_start,
            ).exists()
        )
        on_plan = last_start is not None and not ended
        if not alerts.exists() and not on_plan:
            continue
        lead = (
            family.allocations.filter(team__memberships__role="safeguarding_lead")
            .values_list("team__name", flat=True)
            .first()
            or family.allocations.values_list("team__name", flat=True).first()
            or "the safeguarding lead of the baby's health visiting service"
        )
        visible = family.pk in seeable
        out.append(
            {
                "family": family if visible else None,
                "child": child.name if visible else "A baby",
                "born": child.born_on,
                "alerts": [
                    {
                        "severity": a.severity,
                        "rule": a.rule,
                        "raised_on": a.raised_on,
                        "tag": SEVERITY_TAGS[a.severity],
                    }
                    for a in alerts
                ],
                "on_plan": on_plan,
                "ask": lead,
            }
        )
    return out


@page(roles=PRACTITIONERS, scope="person", purpose="a parent's or carer's record")
def person_page(request, pk: int):
    """One person's record: who they are to which babies, what has been recorded with
    them (as the reader may see it), and the concerns about the children linked to them."""
    today = _today()
    person = person_for(request.user, pk, today, ip=_ip(request))
    allowed = sensitivities_for(request.user)
    contacts = []
    for c in (
        m.Contact.objects.filter(subjects=person)
        .prefetch_related("findings")
        .order_by("-occurred_on", "-pk")[:200]
    ):
        words = [f.word for f in c.findings.all()]
        classes = {sensitivity_of(None, Agency(c.agency), True)} | {
            sensitivity_of(Finding(w), Agency(c.agency), True) for w in words
        }
        if classes <= allowed:
            contacts.append(
                {
                    "on": c.occurred_on,
                    "agency": _label(c.agency),
                    "kind": _label(c.kind),
                    "outcome": _label(c.outcome),
                    "findings": [_label(w).lower() for w in words],
                    "note": c.note,
                }
            )
        else:
            contacts.append(
                {
                    "on": c.occurred_on,
                    "agency": _label(c.agency),
                    "kind": "Concern recorded",
                    "outcome": "",
                    "findings": [],
                    "note": f"A concern is recorded that you may not see in detail: ask {Agency(c.agency).label}.",
                    "withheld": True,
                }
            )
    roles = m.FamilyMember.objects.filter(person=person).values_list("role", flat=True)
    context = {
        "person": person,
        "address": address_for(person),
        "roles": sorted({_label(r).lower() for r in roles}),
        "concerns": concerns_about_linked_children(person, request.user, today),
        "contacts": contacts,
    }
    return render(request, "web/person.html", context)
