"""A one-page HTML report of a replay: a timeline picture, the alerts, the chronology.

Self-contained (inline CSS and SVG, no scripts, no external files) so that it can be
mailed, archived and printed. Every piece of case text is escaped.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from pathlib import Path

from cradle.domain import Agency, Event, Outcome
from cradle.rules.context import View
from cradle.rules.episodes import Alert
from cradle.rules.no_access_stepped import failure_label, failures
from cradle.rules.words import FAILED_OUTCOMES
from cradle.scenarios.replay import ReplayResult

MARKING = "OFFICIAL-SENSITIVE"
WIDTH, LEFT, RIGHT, TOP = 1100, 200, 24, 40
LANE, ALERT_ROW = 34, 16
SEVERITY_COLOUR = {"prompt": "#c99a00", "escalate": "#d45f00", "urgent": "#a4001d"}
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; color: #111; margin: 1.5em auto; max-width: 1150px; }
.marking { text-align: center; font-weight: bold; letter-spacing: .1em; border: 2px solid #111;
  padding: .2em; margin: .5em 0; }
h1 { font-size: 1.4em; margin: .6em 0 .2em; } h2 { font-size: 1.15em; margin-top: 1.4em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; margin: .6em 0; }
dt { font-weight: bold; } dd { margin: 0; }
.met { color: #1a6b1a; } .missed { color: #a4001d; font-weight: bold; }
svg { width: 100%; height: auto; border: 1px solid #bbb; }
svg text { font: 11px system-ui, sans-serif; fill: #111; }
svg .lane-label { font-weight: bold; } svg .grid { stroke: #ddd; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { border: 1px solid #bbb; padding: .25em .4em; vertical-align: top; text-align: left; }
th { background: #eee; } thead { display: table-header-group; }
tr.failed td { background: #fde8ea; } tr.failed td:first-child { border-left: 4px solid #a4001d; }
tr.alert td:nth-child(6) { font-weight: bold; white-space: nowrap; }
tr.prompt td:nth-child(6) { color: #7a5c00; } tr.escalate td:nth-child(6) { color: #a34500; }
tr.urgent td:nth-child(6) { color: #a4001d; }
@page { size: A4 landscape; margin: 12mm; }
@media print { body { margin: 0; max-width: none; font-size: 11px; }
  tr, svg { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
"""


def write_html(result: ReplayResult, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")


def _date(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


def failed_contacts(result: ReplayResult) -> dict[str, str]:
    """Event id -> how the contact failed: every failed outcome, and the visiting contacts
    about the index child that the no-access rule counts as failed (as of the last day)."""
    tl, child = result.case.timeline, result.case.index_child
    view = View(tl, result.last_day, result.settings)
    out = {e.id: e.outcome.label for e in tl.events if e.outcome in FAILED_OUTCOMES}
    for e in failures(view, child):
        out[e.id] = failure_label(view, child, e) or "failed"
    return out


def render_html(result: ReplayResult) -> str:
    case, tl = result.case, result.case.timeline
    failed = failed_contacts(result)
    harm = case.harm
    facts = [("Source", escape(case.source)), ("Case file", escape(str(case.path or case.id)))]
    if harm:
        facts.append(("Harm", escape(f"day {harm.day} ({_date(tl.date_of(harm.day))}): "
                                     f"{harm.kind.value.replace('_', ' ')}")))
        first = result.first_warning()
        if first is None:
            lead = "no escalate or urgent alert before the harm"
        else:
            lead = (f"{result.lead_time} days (first escalate/urgent alert: {first.alert.rule}, "
                    f"day {first.day}, {_date(tl.date_of(first.day))})")
        facts.append(("Lead time", escape(lead)))
    facts.append(("Replayed", escape(f"days {result.first_day} to {result.last_day}; "
                                     f"{len(result.raised)} alert(s) raised")))
    facts.append(("Settings hash", f"<code>{escape(result.settings.hash)}</code>"))
    checks = result.check()
    if checks:
        met = sum(r.passed for r in checks)
        items = "".join(
            f'<li class="met">✓ met: {escape(r.detail)}</li>' if r.passed
            else f'<li class="missed">✗ MISSED: {escape(r.detail)}</li>'
            for r in checks
        )
        facts.append(("Checks", f"{met} of {len(checks)} expectations met<ul>{items}</ul>"))
    header = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(case.title)} - Cradle replay</title><style>{STYLE}</style></head><body>"
        f'<div class="marking">{MARKING}</div><h1>{escape(case.title)}</h1><dl>{header}</dl>'
        f"<h2>Timeline</h2>{render_svg(result, failed)}"
        f"<h2>Alerts raised</h2>{_alerts_table(result)}"
        f"<h2>Chronology</h2>{_events_table(result, failed)}"
        f'<div class="marking">{MARKING}</div></body></html>\n'
    )


