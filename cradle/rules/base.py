"""What every rule module shares: building findings and facts, and writing them out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import ModuleType

from cradle.domain import Agency, Event, Finding, Recipient, Severity
from cradle.rules.context import View
from cradle.rules.finding import DayLabel, Fact, Reveal, RuleFinding
from cradle.rules.words import sensitivity_of


def make(
    view: View,
    rule: ModuleType,
    child: str,
    *,
    severity: Severity,
    facts: Sequence[Fact],
    action: str,
    for_whom: Iterable[Recipient],
    due: int,
    evidence: Iterable[str] = (),
    step: int | None = None,
    scope: str = "",
    agency: Agency | None = None,
) -> RuleFinding:
    return RuleFinding(
        rule.ID,
        rule.VERSION,
        child,
        severity,
        step,
        scope,
        tuple(dict.fromkeys(evidence)),
        tuple(facts),
        action,
        tuple(for_whom),
        due,
        rule.SOURCE,
        view.settings_hash,
        agency,
    )


def word_fact(view: View, e: Event, word: Finding, person: str | None) -> Fact:
    adult = person is not None and not view.people[person].is_child_role
    return Fact(
        what=word.value,
        label=word.label,
        day=e.day,
        event=e.id,
        agency=e.agency,
        person=person,
        sensitivity=sensitivity_of(word, e.agency, adult),
    )


def event_fact(e: Event, label: str, what: str | None = None, person: str | None = None) -> Fact:
    return Fact(
        what=what or e.kind.value,
        label=label,
        day=e.day,
        event=e.id,
        agency=e.agency,
        person=person,
        sensitivity=sensitivity_of(None, e.agency, False),
    )


def render(facts: Iterable[Fact], reveal: Reveal, day_label: DayLabel) -> str:
    """Facts as a phrase, grouping those that share a label and an agency:
    "no access on day -42, -21, 23 (health visiting)". Facts the reader may not
    see in detail become one line saying a concern exists and whom to ask."""
    groups: dict[tuple[str, Agency | None], list[Fact]] = {}
    hidden: list[Agency | None] = []
    for f in facts:
        if reveal(f):
            groups.setdefault((f.label, f.agency), []).append(f)
        elif f.agency not in hidden:
            hidden.append(f.agency)
    parts = []
    for (label, agency), fs in groups.items():
        days = [day_label(f.day) if i == 0 else _bare(day_label(f.day)) for i, f in enumerate(fs) if f.day is not None]
        when = f" on {', '.join(days)}" if days else ""
        by = f" ({agency.label})" if agency is not None else ""
        parts.append(f"{label}{when}{by}")
    if hidden:
        ask = " or ".join(a.label if a else "the safeguarding lead" for a in hidden)
        parts.append(f"a further concern is recorded that you may not see in detail (ask {ask})")
    return "; ".join(parts)


def _bare(label: str) -> str:
    return label[4:] if label.startswith("day ") else label


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
