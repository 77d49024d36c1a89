"""Rapid reviews: every change is one function that checks, writes, and records who did it
(keyword-only ``acting_user``) in the same transaction; the pages and the command call them.

A review is opened on a child by NHS number (the partnership is notified of a serious
incident; the reviewer has no relationship with the family until then); its members may
then read the family's record through the policy (``reviewed_families``), each read
audited. A snapshot freezes the chronology as of a day; the replay shows when today's rules
would have raised what, and the lead time to the harm."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.http import Http404

from cradle.access import audit
from cradle.access.models import Membership
from cradle.domain import Agency, Harm, HarmKind
from cradle.partnership.chronology import multi_agency
from cradle.partnership.models import (
    ActionNotification,
    ActionUpdate,
    Recommendation,
    Review,
    ReviewAction,
    Snapshot,
)
from cradle.records import models as m

REVIEWER = "partnership_reviewer"
# Who is told of their agency's overdue action: the agency's team leaders and safeguarding leads.
OWNERS = ("team_leader", "safeguarding_lead")


def _who(user) -> str:
    return f"user:{user.pk}"


def is_reviewer(user) -> bool:
    return Membership.objects.filter(user=user, role=REVIEWER).exists()


def review_for(user, pk: int, *, ip: str = "", why: str = "read") -> Review:
    """The review, if the user is one of its members (a partnership reviewer); "not found"
    otherwise, so that a review's existence is not revealed. The read is audited."""
    review = (
        Review.objects.filter(pk=pk, members=user).select_related("family", "child").first()
        if is_reviewer(user)
        else None
    )
    if review is None:
        raise Http404("No such review")
    audit.record(
        user=user,
        actor=_who(user),
        action=why,
        family=review.family,
        what=f"rapid review {review.pk}",
        ip=ip,
        role=REVIEWER,
    )
    return review


def open_review(
    *, acting_user, nhs_number: str, reference: str, harm_on: date | None, today: date, ip: str = ""
) -> Review:
    number = nhs_number.replace(" ", "")
    if not reference.strip():
        raise ValidationError({"reference": "Give the review a reference."})
    if not number:
        raise ValidationError({"nhs_number": "Enter the child's NHS number."})
    if not is_reviewer(acting_user):
        raise ValidationError({"nhs_number": "Only a partnership reviewer opens a review."})
    member = (
        m.FamilyMember.objects.filter(person__nhs_number=number, role__in=("child", "sibling"))
        .select_related("family", "person")
        .order_by("pk")
        .first()
    )
    if member is None:
        audit.record(user=acting_user, actor=_who(acting_user), action="create",
                     what="rapid review: no child found", ip=ip, role=REVIEWER)  # fmt: skip
        raise ValidationError({"nhs_number": "No child with that NHS number is recorded."})
    with transaction.atomic():
        review = Review.objects.create(
            family=member.family,
            child=member.person,
            reference=reference.strip()[:100],
            opened_by=acting_user,
            opened_on=today,
            harm_on=harm_on,
        )
        review.members.add(acting_user)
        audit.record(user=acting_user, actor=_who(acting_user), action="create", family=member.family,
                     what=f"rapid review {review.pk} opened", ip=ip, role=REVIEWER)  # fmt: skip
    return review


def add_member(*, acting_user, review: Review, username: str) -> None:
    user = get_user_model().objects.filter(username=username.strip(), is_active=True).first()
    if user is None or not is_reviewer(user):
        raise ValidationError({"username": "No partnership reviewer has that username."})
    with transaction.atomic():
        review.members.add(user)
        audit.record(user=acting_user, actor=_who(acting_user), action="update", family=review.family,
                     what=f"rapid review {review.pk}: member {user.pk} added", role=REVIEWER)  # fmt: skip


def close(*, acting_user, review: Review) -> None:
    """Close the review: its members no longer see the family (its record stays readable)."""
    with transaction.atomic():
        review.status = Review.CLOSED
        review.save(update_fields=["status"])
        audit.record(user=acting_user, actor=_who(acting_user), action="update", family=review.family,
                     what=f"rapid review {review.pk} closed", role=REVIEWER)  # fmt: skip


