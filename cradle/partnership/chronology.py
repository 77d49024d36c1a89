"""The multi-agency chronology of a child and the adults linked to them.

``chronology_rows`` is the family page's chronology (moved here from ``cradle.web.views``,
which imports it): every contact about anyone in the family, newest first, each as the
reader's role allows (a summary and whom to ask where the detail is not theirs to read).
``multi_agency`` builds the partnership's chronology on it: oldest first, the alerts where
they fired, the gaps in which no professional saw the baby, and the people with their
addresses as ``cradle.access.disclosure`` lets them be shown. Its entries are plain
JSON-able dicts, so that a review can freeze them.
"""

from __future__ import annotations

from datetime import date, timedelta

from cradle.access.disclosure import addresses_for
from cradle.domain import Agency, Finding, Outcome, Sensitivity
from cradle.partnership.gaps import find_gaps
from cradle.records import models as m
from cradle.rules.words import sensitivity_of

FAILED = {
    o.value
    for o in (
        Outcome.NO_ACCESS,
        Outcome.ACCESS_REFUSED,
        Outcome.WAS_NOT_BROUGHT,
        Outcome.DID_NOT_ATTEND,
        Outcome.CANCELLED_BY_FAMILY,
    )
}
REMOTE_CHANNELS = ("online", "phone", "video")
FAILED_MARK, UNSEEN_MARK, ALERT_MARK, GAP_MARK = (
    "Failed contact",
    "Baby not seen",
    "Alert",
    "Not seen by any professional",
)
ALERT_LANE = "cradle"
COLUMNS = ("Date", "Agency", "Contact", "Who was seen", "What was found", "What was done")
MARKING = "OFFICIAL-SENSITIVE"


def _label(word: str) -> str:
    return word.replace("_", " ").capitalize() if word else ""


def chronology_rows(
    family: m.Family,
    agency: str | None,
    allowed=frozenset(Sensitivity),
    as_of: date | None = None,
) -> list[dict]:
    """The family's contacts, newest first, read as plain rows (a 500-contact family
    renders in a few milliseconds this way; model objects cost ten times more). With
    ``as_of``, only what had happened and been recorded by the end of that day."""
    members = list(
        m.FamilyMember.objects.filter(family=family).values_list(
            "person_id", "role", "person__given_name", "person__family_name"
        )
    )
    names = {
        pk: " ".join(p for p in (given, last) if p) or "name not recorded"
        for pk, _, given, last in members
    }
    adults = {pk for pk, role, _, _ in members if role not in ("child", "sibling")}
    ids = m.Contact.objects.filter(subjects__in=list(names)).values("pk")
    contacts = m.Contact.objects.filter(pk__in=ids)
    if agency:
        contacts = contacts.filter(agency=agency)
    if as_of is not None:
        contacts = contacts.filter(occurred_on__lte=as_of, recorded_on__lte=as_of)
    rows = contacts.order_by("-occurred_on", "-id").values_list(
        "pk", "occurred_on", "agency", "kind", "outcome", "channel", "note", "entered_in_error"
    )
    subjects: dict[int, set[int]] = {}
    seen: dict[int, list[int]] = {}
    for cid, pid in m.Contact.subjects.through.objects.filter(contact_id__in=ids).values_list(
        "contact_id", "person_id"
    ):
        subjects.setdefault(cid, set()).add(pid)
    for cid, pid in m.Contact.seen.through.objects.filter(contact_id__in=ids).values_list(
        "contact_id", "person_id"
    ):
        seen.setdefault(cid, []).append(pid)
    child = family.index_child_id
    words: dict[int, list[str]] = {}
    for cid, word in m.ContactFinding.objects.filter(contact_id__in=ids).values_list(
        "contact_id", "word"
    ):
        words.setdefault(cid, []).append(word)
    found = {cid: [_label(w).lower() for w in ws] for cid, ws in words.items()}
    out = []
    for pk, occurred, ag, kind, outcome, channel, note, in_error in rows:
        about_adult = bool(subjects.get(pk, set()) & adults) and child not in subjects.get(
            pk, set()
        )
        classes = {sensitivity_of(None, Agency(ag), about_adult)} | {
            sensitivity_of(Finding(w), Agency(ag), about_adult) for w in words.get(pk, ())
        }
        if not classes <= allowed:
            # The reader's role does not need this detail: say a concern exists, and whom to ask.
            out.append({"pk": pk, "occurred_on": occurred, "agency": _label(ag), "kind": "Concern recorded", "outcome": "",
                        "note": f"A concern is recorded that you may not see in detail: ask {Agency(ag).label}.",
                        "entered_in_error": in_error, "mark": "", "seen": [], "findings": [], "withheld": True,
                        "agency_code": ag})  # fmt: skip
            continue
        saw = seen.get(pk, [])
        mark = ""
        if outcome in FAILED:
            mark = FAILED_MARK
        elif (
            outcome == "attended"
            and channel == "home_visit"
            and child in subjects.get(pk, ())
            and child not in saw
        ):
            mark = UNSEEN_MARK
        out.append(
            {
                "pk": pk,
                "occurred_on": occurred,
                "agency": _label(ag),
                "agency_code": ag,
                "kind": _label(kind),
                "outcome": _label(outcome),
                "note": note,
                "entered_in_error": in_error,
                "mark": mark,
                "seen": [names.get(p, "someone outside the family") for p in saw],
                "findings": found.get(pk, []),
            }
        )
    return out


