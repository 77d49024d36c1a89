"""The partnership's pages. Every page declares who may open it (``@page``); families are
loaded through the permission policy (``family_for``: "not found" otherwise, audited), and a
review through ``review_for`` (its members only, else "not found")."""

from __future__ import annotations

from datetime import date

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from cradle.access import audit
from cradle.access.guard import PRACTITIONERS, page
from cradle.access.models import Role
from cradle.access.policy import family_for, reveal_for, sensitivities_for
from cradle.partnership import exports
from cradle.partnership.chronology import multi_agency
from cradle.partnership.svg import timeline

REVIEWERS = frozenset({Role.PARTNERSHIP_REVIEWER})
READERS = PRACTITIONERS | REVIEWERS
FORMATS = {
    "pdf": ("application/pdf", exports.to_pdf),
    "csv": ("text/csv; charset=utf-8", exports.to_csv),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        exports.to_docx,
    ),
}


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _today() -> date:
    return timezone.localdate()


def _role(user) -> str:
    from cradle.access.models import Membership

    return Membership.objects.filter(user=user).values_list("role", flat=True).first() or ""


def _chronology_for(request, family, as_of: date, agency: str | None = None) -> dict:
    return multi_agency(
        family,
        allowed=sensitivities_for(request.user),
        reveal=reveal_for(request.user),
        as_of=as_of,
        agency=agency,
    )


def _download(request, chronology: dict, fmt: str, name: str, family, what: str) -> HttpResponse:
    content_type, make = FORMATS[fmt]
    body = make(chronology)
    audit.record(
        user=request.user,
        actor=f"user:{request.user.pk}",
        action="export",
        family=family,
        what=f"{what} as {fmt.upper()}",
        ip=_ip(request),
        role=_role(request.user),
    )
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


@page(roles=READERS, scope="family", purpose="a family's multi-agency chronology")
def chronology(request, pk: int):
    today = _today()
    family = family_for(request.user, pk, today, ip=_ip(request))
    agency = request.GET.get("agency") or None
    c = _chronology_for(request, family, today, agency)
    whole = c if not agency else _chronology_for(request, family, today)
    return render(
        request,
        "partnership/chronology.html",
        {
            "family": family,
            "c": c,
            "picture": timeline(c),
            "agency": agency,
            "agencies": [(code, code.replace("_", " ")) for code in whole["lanes"]],
        },
    )


def _export_page(request, title: str, back: str, back_label: str):
    """What a download link leads to without a format: the formats, and what they carry."""
    return render(
        request,
        "partnership/export.html",
        {"title": title, "formats": FORMATS, "back": back, "back_label": back_label},
    )


@page(roles=READERS, scope="family", purpose="export a family's multi-agency chronology")
def chronology_export(request, pk: int):
    """``?format=pdf|docx|csv`` downloads the chronology; without it, the choice of formats."""
    today = _today()
    family = family_for(request.user, pk, today, ip=_ip(request))
    fmt = request.GET.get("format")
    if fmt not in FORMATS:
        back = reverse("partnership-chronology", args=[pk])
        return _export_page(request, "Download the chronology", back, "Back to the chronology")
    c = _chronology_for(request, family, today)
    return _download(
        request, c, fmt, f"chronology-{family.pk}-{today}", family, "multi-agency chronology"
    )