def take_snapshot(*, acting_user, review: Review, as_of: date, today: date) -> Snapshot:
    """Freeze the chronology as the reviewer reads it as of ``as_of`` (stored, never recomputed)."""
    from cradle.access.policy import reveal_for, sensitivities_for

    if as_of > today:
        raise ValidationError({"as_of": "A snapshot is of a day that has happened."})
    data = multi_agency(
        review.family,
        allowed=sensitivities_for(acting_user),
        reveal=reveal_for(acting_user),
        as_of=as_of,
    )
    with transaction.atomic():
        snapshot = Snapshot.objects.create(
            review=review, as_of=as_of, taken_by=acting_user, data=data
        )
        audit.record(user=acting_user, actor=_who(acting_user), action="create", family=review.family,
                     what=f"rapid review {review.pk}: chronology snapshot as of {as_of}", role=REVIEWER)  # fmt: skip
    return snapshot


def write(
    *, acting_user, review: Review, story: str, findings: str, learning: str, harm_on=None
) -> None:
    with transaction.atomic():
        review.story, review.findings, review.learning = (
            story.strip(),
            findings.strip(),
            learning.strip(),
        )
        if harm_on is not None:
            review.harm_on = harm_on
        review.save(update_fields=["story", "findings", "learning", "harm_on"])
        audit.record(user=acting_user, actor=_who(acting_user), action="update", family=review.family,
                     what=f"rapid review {review.pk}: story, findings and learning", role=REVIEWER)  # fmt: skip


def recommend(*, acting_user, review: Review, title: str, detail: str) -> Recommendation:
    if not title.strip():
        raise ValidationError({"title": "Write the recommendation."})
    with transaction.atomic():
        number = review.recommendations.count() + 1
        rec = Recommendation.objects.create(review=review, number=number, title=title.strip()[:400],
                                            detail=detail.strip())  # fmt: skip
        audit.record(user=acting_user, actor=_who(acting_user), action="create", family=review.family,
                     what=f"rapid review {review.pk}: recommendation {number}", role=REVIEWER)  # fmt: skip
    return rec


def add_action(
    *,
    acting_user,
    recommendation: Recommendation,
    description: str,
    agency: str,
    due_on: date | None,
) -> ReviewAction:
    errors = {}
    if not description.strip():
        errors["description"] = "Say what is to be done."
    if agency not in Agency._value2member_map_:
        errors["agency"] = "Choose the agency that owns the action."
    if due_on is None:
        errors["due_on"] = "Enter the date it is due, as DD/MM/YYYY."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        action = ReviewAction.objects.create(recommendation=recommendation, description=description.strip(),
                                             agency=agency, due_on=due_on)  # fmt: skip
        audit.record(user=acting_user, actor=_who(acting_user), action="create",
                     family=recommendation.review.family, role=REVIEWER,
                     what=f"rapid review {recommendation.review_id}: action {action.pk} for {agency}")  # fmt: skip
    return action


def update_action(
    *, acting_user, action: ReviewAction, status: str, note: str, evidence: str, today: date
) -> ActionUpdate:
    """A status update; marking an action done needs the evidence that it is."""
    if status not in dict(ReviewAction.STATUSES):
        raise ValidationError({"status": "Choose a status."})
    if status == ReviewAction.DONE and not evidence.strip():
        raise ValidationError({"evidence": "Give the evidence that the action is done."})
    with transaction.atomic():
        update = ActionUpdate.objects.create(action=action, on=today, by=acting_user, status=status,
                                             note=note.strip(), evidence=evidence.strip())  # fmt: skip
        action.status = status
        action.done_on = today if status == ReviewAction.DONE else None
        action.save(update_fields=["status", "done_on"])
        audit.record(user=acting_user, actor=_who(acting_user), action="update",
                     family=action.recommendation.review.family, role=REVIEWER,
                     what=f"review action {action.pk}: {status}")  # fmt: skip
    return update


def overdue(today: date):
    """Actions past their due date and not done."""
    return ReviewAction.objects.filter(due_on__lt=today).exclude(status=ReviewAction.DONE)


def owners(agency: str) -> list:
    """Who an agency's overdue action is flagged to: its team leaders and safeguarding leads."""
    pks = Membership.objects.filter(
        team__agency=agency, role__in=OWNERS, user__is_active=True
    ).values_list("user_id", flat=True)
    return list(get_user_model().objects.filter(pk__in=pks).order_by("pk"))


