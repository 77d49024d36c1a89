"""Alert episodes: one alert per episode, a new one per step, decisions respected."""

from datetime import date

import pytest

from cradle.rules import evaluate
from cradle.rules.episodes import EpisodeTracker
from tests.builders import ev, family, visit


def run(case, first, last, decide=None):
    tracker = EpisodeTracker(case.timeline.origin)
    changes = []
    for day in range(first, last + 1):
        changes += tracker.advance(day, evaluate(case.timeline, day))
        if decide and day in decide:
            rule, decision, reason = decide[day]
            alert = next(a for a in tracker.open_alerts if a.rule == rule)
            tracker.decide(alert.id, decision, day, reason)
    return tracker, changes


def of(changes, rule, kind="raised"):
    return [(c.day, c.finding.step) for c in changes if c.alert.rule == rule and c.kind == kind]


def test_a_condition_that_persists_is_one_alert():
    case = family([ev(30, "gp", "immunisation", outcome="was_not_brought")])
    _, changes = run(case, 25, 60)
    assert of(changes, "was-not-brought") == [(30, None)]


def test_a_stepped_rule_raises_a_new_alert_at_each_step_and_resolves_the_lower():
    case = family([visit(10, "no_access"), visit(17, "no_access"), visit(24, "no_access"), visit(31, "no_access"), visit(40)])
    _, changes = run(case, 0, 45)
    assert of(changes, "no-access-stepped") == [(10, 1), (17, 2), (24, 3)]
    resolved = [(c.day, c.finding.step, c.note) for c in changes if c.alert.rule == "no-access-stepped" and c.kind == "resolved"]
    assert resolved == [(17, 1, "stepped up"), (24, 2, "stepped up"), (40, 3, "condition cleared")]
    updated = [c.day for c in changes if c.alert.rule == "no-access-stepped" and c.kind == "updated"]
    assert updated == [31]  # the fourth failure joins the open step-3 alert


def test_a_dismissed_alert_stays_closed_until_new_evidence_which_cites_it():
    case = family([visit(10, "no_access"), visit(17, "no_access"), visit(24, "no_access"), visit(31, "no_access")])
    _tracker, changes = run(case, 0, 35, decide={25: ("no-access-stepped", "dismissed", "family on holiday, confirmed by GP")})
    raised = [c for c in changes if c.alert.rule == "no-access-stepped" and c.kind == "raised"]
    assert [c.day for c in raised] == [10, 17, 24, 31]
    assert raised[-1].alert.follows == raised[-2].alert.id
    assert "dismissed" in raised[-1].note


def test_a_dismissal_needs_a_reason():
    case = family([visit(10, "no_access")])
    tracker, _ = run(case, 0, 10)
    (alert,) = [a for a in tracker.open_alerts if a.rule == "no-access-stepped"]
    with pytest.raises(ValueError, match="reason"):
        tracker.decide(alert.id, "dismissed", 10, "  ")


def test_the_same_evidence_never_raises_twice():
    case = family([visit(10, "no_access")])
    f = evaluate(case.timeline, 10, rules=["no-access-stepped"])
    assert f and all(x.evidence for x in f)
    tracker = EpisodeTracker()
    assert [c.kind for c in tracker.advance(10, f)] == ["raised"] * len(f)
    tracker.advance(11, [])
    again = tracker.advance(12, f)
    assert {c.kind for c in again} == {"reopened"}
    assert len(tracker.alerts) == len(f)


def test_due_dates_count_working_days_and_skip_bank_holidays():
    # Day 0 is 2024-01-08; day 74 is Friday 2024-03-22; Good Friday and Easter Monday fall after.
    case = family([visit(74, "no_access")])
    _tracker, changes = run(case, 74, 74)
    (alert,) = [c.alert for c in changes if c.alert.rule == "no-access-stepped"]
    assert case.timeline.date_of(74) == date(2024, 3, 22)
    # 5 working days: 25, 26, 27, 28 March; Good Friday (29) and Easter Monday (1 April) skipped; 2 April.
    assert alert.due == date(2024, 4, 2)