def _ticks(first: int, last: int, origin: date) -> list[tuple[int, str]]:
    """Month starts between the days (every 1, 2, 3, 6 or 12 months: at most ~14 labels)."""
    every = next((m for m in (1, 2, 3, 6) if (last - first) / 30 / m <= 14), 12)
    start, end = origin + timedelta(days=first), origin + timedelta(days=last)
    out: list[tuple[int, str]] = []
    # k = 12 * year + month - 1, from the month after the first day's to the last day's month
    for k in range(start.year * 12 + start.month, end.year * 12 + end.month):
        when = date(k // 12, k % 12 + 1, 1)
        if when.month % every == 1 % every:
            label = f"{when:%b %Y}" if when.month == 1 or not out else f"{when:%b}"
            out.append(((when - origin).days, label))
    return out


def _shape(kind: str, x: float, y: float, cls: str, title: str, fill: str = "") -> str:
    tip = f"<title>{escape(title)}</title>"
    if kind == "cross":
        d = f"M{x - 5:.1f},{y - 5:.1f}l10,10m-10,0l10,-10"
        return f'<path class="{cls}" d="{d}" stroke="#c0001f" stroke-width="3">{tip}</path>'
    if kind == "circle":
        return (f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{fill}" '
                f'stroke="#111">{tip}</circle>')
    pts = {
        "triangle": [(0, -6), (6, 5), (-6, 5)],
        "diamond": [(0, -7), (7, 0), (0, 7), (-7, 0)],
        "square": [(-5, -5), (5, -5), (5, 5), (-5, 5)],
    }[kind]
    p = " ".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in pts)
    return f'<polygon class="{cls}" points="{p}" fill="{fill}" stroke="#111">{tip}</polygon>'


SEVERITY_SHAPE = {"prompt": "circle", "escalate": "triangle", "urgent": "diamond"}
SEVERITY_MARK = {"prompt": "●", "escalate": "▲", "urgent": "◆"}


def _event_tip(tl, e: Event, failed: dict[str, str]) -> str:
    outcome = e.outcome.label if e.outcome else "no outcome recorded"
    fail = f" - FAILED CONTACT ({failed[e.id]})" if e.id in failed else ""
    note = f"\n{e.note}" if e.note else ""
    return (f"day {e.day} ({_date(tl.date_of(e.day))}) - {e.agency.label}: {e.kind.label}, "
            f"{outcome}{fail}{note}")


def _alert_rows(result: ReplayResult) -> list[tuple[Alert, int]]:
    """Each alert with a sub-row of the alerts lane, so that open bars never overlap."""
    ends: list[int] = []
    out = []
    for a in sorted(result.alerts, key=lambda a: (a.raised_day, a.id)):
        end = a.resolved_day if a.resolved_day is not None else result.last_day
        row = next((i for i, e in enumerate(ends) if e < a.raised_day), len(ends))
        ends[row:row + 1] = [end]
        out.append((a, row))
    return out