@dataclass
class FlagReport:
    overdue: int = 0
    emails: int = 0
    nobody: int = 0


def flag_overdue(today: date) -> FlagReport:
    """Tell each owning agency's team leaders and safeguarding leads of each overdue action,
    once. The email holds no personal data: the action's number, agency and due date only."""
    report = FlagReport()
    for action in overdue(today).order_by("pk"):
        report.overdue += 1
        who = [u for u in owners(action.agency) if u.email]
        if not who:
            report.nobody += 1
        for user in who:
            with transaction.atomic():
                _, created = ActionNotification.objects.get_or_create(
                    action=action, to=user, reason="overdue"
                )
                if not created:
                    continue
                subject = f"Cradle: review action {action.pk} is overdue (due {action.due_on.isoformat()})"
                body = (
                    f"A rapid review action owned by {Agency(action.agency).label} was due on "
                    f"{action.due_on.isoformat()} and is not marked done.\n\n"
                    f"Action: {action.pk}\nOpen: /partnership/actions/\n\n"
                    "Sign in to Cradle to see it and record its progress with evidence. "
                    "This email holds no personal details by design.\n"
                )
                send_mail(subject, body, None, [user.email], fail_silently=False)
                report.emails += 1
    audit.record(actor="system:review-actions", action="update",
                 what=f"overdue review actions as of {today}: {report.overdue} overdue, {report.emails} emails")  # fmt: skip
    return report


def actions_for(user, today: date):
    """The review actions a user may see: a reviewer's reviews', and an owning agency's for
    its team leaders and safeguarding leads."""
    agencies = Membership.objects.filter(user=user, role__in=OWNERS).values("team__agency")
    mine = Q(recommendation__review__members=user) if is_reviewer(user) else Q(pk__in=[])
    return (
        ReviewAction.objects.filter(mine | Q(agency__in=agencies))
        .select_related("recommendation__review")
        .distinct()
        .order_by("due_on", "pk")
    )


@dataclass
class ReplayRow:
    on: date
    rule: str
    severity: str
    step: int | None
    child: str
    explanation: str
    days_before_harm: int | None


def replay_review(review: Review, today: date) -> dict:
    """Today's rules over the case: when Cradle would have raised what, and the lead time
    from the first escalate or urgent alert to the harm (the core's replay, unchanged)."""
    from dataclasses import replace as with_

    from cradle.partnership.versions import in_force
    from cradle.records.evaluation import rule_settings
    from cradle.records.timeline import timeline_for
    from cradle.rules.settings import Settings
    from cradle.scenarios.case import Case
    from cradle.scenarios.replay import replay

    # The review's child is the one whose lead time counts (a sibling may be the family's index).
    timeline = with_(timeline_for(review.family), index_child=f"p{review.child_id}")
    harm = None
    if review.harm_on is not None:
        harm = Harm(timeline.day_of(review.harm_on), HarmKind.NON_ACCIDENTAL_INJURY)
    version = in_force(today)
    settings = Settings.from_mapping(version.values) if version else rule_settings()
    case = Case(id=review.family.reference, title=review.family.title, source="the record",
                timeline=timeline, harm=harm)  # fmt: skip
    result = replay(case, settings)
    names = {
        f"p{fm.person_id}": fm.person.name
        for fm in m.FamilyMember.objects.filter(family=review.family).select_related("person")
    }
    rows = []
    for change in result.raised:
        f = change.finding
        rows.append(
            ReplayRow(
                on=timeline.date_of(change.day),
                rule=f.rule,
                severity=f.severity.value,
                step=f.step,
                child=names.get(f.child, "a child"),
                explanation=f.explain(day_label=lambda d: timeline.date_of(d).strftime("%d %b %Y")),
                days_before_harm=(harm.day - change.day) if harm else None,
            )
        )
    first = result.first_warning()
    return {
        "rows": rows,
        "lead_time": result.lead_time,
        "first_warning": timeline.date_of(first.day) if first else None,
        "harm_on": review.harm_on,
        "settings": f"version {version.number}" if version else "the configured settings",
        "settings_hash": settings.hash,
    }
