"""A waterfall of Splink's match weights as plain SVG geometry (no script, no style
attribute: the page's Content-Security-Policy allows neither). Each bar starts where
the running total stood and ends where this comparison leaves it; bars for the
match point right (class ``for``), bars against point left (``against``)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 560  # drawing width of the bars, in SVG units
ROW = 28
LABEL = 230  # room for the labels on the left


@dataclass(frozen=True)
class Bar:
    comparison: str
    level: str
    weight: float
    total: float
    x: float
    width: float
    y: float
    kind: str  # "for", "against" or "none"


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    total: float
    probability: float
    height: int
    width: int
    zero_x: float
    label_x: int
    total_x: float


def waterfall(weights: list[dict]) -> Chart:
    running, points = 0.0, [0.0]
    steps = []
    for w in weights:
        start = running
        running += float(w["weight"])
        points.append(running)
        steps.append((w, start, running))
    low, high = min(points), max(points)
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return round(LABEL + (value - low) / span * WIDTH, 1)

    bars = []
    for i, (w, start, end) in enumerate(steps):
        a, b = sorted((x(start), x(end)))
        weight = float(w["weight"])
        bars.append(
            Bar(
                comparison=str(w["comparison"]).replace("_", " "),
                level=str(w["level"]),
                weight=round(weight, 2),
                total=round(end, 2),
                x=a,
                width=max(b - a, 1.0),
                y=i * ROW + 8,
                kind="for" if weight > 0 else ("against" if weight < 0 else "none"),
            )
        )
    probability = 2**running / (1 + 2**running)
    return Chart(
        bars=bars,
        total=round(running, 2),
        probability=probability,
        height=len(bars) * ROW + 24,
        width=LABEL + WIDTH + 20,
        zero_x=x(0.0),
        label_x=LABEL - 8,
        total_x=x(running),
    )
