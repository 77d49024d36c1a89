"""The partnership's audit figures, counted in the database (Django aggregates) from the
facts the core computed per family (``AuditFact``), from alerts and their changes, and from
review actions. No rule logic here and no loop over families: each figure is one query
grouped by what it shows, for a chosen period and agency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Avg, Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q

from cradle.domain import Agency
from cradle.partnership.models import AuditFact, ReviewAction
from cradle.records import models as m

RESPONSES = ("acknowledged", "actioned", "dismissed")


@dataclass
class Figure:
    key: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    series: list[str] = field(default_factory=list)  # the columns the chart draws
    unit: str = ""
    note: str = ""

    def chart_rows(self) -> list[tuple[str, list[float]]]:
        """(label, values) per row: the label from the columns before the first number."""
        idx = [self.columns.index(s) for s in self.series]
        labels = 2 if self.columns[1] in ("Agency", "Severity") else 1
        return [
            (", ".join(str(r[i]) for i in range(labels)), [float(r[i] or 0) for i in idx])
            for r in self.rows
        ]


def _agency(code: str) -> str:
    try:
        label = Agency(code).label.removeprefix("the ")
        return label[0].upper() + label[1:]
    except ValueError:
        return code or "any"


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _facts(measure: str, start: date, end: date, agency: str | None):
    qs = AuditFact.objects.filter(measure=measure, on__gte=start, on__lte=end)
    return qs.filter(agency=agency) if agency else qs


TOUCHPOINTS = {
    "antenatal": "Antenatal (by 36 weeks)",
    "postnatal": "Postnatal midwife",
    "nnu_discharge": "Neonatal unit discharge",
    "new_birth_visit": "New birth visit",
    "six_to_eight_week": "GP 6-8 week check",
    "father": "To the father or male carer",
}


def icon(start: date, end: date, agency: str | None) -> Figure:
    rows = (
        _facts("icon", start, end, agency)
        .values("item", "agency")
        .annotate(due=Count("id"), met=Count("id", filter=Q(met=True)))
        .order_by("item", "agency")
    )
    f = Figure("icon", "ICON delivered, by touchpoint and agency",
               ["Touchpoint", "Agency", "Due", "Delivered", "Delivered %"], series=["Delivered %"], unit="%")  # fmt: skip
    f.rows = [[TOUCHPOINTS.get(r["item"], r["item"]), _agency(r["agency"]), r["due"], r["met"],
               _pct(r["met"], r["due"])] for r in rows]  # fmt: skip
    return f


def sequences(start: date, end: date, agency: str | None) -> Figure:
    rows = (
        _facts("sequence", start, end, agency)
        .filter(counted=True)
        .values("agency")
        .annotate(
            n=Count("id"),
            escalated=Count("id", filter=Q(extra=True)),
            on_time=Count("id", filter=Q(met=True)),
        )
        .order_by("agency")
    )
    f = Figure(
        "sequences",
        "Failed-contact sequences reaching step 2 or 3, escalated on time",
        ["Agency", "Sequences", "Escalated", "On time", "On time %"],
        series=["On time %"],
        unit="%",
        note="Escalated: a safeguarding referral, strategy discussion, referral or child protection "
        "plan about the baby or mother; on time: by 2 working days after step 2, the same day at step 3.",
    )
    f.rows = [[_agency(r["agency"]), r["n"], r["escalated"], r["on_time"], _pct(r["on_time"], r["n"])]
              for r in rows]  # fmt: skip
    return f


def male_carers(start: date, end: date, agency: str | None) -> Figure:
    rows = (
        _facts("male_carer", start, end, None)
        .values("item")
        .annotate(babies=Count("id"), yes=Count("id", filter=Q(met=True)))
    )
    by = {r["item"]: r for r in rows}
    f = Figure(
        "male_carers",
        "Fathers and male carers identified, seen, and linked to the baby's record",
        ["Measure", "Babies", "Yes", "%"],
        series=["%"],
        unit="%",
        note="Babies born in the period; for every agency (a father is the family's, not an agency's).",
    )
    for item, label in (
        ("identified", "Identified"),
        ("seen", "Seen in person"),
        ("linked", "Linked to the baby's record"),
    ):
        r = by.get(item, {"babies": 0, "yes": 0})
        f.rows.append([label, r["babies"], r["yes"], _pct(r["yes"], r["babies"])])
    return f


def remote(start: date, end: date, agency: str | None) -> Figure:
    rows = (
        _facts("remote", start, end, agency)
        .filter(counted=True)
        .values("agency")
        .annotate(n=Count("id"), seen=Count("id", filter=Q(met=True)))
        .order_by("agency")
    )
    f = Figure(
        "remote",
        "Remote consultations about babies followed by a face-to-face contact within 48 hours",
        ["Agency", "Consultations", "Baby seen within 48 hours", "%"],
        series=["%"],
        unit="%",
    )
    f.rows = [[_agency(r["agency"]), r["n"], r["seen"], _pct(r["seen"], r["n"])] for r in rows]
    return f


def responses(start: date, end: date, agency: str | None) -> Figure:
    """Two grouped queries: the alerts raised in the period, and their first responses (a
    response with no earlier one for the same alert: an anti-join the database plans as one,
    where a per-alert subquery would run once per alert)."""
    alerts = m.Alert.objects.filter(raised_on__gte=start, raised_on__lte=end).exclude(
        status="withdrawn"
    )
    if agency:
        alerts = alerts.filter(agency=agency)
    totals = (
        alerts.values("agency", "severity").annotate(n=Count("id")).order_by("agency", "severity")
    )
    earlier = m.AlertChange.objects.filter(alert=OuterRef("alert"), change__in=RESPONSES).filter(
        Q(on__lt=OuterRef("on")) | Q(on=OuterRef("on"), pk__lt=OuterRef("pk"))
    )
    firsts = (
        m.AlertChange.objects.filter(change__in=RESPONSES, alert__in=alerts)
        .filter(~Exists(earlier))
        .annotate(
            took=ExpressionWrapper(F("on") - F("alert__raised_on"), output_field=DurationField())
        )
        .values("alert__agency", "alert__severity")
        .annotate(
            answered=Count("id"),
            in_time=Count("id", filter=Q(on__lte=F("alert__due_on"))),
            mean=Avg("took"),
        )
    )
    answered = {(r["alert__agency"], r["alert__severity"]): r for r in firsts}
    f = Figure(
        "responses",
        "Alert response times, by agency and severity",
        ["Agency", "Severity", "Alerts", "Responded", "By the due date", "Mean days to respond"],
        series=["Mean days to respond"],
        unit=" days",
        note="A response is the first acknowledgement, action or dismissal.",
    )
    for r in totals:
        a = answered.get((r["agency"], r["severity"]), {"answered": 0, "in_time": 0, "mean": None})
        mean = a["mean"]
        days = round(mean.total_seconds() / 86400, 1) if mean is not None else None
        f.rows.append(
            [_agency(r["agency"]), r["severity"], r["n"], a["answered"], a["in_time"], days]
        )
    return f


def review_actions(start: date, end: date, agency: str | None, today: date) -> Figure:
    actions = ReviewAction.objects.filter(due_on__gte=start, due_on__lte=end)
    if agency:
        actions = actions.filter(agency=agency)
    late = Q(due_on__lt=today) & ~Q(status=ReviewAction.DONE)
    rows = (
        actions.values("agency")
        .annotate(
            open=Count("id", filter=~Q(status=ReviewAction.DONE) & Q(due_on__gte=today)),
            done=Count("id", filter=Q(status=ReviewAction.DONE)),
            overdue=Count("id", filter=late),
        )
        .order_by("agency")
    )
    f = Figure(
        "actions",
        "Review actions open, done and overdue, by owning agency",
        ["Agency", "Open", "Done", "Overdue"],
        series=["Open", "Done", "Overdue"],
        note="Actions due in the period.",
    )
    f.rows = [[_agency(r["agency"]), r["open"], r["done"], r["overdue"]] for r in rows]
    return f


def all_figures(start: date, end: date, agency: str | None, today: date) -> list[Figure]:
    return [
        icon(start, end, agency),
        sequences(start, end, agency),
        male_carers(start, end, agency),
        remote(start, end, agency),
        responses(start, end, agency),
        review_actions(start, end, agency, today),
    ]
