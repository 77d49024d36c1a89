"""A case file, loaded: the family's timeline plus what the case says should happen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cradle.domain import Harm, Timeline


@dataclass(frozen=True, slots=True)
class Expectation:
    """One ``expect`` entry of a case file (semantics in the format README).

    Either a rule must raise an alert for ``child`` on a day in
    [``from_day``, ``by_day``] (at ``step`` or higher for stepped rules), or,
    with ``never``, it must raise none (at ``step`` or higher) up to ``until_day``.
    """

    rule: str
    child: str
    by_day: int | None = None
    from_day: int | None = None
    step: int | None = None
    never: bool = False
    until_day: int | None = None
    entry: str = ""

    def describe(self) -> str:
        step = f" at step {self.step} or higher" if self.step else ""
        if self.never:
            until = f" up to day {self.until_day}" if self.until_day is not None else ""
            return f"{self.rule}{step} never fires for {self.child}{until}"
        window = f"from day {self.from_day} " if self.from_day is not None else ""
        return f"{self.rule}{step} fires for {self.child} {window}by day {self.by_day}"


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    title: str
    source: str
    timeline: Timeline
    due_day: int = 0
    harm: Harm | None = None
    expectations: tuple[Expectation, ...] = ()
    path: Path | None = None

    @property
    def index_child(self) -> str:
        assert self.timeline.index_child is not None
        return self.timeline.index_child

    @property
    def first_day(self) -> int:
        first = self.timeline.first_day
        return first if first is not None else 0

    @property
    def last_day(self) -> int:
        """The last day replay evaluates: the last event (as recorded) or the harm."""
        days = [d for d in (self.timeline.last_day, self.harm.day if self.harm else None) if d is not None]
        return max(days) if days else 0
