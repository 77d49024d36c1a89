"""Pictures drawn on the server as SVG: the chronology's timeline (one lane per agency) and
the dashboards' bar charts. Styled by classes from ``partnership/partnership.css`` (the
pages allow no inline style); a PDF, which has no page stylesheet for them, embeds the same
rules in the SVG itself (``embed_css``)."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

CSS = """
.cr-lane-label, .cr-axis { font: 11px sans-serif; fill: #212b32; }
.cr-lane { stroke: #d8dde0; stroke-width: 1; }
.cr-gap { fill: #ffeb3b; fill-opacity: 0.35; }
.cr-contact { fill: #005eb8; }
.cr-failed { fill: #d5281b; }
.cr-unseen { fill: #fff; stroke: #d5281b; stroke-width: 2; }
.cr-withheld { fill: #768692; }
.cr-alert-prompt { fill: #ffb81c; }
.cr-alert-escalate { fill: #ed8b00; }
.cr-alert-urgent { fill: #8a1538; }
.cr-bar { fill: #005eb8; }
.cr-bar-b { fill: #ffb81c; }
.cr-bar-c { fill: #d5281b; }
"""

LEFT, RIGHT, TOP, LANE = 190, 20, 30, 28


def _lane_name(code: str) -> str:
    from cradle.domain import Agency

    if code == "cradle":
        return "Cradle alerts"
    try:
        label = Agency(code).label.removeprefix("the ")
        return label[0].upper() + label[1:]
    except ValueError:
        return code


def timeline(chronology: dict, *, width: int = 960, embed_css: bool = False) -> str:
    """The chronology as a picture: a lane per agency, failed contacts and unseen-baby
    visits drawn apart, alerts where they fired, and the gaps shaded across every lane."""
    # The picture starts with the expected baby (a mother's records from years before would
    # squeeze the months that matter into a corner); the table holds every entry.
    since = chronology.get("since") or ""
    earlier = [e for e in chronology["entries"] if e["date"] < since]
    entries = [e for e in chronology["entries"] if e["date"] >= since]
    lanes = [code for code in chronology["lanes"] if any(e["lane"] == code for e in entries)]
    if any(e["kind"] == "alert" for e in entries):
        lanes.append("cradle")
    days = [date.fromisoformat(e["date"]) for e in entries]
    days += [date.fromisoformat(e["until"]) for e in entries if e["kind"] == "gap"]
    title = f"Timeline of the chronology of {escape(chronology['title'])}"
    if not days:
        days = [date.fromisoformat(chronology["as_of"])]
    first, last = min(days), max(days)
    span = max((last - first).days, 1)
    height = TOP + LANE * max(len(lanes), 1) + 30
    plot = width - LEFT - RIGHT

    def x(d: date) -> float:
        return round(LEFT + plot * (d - first).days / span, 1)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cr-timeline" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="cr-tl-title cr-tl-desc">',
        f'<title id="cr-tl-title">{title}</title>',
        f'<desc id="cr-tl-desc">{len(entries)} entries from {first:%d %B %Y} to {last:%d %B %Y}, '
        f"one lane per agency; the table gives every entry"
        + (f", and {len(earlier)} earlier ones" if earlier else "")
        + ".</desc>",
    ]
    if embed_css:
        out.append(f"<style>{CSS}</style>")
    lane_y = {code: TOP + LANE * i + LANE // 2 for i, code in enumerate(lanes)}
    for e in entries:
        if e["kind"] == "gap":
            x0, x1 = x(date.fromisoformat(e["date"])), x(date.fromisoformat(e["until"]))
            out.append(
                f'<rect class="cr-gap" x="{x0}" y="{TOP}" width="{max(x1 - x0, 1)}" '
                f'height="{LANE * len(lanes)}"><title>{escape(e["found"])}</title></rect>'
            )
    for code, y in lane_y.items():
        out.append(f'<line class="cr-lane" x1="{LEFT}" y1="{y}" x2="{width - RIGHT}" y2="{y}"/>')
        out.append(
            # Left-aligned: WeasyPrint's SVG drawing ignores text-anchor, the browser does not.
            f'<text class="cr-lane-label" x="8" y="{y + 4}">{escape(_lane_name(code))}</text>'
        )
    # Month ticks along the bottom.
    tick = date(first.year, first.month, 1)
    base = TOP + LANE * len(lanes) + 16
    while tick <= last:
        if tick >= first:
            out.append(
                f'<text class="cr-axis" x="{x(tick)}" y="{base}" text-anchor="middle">{tick:%b %Y}</text>'
            )
        tick = (tick + timedelta(days=32)).replace(day=1)
    for e in entries:
        if e["kind"] == "gap":
            continue
        cx = x(date.fromisoformat(e["date"]))
        label = escape(f"{e['date']}: {e['agency']}, {e['contact']}. {e['mark']}".strip())
        if e["kind"] == "alert":
            y = lane_y["cradle"]
            out.append(
                f'<polygon class="cr-alert-{e["severity"]}" points="{cx},{y - 8} {cx + 7},{y + 6} '
                f'{cx - 7},{y + 6}"><title>{label}</title></polygon>'
            )
            continue
        y = lane_y.get(e["lane"], TOP)
        if e["mark"] == "Failed contact":
            out.append(
                f'<rect class="cr-failed" x="{cx - 5}" y="{y - 5}" width="10" height="10">'
                f"<title>{label}</title></rect>"
            )
        elif e["mark"] == "Baby not seen":
            out.append(
                f'<circle class="cr-unseen" cx="{cx}" cy="{y}" r="5"><title>{label}</title></circle>'
            )
        elif e["mark"] == "Withheld":
            out.append(
                f'<circle class="cr-withheld" cx="{cx}" cy="{y}" r="4"><title>{label}</title></circle>'
            )
        else:
            out.append(
                f'<circle class="cr-contact" cx="{cx}" cy="{y}" r="5"><title>{label}</title></circle>'
            )
    out.append("</svg>")
    return "\n".join(out)


def bars(
    title: str,
    rows: list[tuple[str, list[float]]],
    series: list[str],
    *,
    unit: str = "",
    width: int = 720,
    ident: str = "chart",
) -> str:
    """A horizontal grouped bar chart: one group per row, one bar per series."""
    classes = ["cr-bar", "cr-bar-b", "cr-bar-c"]
    bar_h, gap = 14, 10
    group = bar_h * len(series) + gap
    height = 40 + group * max(len(rows), 1) + 20 * len(series)
    top = max((v for _, vs in rows for v in vs), default=0) or 1
    if unit == "%":
        top = 100.0
    # Room for the longest label (about 7 pixels a character at 12 pixels).
    left = min(max(LEFT, 16 + 7 * max((len(label) for label, _ in rows), default=0)), width // 2)
    plot = width - left - 80
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cr-chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{ident}-title">',
        f'<title id="{ident}-title">{escape(title)} (the table below gives the figures)</title>',
    ]
    y = 30
    for label, values in rows:
        out.append(
            f'<text class="cr-lane-label" x="{left - 8}" y="{y + bar_h}" text-anchor="end">{escape(label)}</text>'
        )
        for i, v in enumerate(values):
            w = round(plot * v / top, 1)
            out.append(
                f'<rect class="{classes[i % 3]}" x="{left}" y="{y}" width="{w}" height="{bar_h - 2}">'
                f"<title>{escape(label)}, {escape(series[i])}: {v:g}{unit}</title></rect>"
            )
            out.append(
                f'<text class="cr-axis" x="{left + w + 4}" y="{y + bar_h - 3}">{v:g}{unit}</text>'
            )
            y += bar_h
        y += gap
    y += 10
    for i, name in enumerate(series):
        out.append(f'<rect class="{classes[i % 3]}" x="{left}" y="{y}" width="12" height="12"/>')
        out.append(f'<text class="cr-axis" x="{left + 18}" y="{y + 10}">{escape(name)}</text>')
        y += 20
    out.append("</svg>")
    return "\n".join(out)