def render_svg(result: ReplayResult, failed: dict[str, str]) -> str:
    case, tl = result.case, result.case.timeline
    first, last = result.first_day, result.last_day
    agencies = sorted({e.agency for e in tl.events}, key=list(Agency).index)
    rows = _alert_rows(result)
    n_rows = max((r for _, r in rows), default=-1) + 1
    alerts_top = TOP + LANE * len(agencies) + 8
    bottom = alerts_top + 12 + max(n_rows, 1) * ALERT_ROW + 24
    height = bottom + 64

    def x(day: int) -> float:
        return LEFT + (day - first) / max(last - first, 1) * (WIDTH - LEFT - RIGHT)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
           'aria-labelledby="tl-title tl-desc">',
           f'<title id="tl-title">Timeline of {escape(case.title)}</title>',
           f'<desc id="tl-desc">{len(tl.events)} recorded events in {len(agencies)} agency lanes '
           f"({len(failed)} failed contacts marked with red crosses) and {len(result.alerts)} "
           f"Cradle alerts, from day {first} to day {last}.</desc>"]
    for i, agency in enumerate(agencies):
        out.append(f'<rect x="0" y="{TOP + LANE * i}" width="{WIDTH}" height="{LANE}" '
                   f'fill="{"#f2f2f2" if i % 2 else "#fff"}"/><text class="lane-label" x="8" '
                   f'y="{TOP + LANE * i + LANE / 2 + 4}">{escape(agency.label)}</text>')
    for day, label in _ticks(first, last, tl.origin):
        out.append(f'<line class="grid" x1="{x(day):.1f}" y1="{TOP - 8}" x2="{x(day):.1f}" '
                   f'y2="{bottom}"/><text x="{x(day):.1f}" y="{TOP - 12}" text-anchor="middle">'
                   f"{escape(label)}</text>")
    for i, agency in enumerate(agencies):
        y, prev, n = TOP + LANE * i + LANE / 2, -99.0, 0
        for e in (e for e in tl.events if e.agency == agency):
            n = n + 1 if x(e.day) - prev < 11 else 0  # stagger marks that would touch
            prev, cy = x(e.day), y + (0, -9, 9)[n % 3]
            tip = _event_tip(tl, e, failed)
            if e.id in failed:
                out.append(_shape("cross", x(e.day), cy, "mark failed", tip))
            elif e.outcome == Outcome.ATTENDED:
                out.append(_shape("circle", x(e.day), cy, "mark attended", tip, "#2b6cb0"))
            else:
                out.append(_shape("square", x(e.day), cy, "mark other", tip, "#fff"))
    out.append(f'<line x1="0" y1="{alerts_top}" x2="{WIDTH}" y2="{alerts_top}" stroke="#111"/>'
               f'<text class="lane-label alerts" x="8" y="{alerts_top + 18}">Cradle alerts</text>')
    for a, row in rows:
        sev = a.severity.value
        y = alerts_top + 12 + row * ALERT_ROW + ALERT_ROW / 2
        end = a.resolved_day if a.resolved_day is not None else last
        until = f"resolved day {a.resolved_day}" if a.resolved_day is not None else "still open"
        step = f", step {a.step}" if a.step else ""
        who = f" for {a.child}" if a.child != case.index_child else ""
        tip = (f"#{a.id} {a.rule}{step} ({sev}){who}, raised day {a.raised_day} "
               f"({_date(tl.date_of(a.raised_day))}), {until}\n{a.finding.explain()}")
        x0, colour = x(a.raised_day), SEVERITY_COLOUR[sev]
        out.append(f'<rect x="{x0:.1f}" y="{y - 4}" width="{max(x(end) - x0, 2):.1f}" height="8" '
                   f'fill="{colour}" fill-opacity="0.3"/>')
        out.append(_shape(SEVERITY_SHAPE[sev], x0, y, f"alert-marker {sev}", tip, colour))
        out.append(f'<text x="{x0 - 9:.1f}" y="{y + 4}" text-anchor="end">{a.id}</text>')
    if first <= 0 <= last:
        out.append(f'<line class="birth" x1="{x(0):.1f}" y1="{TOP - 8}" x2="{x(0):.1f}" '
                   f'y2="{bottom}" stroke="#2b6cb0" stroke-dasharray="4 3"/><text x="{x(0):.1f}" '
                   f'y="{bottom + 14}" text-anchor="middle">day 0 (birth)</text>')
    if case.harm and first <= case.harm.day <= last:
        hx = x(case.harm.day)
        out.append(f'<line class="harm" data-day="{case.harm.day}" x1="{hx:.1f}" y1="{TOP - 8}" '
                   f'x2="{hx:.1f}" y2="{bottom}" stroke="#a4001d" stroke-width="2.5"/>'
                   f'<text x="{hx - 4:.1f}" y="{bottom + 28}" text-anchor="end" font-weight="bold">'
                   f"harm (day {case.harm.day})</text>")
    out.append(_legend(bottom + 44))
    out.append("</svg>")
    return "\n".join(out)


