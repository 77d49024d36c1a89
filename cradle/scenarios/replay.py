"""Replay a case day by day: when would each rule have fired, and how long before the harm."""

from __future__ import annotations

from dataclasses import dataclass, field

from cradle.domain import Severity
from cradle.rules import evaluate
from cradle.rules.episodes import Alert, Change, EpisodeTracker
from cradle.rules.settings import DEFAULT_SETTINGS, Settings
from cradle.scenarios.case import Case, Expectation


@dataclass(frozen=True, slots=True)
class ExpectationResult:
    expectation: Expectation
    passed: bool
    detail: str


@dataclass
class ReplayResult:
    case: Case
    settings: Settings
    first_day: int
    last_day: int
    changes: list[Change] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    @property
    def raised(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "raised"]

    def first_warning(self, child: str | None = None) -> Change | None:
        """The first escalate or urgent alert raised for the child on or before the harm."""
        child = child or self.case.index_child
        harm_day = self.case.harm.day if self.case.harm else self.last_day
        for c in self.raised:
            if c.alert.child == child and c.finding.severity in (Severity.ESCALATE, Severity.URGENT) and c.day <= harm_day:
                return c
        return None

    @property
    def lead_time(self) -> int | None:
        """Days from the first escalate/urgent alert to the harm (None without either)."""
        first = self.first_warning()
        if self.case.harm is None or first is None:
            return None
        return self.case.harm.day - first.day

    def check(self) -> list[ExpectationResult]:
        return [check_expectation(self, x) for x in self.case.expectations]


def replay_days(case: Case) -> tuple[int, int]:
    first = case.first_day
    last = case.last_day
    for x in case.expectations:
        for day in (x.by_day, x.until_day):
            if day is not None:
                last = max(last, day)
    return first, last


def replay(case: Case, settings: Settings = DEFAULT_SETTINGS) -> ReplayResult:
    """Evaluate every day from the first event to the last (and to the harm and
    the expectations' days), feeding the alert episodes."""
    first, last = replay_days(case)
    tracker = EpisodeTracker(case.timeline.origin)
    result = ReplayResult(case=case, settings=settings, first_day=first, last_day=last)
    for day in range(first, last + 1):
        result.changes.extend(tracker.advance(day, evaluate(case.timeline, day, settings)))
    result.alerts = tracker.alerts
    return result


def check_expectation(result: ReplayResult, x: Expectation) -> ExpectationResult:
    raised = [
        c
        for c in result.raised
        if c.alert.rule == x.rule
        and c.alert.child == x.child
        and (x.step is None or (c.finding.step or 0) >= x.step)
    ]
    if x.never:
        until = x.until_day if x.until_day is not None else result.case.last_day
        bad = [c for c in raised if c.day <= until]
        if bad:
            days = ", ".join(str(c.day) for c in bad)
            return ExpectationResult(x, False, f"{x.describe()}: it fired on day {days}")
        return ExpectationResult(x, True, x.describe())
    start = x.from_day if x.from_day is not None else result.case.first_day
    hit = [c for c in raised if start <= c.day <= (x.by_day if x.by_day is not None else result.last_day)]
    if hit:
        return ExpectationResult(x, True, f"{x.describe()}: fired on day {hit[0].day}")
    if raised:
        days = ", ".join(str(c.day) for c in raised)
        return ExpectationResult(x, False, f"{x.describe()}: it fired only on day {days}")
    return ExpectationResult(x, False, f"{x.describe()}: it never fired")
