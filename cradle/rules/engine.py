"""Runs every rule, in a fixed order, for every baby in a family, as of one day.

Rules are pure: (timeline, day, settings) -> findings. Where one rule depends
on another's condition (a baby is "vulnerable", there is an "open urgent
alert"), it reads the other's result from this same evaluation, which is why
the order is fixed. Pauses (a baby placed away from the parents) and moves out
of the area freeze the affected rules at the state they had before.
"""

from __future__ import annotations

from collections.abc import Iterable

from cradle.domain import Timeline
from cradle.rules import (
    child_protection_flag,
    cumulative_vulnerability,
    econsult_infant,
    icon_not_delivered,
    injury_in_non_mobile_infant,
    male_carer_unknown,
    medication_stopped_in_pregnancy,
    nnu_discharge_without_parenting_assessment,
    no_access_stepped,
    repeat_unscheduled_care,
    seen_without_baby,
    under_one_contact_gap,
    unlinked_household_adult,
    unshared_parent_risk,
    was_not_brought,
)
from cradle.rules.context import View
from cradle.rules.finding import RuleFinding
from cradle.rules.settings import DEFAULT_SETTINGS, Settings

# The evaluation order: a rule may read the conditions of the rules before it.
RULES = (
    injury_in_non_mobile_infant,
    child_protection_flag,
    no_access_stepped,
    was_not_brought,
    econsult_infant,
    seen_without_baby,
    repeat_unscheduled_care,
    icon_not_delivered,
    nnu_discharge_without_parenting_assessment,
    medication_stopped_in_pregnancy,
    male_carer_unknown,
    unlinked_household_adult,
    unshared_parent_risk,
    cumulative_vulnerability,
    under_one_contact_gap,
)
BY_ID = {rule.ID: rule for rule in RULES}


def evaluate(
    timeline: Timeline,
    day: int,
    settings: Settings = DEFAULT_SETTINGS,
    rules: Iterable[str] | None = None,
) -> list[RuleFinding]:
    """Every finding for every baby in the family as of the end of ``day``."""
    view = View(timeline, day, settings)
    wanted = None if rules is None else set(rules)
    out: list[RuleFinding] = []
    results = view.results
    for child in view.babies():
        for rule in RULES:
            if view.simple:
                key = (rule.ID, child)
                findings = results.get(key)
                if findings is None:
                    findings = results[key] = rule.evaluate(view, child)
            else:
                findings = _child_rule(view, child, rule)
            if findings and (wanted is None or rule.ID in wanted):
                out.extend(findings)
    return out


def evaluate_view(view: View) -> list[RuleFinding]:
    out: list[RuleFinding] = []
    for child in view.babies():
        for rule in RULES:
            out.extend(_child_rule(view, child, rule))
    return out


def _child_rule(view: View, child: str, rule, frozen: bool = False) -> list[RuleFinding]:
    if not frozen and view.simple:
        # No placements and no moves in this family: the common case, kept quick.
        key = (rule.ID, child)
        found = view.results.get(key)
        if found is None:
            found = view.results[key] = rule.evaluate(view, child)
        return found
    return _child_rule_frozen(view, child, rule, frozen)


def _child_rule_frozen(view: View, child: str, rule, frozen: bool) -> list[RuleFinding]:
    key = (rule.ID, child)
    if key in view.results:
        return view.results[key]
    findings = None
    if not frozen:
        moved = view.moved_on(child)
        if moved is not None and moved < view.day:
            # Moved out of the area: alerts stay open until the record is transferred.
            findings = _frozen(view.as_of(moved), child, rule)
        elif rule.PAUSABLE:
            since = view.paused_since(child)
            if since is not None:
                findings = _frozen(view.as_of(since - 1), child, rule)
    if findings is None:
        findings = rule.evaluate(view, child)
    view.results[key] = findings
    return findings


def _frozen(view: View, child: str, rule) -> list[RuleFinding]:
    """The rule's findings on an earlier day (with the rules it depends on computed there)."""
    if not (view.is_under_one(child) or view.is_expected(child)):
        return []
    for r in RULES:
        _child_rule(view, child, r, frozen=True)
        if r is rule:
            break
    return view.results[(rule.ID, child)]