def seen_days(family: m.Family, as_of: date) -> list[date]:
    """The days the index child was seen in person by a professional: an attended
    contact that saw them (not by phone, online or video), and every day of a hospital stay."""
    child = family.index_child_id
    if child is None:
        return []
    seen = (
        m.Contact.objects.filter(
            seen=child, entered_in_error=False, occurred_on__lte=as_of, recorded_on__lte=as_of
        )
        .exclude(channel__in=REMOTE_CHANNELS)
        .exclude(outcome__in=FAILED)
    )
    days = set(seen.values_list("occurred_on", flat=True))
    stays = (
        m.Contact.objects.filter(
            subjects=child,
            entered_in_error=False,
            occurred_on__lte=as_of,
            kind__in=("nnu_admission", "nnu_discharge", "hospital_admission", "hospital_discharge"),
        )
        .order_by("occurred_on", "pk")
        .values_list("kind", "occurred_on")
    )
    start = None
    for kind, on in stays:
        if kind.endswith("admission"):
            start = start or on
        elif start is not None:
            days.update(start + timedelta(days=i) for i in range((on - start).days + 1))
            start = None
    if start is not None:  # still in hospital: seen up to the as-of day
        days.update(start + timedelta(days=i) for i in range((as_of - start).days + 1))
    return sorted(days)


def _alert_entries(family: m.Family, as_of: date, reveal) -> list[dict]:
    from cradle.partnership.versions import version_label
    from cradle.web.presenting import explanation

    alerts = (
        m.Alert.objects.filter(family=family, raised_on__lte=as_of)
        .exclude(status=m.Alert.WITHDRAWN)
        .order_by("raised_on", "pk")
    )
    out = []
    for a in alerts:
        step = f", step {a.step}" if a.step else ""
        out.append(
            {
                "kind": "alert",
                "pk": a.pk,
                "date": a.raised_on.isoformat(),
                "agency": "Cradle alert",
                "lane": ALERT_LANE,
                "contact": f"{a.severity.capitalize()} alert: {a.rule}{step}",
                "seen": "",
                "found": explanation(a, family.origin, reveal),
                "done": f"{a.action} Due {a.due_on:%d/%m/%Y}. Now {a.status}. "
                f"Raised under settings {version_label(a.settings_hash)}.",
                "mark": ALERT_MARK,
                "severity": a.severity,
            }
        )
    return out


def multi_agency(
    family: m.Family,
    *,
    allowed=frozenset(Sensitivity),
    reveal=None,
    as_of: date,
    gap_days: int | None = None,
    agency: str | None = None,
) -> dict:
    """The partnership's chronology as of a day: entries oldest first (contacts, alerts where
    they fired, and gaps), the people with their addresses (withheld where they must be),
    and the agencies' lanes. JSON-able, so that a review can store it unchanged."""
    from cradle.records.evaluation import rule_settings

    if reveal is None:
        reveal = lambda fact: fact.sensitivity in allowed  # noqa: E731
    gap_days = gap_days if gap_days is not None else rule_settings().contact_gap_days
    entries = []
    for r in reversed(chronology_rows(family, agency, allowed, as_of=as_of)):
        found = ", ".join(x for x in [r["outcome"], *r["findings"]] if x)
        entries.append(
            {
                "kind": "contact",
                "pk": r["pk"],
                "date": r["occurred_on"].isoformat(),
                "agency": r["agency"],
                "lane": r["agency_code"],
                "contact": r["kind"] + (" (entered in error)" if r["entered_in_error"] else ""),
                "seen": ", ".join(r["seen"]) or ("" if r.get("withheld") else "nobody"),
                "found": found,
                "done": r["note"],
                "mark": "Withheld" if r.get("withheld") else r["mark"],
            }
        )
    if not agency:
        entries.extend(_alert_entries(family, as_of, reveal))
    child = family.index_child
    gaps = []
    if child is not None and child.born_on is not None and child.born_on <= as_of:
        end = min(as_of, child.born_on + timedelta(days=364))  # while under one
        for g in find_gaps(seen_days(family, as_of), child.born_on, end, gap_days):
            until = g.next_seen.strftime("%d/%m/%Y") if g.next_seen else "the chronology's end"
            gap = {
                "kind": "gap",
                "pk": 0,
                "date": g.first_unseen.isoformat(),
                "agency": "",
                "lane": "",
                "contact": "No professional saw the baby",
                "seen": "nobody",
                "found": f"{g.days} days without the baby being seen in person "
                f"(last seen {g.last_seen:%d/%m/%Y}, next seen {until})",
                "done": "",
                "mark": GAP_MARK,
                "days": g.days,
                "until": (g.next_seen or end).isoformat(),
            }
            gaps.append(gap)
            entries.append(gap)
    order = {"contact": 0, "alert": 1, "gap": 2}
    entries.sort(key=lambda e: (e["date"], order[e["kind"]], e["pk"]))
    members = list(m.FamilyMember.objects.filter(family=family).select_related("person"))
    addresses = addresses_for(fm.person for fm in members)
    people = [
        {
            "name": fm.person.name,
            "role": _label(fm.role),
            "born": fm.person.born_on.isoformat() if fm.person.born_on else "",
            "address": addresses.get(fm.person_id, "") or "not recorded",
        }
        for fm in sorted(members, key=lambda fm: fm.pk)
    ]
    lanes = []
    for e in entries:
        if e["kind"] == "contact" and e["lane"] not in lanes:
            lanes.append(e["lane"])
    return {
        "title": family.title or family.reference,
        "reference": family.reference,
        "child": child.name if child else "",
        "as_of": as_of.isoformat(),
        "gap_days": gap_days,
        "people": people,
        "entries": entries,
        "lanes": lanes,
        "gaps": len(gaps),
        # Where the timeline picture starts: 300 days before the birth (a pregnancy).
        "since": (child.born_on - timedelta(days=300)).isoformat()
        if child is not None and child.born_on
        else "",
    }
