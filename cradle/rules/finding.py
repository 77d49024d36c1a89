"""What a rule returns: a finding, with its evidence and structured facts.

A finding never carries a finished sentence. It carries facts (what, when,
which event, which agency, how sensitive), and the explanation is written from
them when it is shown, so that a reader who may not see, say, a father's mental
health history sees that a concern exists and whom to ask, never the detail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import NamedTuple

from cradle.domain import Agency, Recipient, Sensitivity, Severity
from cradle.domain.calendar import add_working_days

Reveal = Callable[["Fact"], bool]
DayLabel = Callable[[int], str]


def show_all(fact: Fact) -> bool:
    return True


def day_number(day: int) -> str:
    return f"day {day}"


class Fact(NamedTuple):
    """One structured fact behind a finding. (NamedTuples, like ``Event``: findings
    are made for whole populations, and these are several times cheaper to build
    than frozen dataclasses while just as immutable.)"""

    what: str  # a vocabulary word or a rule's own term ("no_access", "last_seen", a factor)
    label: str  # how the detail reads ("no access", "anxiety")
    day: int | None = None
    event: str | None = None
    agency: Agency | None = None
    person: str | None = None
    sensitivity: Sensitivity = Sensitivity.GENERAL

    def render(self, reveal: Reveal = show_all, day_label: DayLabel = day_number) -> str:
        if reveal(self):
            when = f" on {day_label(self.day)}" if self.day is not None else ""
            by = f" ({self.agency.label})" if self.agency is not None else ""
            return f"{self.label}{when}{by}"
        ask = self.agency.label if self.agency is not None else "the safeguarding lead"
        return f"a concern is recorded that you may not see in detail; ask {ask}"


class RuleFinding(NamedTuple):
    rule: str
    version: int
    child: str
    severity: Severity
    step: int | None
    scope: str  # what the rule counts separately (an agency, a touchpoint, an adult); "" per child
    evidence: tuple[str, ...]  # ids of the events and relationships behind it
    facts: tuple[Fact, ...]
    action: str
    for_whom: tuple[Recipient, ...]
    due_working_days: int
    source: str
    settings_hash: str
    agency: Agency | None = None  # the agency the task belongs to, where the rule names one

    @property
    def key(self) -> tuple[str, str, int | None, str]:
        """What identifies the alert a finding belongs to (with the day it began)."""
        return (self.rule, self.child, self.step, self.scope)

    def due_date(self, raised_on: date) -> date:
        return add_working_days(raised_on, self.due_working_days)

    def explain(self, reveal: Reveal = show_all, day_label: DayLabel = day_number) -> str:
        from cradle.rules import explain

        return explain(self, reveal, day_label)
