"""The review queue: a safeguarding lead or an administrator confirms or rejects
the pairs the model was unsure of. Every page that shows identities is audited;
everyone else gets "not found" (``cradle.access.guard.page``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from cradle.access import audit
from cradle.access.disclosure import WITHHELD, is_withheld, withheld_keys
from cradle.access.guard import page
from cradle.linkage.model import MAX_BLOCK
from cradle.links import actions
from cradle.links.models import Candidate, IdentityLink, LinkRun
from cradle.links.waterfall import waterfall

REVIEWERS = actions.REVIEWERS


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _audit_read(request, what: str) -> None:
    audit.record(
        user=request.user,
        actor=f"user:{request.user.pk}",
        action="read",
        what=what,
        ip=_ip(request),
        role=actions.reviewer_role(request.user),
    )


@page(roles=REVIEWERS, purpose="the pairs of identities waiting for a person's decision")
def queue(request):
    pending = list(
        Candidate.objects.filter(status=Candidate.PENDING).select_related("left", "right")[:200]
    )
    decided = Candidate.objects.exclude(status=Candidate.PENDING).count()
    # The last run that ended: when it left identities unpaired in crowded blocks
    # (placeholder details), reviewers are the people to look for them (counts and keys in
    # words only, as the run kept them).
    last = LinkRun.objects.filter(status=LinkRun.DONE).first()
    _audit_read(request, f"link review queue ({len(pending)} pairs)")
    return render(
        request,
        "links/queue.html",
        {
            "pending": pending,
            "decided": decided,
            "last": last,
            "max_block": f"{MAX_BLOCK:,}",
            "crowded_keys": last.crowded_keys.replace("; ", ", or one ") if last else "",
        },
    )


def _side(identity, keys) -> list[tuple[str, str]]:
    person = identity.person
    address = (
        WITHHELD
        if is_withheld(identity, keys)
        else ", ".join(x for x in (identity.address, identity.postcode) if x)
    )
    return [
        ("Agency", identity.get_agency_display()),
        ("Given name", identity.given_name or "not recorded"),
        ("Family name", identity.family_name or "not recorded"),
        (
            "Date of birth",
            person.born_on.strftime("%-d %B %Y") if person.born_on else "not recorded",
        ),
        ("Sex", person.get_sex_display()),
        ("NHS number", identity.nhs_number or person.nhs_number or "not recorded"),
        ("Address", address or "not recorded"),
        ("Recorded", identity.recorded_on.strftime("%-d %B %Y")),
    ]


@page(roles=REVIEWERS, methods=("GET", "POST"), purpose="one candidate pair, confirmed or rejected")
def candidate(request, pk: int):
    found = Candidate.objects.filter(pk=pk).select_related("left__person", "right__person").first()
    if found is None:
        raise Http404("No such pair")
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision not in ("confirm", "reject"):
            raise Http404("No such decision")
        try:
            actions.decide(
                found.pk,
                confirm=decision == "confirm",
                acting_user=request.user,
                note=request.POST.get("note", "")[:2000],
                ip=_ip(request),
            )
        except ValueError as exc:
            messages.error(request, str(exc))
            return redirect("links:candidate", pk=found.pk)
        messages.success(
            request,
            "Linked: the records are now one person's."
            if decision == "confirm"
            else "Rejected: these records stay apart.",
        )
        return redirect("links:queue")
    _audit_read(
        request, f"link candidate {found.pk} (identities {found.left_id} and {found.right_id})"
    )
    keys = withheld_keys()
    left, right = _side(found.left, keys), _side(found.right, keys)
    rows = [(label, a, b, a == b) for (label, a), (_, b) in zip(left, right, strict=True)]
    return render(
        request,
        "links/candidate.html",
        {"candidate": found, "rows": rows, "chart": waterfall(found.weights)},
    )


@page(roles=REVIEWERS, methods=("POST",), purpose="undo a link, with a reason")
def unlink(request, pk: int):
    if not IdentityLink.objects.filter(pk=pk).exists():
        raise Http404("No such link")
    try:
        actions.unlink(
            pk, acting_user=request.user, reason=request.POST.get("reason", ""), ip=_ip(request)
        )
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The link was undone; the records stay as they arrived.")
    return redirect("links:queue")
