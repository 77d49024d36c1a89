"""The partnership's pages. Every page declares who may open it (``@page``); families are
loaded through the permission policy (``family_for``: "not found" otherwise, audited), and a
review through ``review_for`` (its members only, else "not found")."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from cradle.access import audit
from cradle.access.guard import PRACTITIONERS, page
from cradle.access.models import Role
from cradle.access.policy import family_for, reveal_for, sensitivities_for
from cradle.domain import Agency
from cradle.partnership import exports, reviews
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


# --- rapid reviews ---------------------------------------------------------------------------


def _parse_date(value: str | None):
    from datetime import datetime

    value = (value or "").strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _errors(exc: ValidationError) -> dict[str, str]:
    return {k: " ".join(v) for k, v in exc.message_dict.items()}


@page(roles=REVIEWERS, methods=("GET", "POST"), purpose="rapid reviews, and opening one")
def review_list(request):
    from cradle.partnership.models import Review

    today, errors, values = _today(), {}, {}
    if request.method == "POST":
        values = request.POST
        harm_on = _parse_date(values.get("harm_on"))
        if values.get("harm_on") and harm_on is None:
            errors["harm_on"] = "Enter the day of the harm as DD/MM/YYYY, or leave it blank."
        else:
            try:
                review = reviews.open_review(
                    acting_user=request.user,
                    nhs_number=values.get("nhs_number", ""),
                    reference=values.get("reference", ""),
                    harm_on=harm_on,
                    today=today,
                    ip=_ip(request),
                )
                messages.success(request, "Review opened. You may now read the child's record.")
                return redirect("partnership-review", review_pk=review.pk)
            except ValidationError as exc:
                errors = _errors(exc)
    mine = Review.objects.filter(members=request.user).order_by("-opened_on", "-pk")
    return render(
        request,
        "partnership/reviews.html",
        {"reviews": mine, "errors": errors, "values": values},
        status=400 if errors else 200,
    )


def _workspace(request, review, errors=None, status=200):
    from cradle.partnership.models import ReviewAction

    today = _today()
    recs = review.recommendations.prefetch_related("actions__updates")
    return render(
        request,
        "partnership/review.html",
        {
            "review": review,
            "recommendations": recs,
            "snapshots": review.snapshots.all(),
            "replay": reviews.replay_review(review, today),
            "agencies": [(a.value, a.label) for a in Agency],
            "statuses": ReviewAction.STATUSES,
            "errors": errors or {},
            "today": today,
        },
        status=status,
    )


@page(roles=REVIEWERS, methods=("GET", "POST"), purpose="a rapid review's workspace")
def review_page(request, review_pk: int):
    from cradle.partnership.models import Recommendation, ReviewAction

    today = _today()
    why = "update" if request.method == "POST" else "read"
    review = reviews.review_for(request.user, review_pk, ip=_ip(request), why=why)
    if request.method == "GET":
        return _workspace(request, review)
    do, p = request.POST.get("do"), request.POST
    try:
        if do == "snapshot":
            as_of = _parse_date(p.get("as_of"))
            if as_of is None:
                raise ValidationError({"as_of": "Enter the day as DD/MM/YYYY."})
            reviews.take_snapshot(acting_user=request.user, review=review, as_of=as_of, today=today)
            messages.success(request, "The chronology is frozen as of that day.")
        elif do == "write":
            harm_on = _parse_date(p.get("harm_on"))
            if p.get("harm_on") and harm_on is None:
                raise ValidationError({"harm_on": "Enter the day of the harm as DD/MM/YYYY."})
            reviews.write(acting_user=request.user, review=review, story=p.get("story", ""),
                          findings=p.get("findings", ""), learning=p.get("learning", ""), harm_on=harm_on)  # fmt: skip
            messages.success(request, "Saved.")
        elif do == "recommend":
            reviews.recommend(acting_user=request.user, review=review, title=p.get("title", ""),
                              detail=p.get("detail", ""))  # fmt: skip
            messages.success(request, "Recommendation added.")
        elif do == "action":
            rec = Recommendation.objects.filter(
                review=review, pk=p.get("recommendation") or 0
            ).first()
            if rec is None:
                raise Http404("No such recommendation")
            reviews.add_action(acting_user=request.user, recommendation=rec, description=p.get("description", ""),
                               agency=p.get("agency", ""), due_on=_parse_date(p.get("due_on")))  # fmt: skip
            messages.success(request, "Action added.")
        elif do == "update":
            action = ReviewAction.objects.filter(
                recommendation__review=review, pk=p.get("action") or 0
            ).first()
            if action is None:
                raise Http404("No such action")
            reviews.update_action(acting_user=request.user, action=action, status=p.get("status", ""),
                                  note=p.get("note", ""), evidence=p.get("evidence", ""), today=today)  # fmt: skip
            messages.success(request, "Action updated.")
        elif do == "close":
            reviews.close(acting_user=request.user, review=review)
            messages.success(
                request, "Review closed: the family's record is no longer open to its members."
            )
        elif do == "member":
            reviews.add_member(
                acting_user=request.user, review=review, username=p.get("username", "")
            )
            messages.success(request, "Member added.")
        else:
            return HttpResponseBadRequest("Bad request")
    except ValidationError as exc:
        return _workspace(request, review, _errors(exc), status=400)
    return redirect("partnership-review", review_pk=review.pk)


@page(roles=REVIEWERS, purpose="a frozen chronology of a review")
def snapshot_page(request, review_pk: int, snapshot_pk: int):
    review = reviews.review_for(request.user, review_pk, ip=_ip(request))
    snapshot = review.snapshots.filter(pk=snapshot_pk).first()
    if snapshot is None:
        raise Http404("No such snapshot")
    fmt = request.GET.get("format")
    if fmt in FORMATS:
        name = f"review-{review.pk}-chronology-{snapshot.as_of}"
        what = f"rapid review {review.pk}: chronology snapshot {snapshot.pk}"
        return _download(request, snapshot.data, fmt, name, review.family, what)
    return render(
        request,
        "partnership/snapshot.html",
        {
            "review": review,
            "snapshot": snapshot,
            "c": snapshot.data,
            "picture": timeline(snapshot.data),
        },
    )


@page(roles=REVIEWERS, purpose="a review's learning brief")
def learning_brief(request, review_pk: int):
    review = reviews.review_for(request.user, review_pk, ip=_ip(request))
    if request.GET.get("format") != "pdf":
        back = reverse("partnership-review", args=[review.pk])
        return _export_page(request, "Download the learning brief", back, "Back to the review")
    context = {
        "review": review,
        "recommendations": review.recommendations.prefetch_related("actions"),
        "learning": [
            line.strip("-• ").strip() for line in review.learning.splitlines() if line.strip()
        ],
        "replay": reviews.replay_review(review, _today()),
    }
    body = exports.learning_brief_pdf(context)
    audit.record(
        user=request.user,
        actor=f"user:{request.user.pk}",
        action="export",
        family=review.family,
        what=f"rapid review {review.pk}: learning brief as PDF",
        ip=_ip(request),
        role=_role(request.user),
    )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="learning-brief-{review.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@page(
    roles=REVIEWERS | {Role.TEAM_LEADER, Role.SAFEGUARDING_LEAD},
    purpose="review actions, overdue ones flagged",
)
def action_list(request):
    today = _today()
    rows = [
        {"action": a, "overdue": a.status != "done" and a.due_on < today}
        for a in reviews.actions_for(request.user, today)
    ]
    return render(
        request,
        "partnership/actions.html",
        {"rows": rows, "overdue": sum(r["overdue"] for r in rows), "today": today},
    )


# --- audit dashboards ------------------------------------------------------------------------

DASHBOARD_ROLES = REVIEWERS | {Role.ADMINISTRATOR, Role.SAFEGUARDING_LEAD}


def _period(request, today: date) -> tuple[date, date, str | None, dict]:
    start = _parse_date(request.GET.get("from")) or date(today.year - 1, today.month, 1)
    end = _parse_date(request.GET.get("to")) or today
    agency = request.GET.get("agency") or None
    if agency not in Agency._value2member_map_:
        agency = None
    return (
        start,
        end,
        agency,
        {"from": start.isoformat(), "to": end.isoformat(), "agency": agency or ""},
    )


@page(roles=DASHBOARD_ROLES, purpose="the partnership's audit dashboards (counts, no records)")
def dashboards(request):
    import csv as csvlib
    import io
    from urllib.parse import urlencode

    from cradle.partnership import dashboards as d
    from cradle.partnership.svg import bars

    today = _today()
    start, end, agency, query = _period(request, today)
    figures = d.all_figures(start, end, agency, today)
    wanted = request.GET.get("figure")
    if request.GET.get("format") == "csv":
        figure = next((f for f in figures if f.key == wanted), None)
        if figure is None:
            raise Http404("No such figure")
        out = io.StringIO()
        out.write("OFFICIAL-SENSITIVE\r\n")
        writer = csvlib.writer(out)
        writer.writerow([f"{figure.title}, {start} to {end}, agency: {agency or 'every agency'}"])
        writer.writerow(figure.columns)
        writer.writerows(figure.rows)
        audit.record(user=request.user, actor=f"user:{request.user.pk}", action="export",
                     what=f"audit figure {figure.key} as CSV", ip=_ip(request), role=_role(request.user))  # fmt: skip
        response = HttpResponse(out.getvalue().encode(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{figure.key}-{start}-{end}.csv"'
        return response
    shown = [
        {
            "figure": f,
            "chart": bars(f.title, f.chart_rows(), f.series, unit=f.unit, ident=f"chart-{f.key}"),
            "csv": "?" + urlencode({**query, "figure": f.key, "format": "csv"}),
        }
        for f in figures
    ]
    return render(
        request,
        "partnership/dashboards.html",
        {"figures": shown, "query": query, "agencies": [(a.value, a.label) for a in Agency]},
    )


# --- rule settings, versioned ----------------------------------------------------------------

SETTINGS_ROLES = REVIEWERS | {Role.ADMINISTRATOR}


def _current(today: date):
    from cradle.partnership.versions import settings_in_force
    from cradle.records.evaluation import rule_settings

    return settings_in_force(today) or rule_settings()


@page(
    roles=SETTINGS_ROLES, methods=("GET", "POST"), purpose="rule settings: versions and proposals"
)
def settings_list(request):
    from cradle.access.guard import roles_of
    from cradle.partnership import versions
    from cradle.partnership.compare import toml
    from cradle.partnership.models import SettingsVersion

    today, errors, values = _today(), {}, {}
    current = _current(today)
    may_propose = Role.ADMINISTRATOR in roles_of(request.user)
    if request.method == "POST":
        values = request.POST
        try:
            if not may_propose:
                raise ValidationError(
                    {"values": "Only a partnership administrator proposes settings."}
                )
            effective = _parse_date(values.get("effective_from"))
            if effective is None:
                raise ValidationError(
                    {"effective_from": "Enter the date it takes effect, as DD/MM/YYYY."}
                )
            version = versions.propose(
                acting_user=request.user,
                settings=versions.parse(values.get("values", "")),
                effective_from=effective,
                reason=values.get("reason", ""),
                today=today,
            )
            messages.success(
                request,
                f"Version {version.number} proposed. It takes effect only once a clinical safety officer approves it.",
            )
            return redirect("partnership-settings-version", version_pk=version.pk)
        except ValidationError as exc:
            errors = _errors(exc)
    in_force = versions.in_force(today)
    return render(
        request,
        "partnership/settings.html",
        {
            "versions": SettingsVersion.objects.select_related("approved_by", "proposed_by"),
            "in_force": in_force,
            "current_toml": toml(current),
            "current_hash": current.hash,
            "may_propose": may_propose,
            "errors": errors,
            "values": values,
            "today": today,
        },
        status=400 if errors else 200,
    )


@page(roles=SETTINGS_ROLES, methods=("GET", "POST"), purpose="a settings version: compare, approve")
def settings_version(request, version_pk: int):
    from cradle.partnership import versions
    from cradle.partnership.compare import changes, compare, toml
    from cradle.partnership.models import SafetyOfficer, SettingsVersion
    from cradle.rules.settings import Settings

    today, errors = _today(), {}
    version = SettingsVersion.objects.filter(pk=version_pk).first()
    if version is None:
        raise Http404("No such version")
    if request.method == "POST":
        try:
            versions.decide(acting_user=request.user, version_pk=version.pk,
                            approve=request.POST.get("decision") == "approve",
                            note=request.POST.get("note", ""), today=today)  # fmt: skip
            messages.success(
                request,
                f"Version {version.number} {'approved' if request.POST.get('decision') == 'approve' else 'rejected'}.",
            )
            return redirect("partnership-settings-version", version_pk=version.pk)
        except ValidationError as exc:
            errors = _errors(exc)
    current = _current(today)
    proposed = Settings.from_mapping(version.values)
    return render(
        request,
        "partnership/settings_version.html",
        {
            "version": version,
            "changes": changes(current, proposed),
            "comparison": compare(current, proposed),
            "current_hash": current.hash,
            "toml": toml(proposed),
            "is_officer": SafetyOfficer.objects.filter(user=request.user).exists(),
            "errors": errors,
        },
        status=400 if errors else 200,
    )