def _legend(y: int) -> str:
    items = [("circle", "attended contact", "#2b6cb0"), ("cross", "failed contact", ""),
             ("square", "other (no outcome, cancelled by service)", "#fff")]
    items += [(SEVERITY_SHAPE[s], f"{s} alert (bar: open)", c) for s, c in SEVERITY_COLOUR.items()]
    out, lx = [], 8.0
    for shape, label, fill in items:
        out.append(_shape(shape, lx + 6, y, "legend", label, fill).replace("<title>", "<desc>")
                   .replace("</title>", "</desc>"))
        out.append(f'<text x="{lx + 16:.1f}" y="{y + 4}">{escape(label)}</text>')
        lx += 26 + 6.2 * len(label)
    return "".join(out)


def _table(heads: tuple[str, ...], rows: list[tuple[str, list[str]]]) -> str:
    """A table of (row class, cells); the cells are escaped here."""
    head = "".join(f"<th>{h}</th>" for h in heads)
    body = "".join(
        f'<tr class="{cls}">' + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>"
        for cls, cells in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _alerts_table(result: ReplayResult) -> str:
    tl, index = result.case.timeline, result.case.index_child
    if not result.raised:
        return "<p>No alerts were raised.</p>"
    rows = []
    for c in result.raised:
        a, f = c.alert, c.finding
        child = f"[{a.child}] " if a.child != index else ""
        why = f" ({c.note})" if c.note else ""
        resolved = "open at end" if a.resolved_day is None else (
            f"{a.resolved_day} ({a.resolution or a.status})")
        sev = f.severity.value
        rows.append((f"alert {sev}", [a.id, c.day, _date(tl.date_of(c.day)), a.rule, f.step or "",
                                      f"{SEVERITY_MARK[sev]} {sev}", child + f.explain() + why,
                                      resolved]))
    heads = ("#", "Day", "Date", "Rule", "Step", "Severity", "Explanation", "Resolved (day)")
    return _table(heads, rows)


def _events_table(result: ReplayResult, failed: dict[str, str]) -> str:
    tl = result.case.timeline
    rows = []
    for e in tl.events:
        kind = e.kind.label + (f" ({e.channel.value.replace('_', ' ')})" if e.channel else "")
        kind += f" to {e.to_agency.label}" if e.to_agency else ""
        outcome = e.outcome.label if e.outcome else ""
        if e.id in failed:
            outcome = f"✗ FAILED: {failed[e.id]}"
        note = e.note + (f" [recorded day {e.recorded_day}]" if e.recorded_day != e.day else "")
        rows.append(("failed" if e.id in failed else "event", [
            e.day, _date(tl.date_of(e.day)), e.agency.label, kind, outcome,
            ", ".join(e.seen) or "-", ", ".join(f.label for f in e.findings), note]))
    return _table(("Day", "Date", "Agency", "Kind", "Outcome", "Seen", "Findings", "Note"), rows)
