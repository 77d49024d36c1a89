"""Decisions on links, each a function: check permission, write, re-evaluate the
families of both people, audit, in one transaction."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from cradle.access import audit
from cradle.access.guard import roles_of
from cradle.access.models import Role
from cradle.links.models import Candidate, IdentityLink
from cradle.records import models as m

REVIEWERS = frozenset({Role.SAFEGUARDING_LEAD, Role.ADMINISTRATOR})


def may_review(user) -> bool:
    return bool(user.is_authenticated and user.is_active and roles_of(user) & REVIEWERS)


def reviewer_role(user) -> str:
    return next(iter(sorted(roles_of(user) & REVIEWERS)), "")


def _require(user) -> None:
    if not may_review(user):
        raise Http404("No such page")


def _reevaluate(identity_pks: tuple[int, ...], acting_user) -> None:
    """A link changes who is in a family's picture: re-evaluate every family of either person."""
    from cradle.records.evaluation import reevaluate

    people = m.Identity.objects.filter(pk__in=identity_pks).values("person_id")
    families = m.Family.objects.filter(members__in=people).distinct().order_by("pk")
    for family in families:
        reevaluate(family, timezone.localdate(), by=acting_user)


@transaction.atomic
def decide(
    candidate_pk: int, *, confirm: bool, acting_user, note: str = "", ip: str = ""
) -> Candidate:
    """Confirm (link the pair) or reject a candidate; the decision is kept as a label."""
    _require(acting_user)
    candidate = Candidate.objects.select_for_update().get(pk=candidate_pk)
    if candidate.status != Candidate.PENDING:
        raise ValueError("this pair has already been decided")
    candidate.status = Candidate.CONFIRMED if confirm else Candidate.REJECTED
    candidate.decided_by, candidate.decided_at, candidate.note = acting_user, timezone.now(), note
    candidate.save(update_fields=["status", "decided_by", "decided_at", "note"])
    if (
        confirm
        and not IdentityLink.objects.filter(
            left=candidate.left_id, right=candidate.right_id, active=True
        ).exists()
    ):
        IdentityLink.objects.create(
            left_id=candidate.left_id,
            right_id=candidate.right_id,
            method=IdentityLink.REVIEWER,
            probability=candidate.probability,
            created_by=acting_user,
        )
    if confirm:
        _reevaluate((candidate.left_id, candidate.right_id), acting_user)
    audit.record(
        user=acting_user,
        actor=f"user:{acting_user.pk}",
        action="link" if confirm else "reject-link",
        what=f"link candidate {candidate.pk}: identities {candidate.left_id} and {candidate.right_id} {'confirmed' if confirm else 'rejected'}",
        ip=ip,
        role=reviewer_role(acting_user),
    )
    return candidate


@transaction.atomic
def unlink(link_pk: int, *, acting_user, reason: str, ip: str = "") -> IdentityLink:
    """Undo a link: it stays, inactive, with who undid it and why; no run relinks the pair."""
    _require(acting_user)
    if not reason.strip():
        raise ValueError("give a reason for undoing the link")
    link = IdentityLink.objects.select_for_update().get(pk=link_pk)
    if not link.active:
        return link
    link.active, link.unlinked_at, link.unlinked_by, link.unlink_reason = (
        False,
        timezone.now(),
        acting_user,
        reason.strip(),
    )
    link.save(update_fields=["active", "unlinked_at", "unlinked_by", "unlink_reason"])
    _reevaluate((link.left_id, link.right_id), acting_user)
    audit.record(
        user=acting_user,
        actor=f"user:{acting_user.pk}",
        action="unlink",
        what=f"identity link {link.pk} undone (identities {link.left_id} and {link.right_id})",
        ip=ip,
        role=reviewer_role(acting_user),
    )
    return link
