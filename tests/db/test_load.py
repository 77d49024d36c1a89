"""Loading case files into the database, and the rows mapping back to the same timeline."""

import pytest

from cradle.records import models as m
from cradle.records.loading import load_case
from cradle.records.timeline import timeline_for
from cradle.rules import evaluate
from cradle.scenarios.replay import replay

pytestmark = pytest.mark.django_db


def _rules(findings):
    return sorted((f.rule, f.step or 0, f.severity.value) for f in findings)


def test_a_loaded_case_evaluates_as_the_case_file_does(calderdale, today):
    report = load_case(calderdale, today)
    tl = timeline_for(report.family)
    assert len(tl.events) == len(calderdale.timeline.events)
    for day in (-150, -21, 23, 32, 38, 45):
        assert _rules(evaluate(tl, day)) == _rules(evaluate(calderdale.timeline, day)), day


def test_loading_twice_changes_nothing(calderdale, today):
    load_case(calderdale, today)
    counts = (m.Person.objects.count(), m.Contact.objects.count(), m.Relationship.objects.count(), m.Alert.objects.count())
    again = load_case(calderdale, today)
    assert not again.created and again.contacts_added == 0
    assert counts == (m.Person.objects.count(), m.Contact.objects.count(), m.Relationship.objects.count(), m.Alert.objects.count())


def test_alerts_carry_the_days_they_were_raised(calderdale, today):
    report = load_case(calderdale, today)
    origin = report.family.origin
    raised = {(a.rule, a.step, (a.raised_on - origin).days) for a in m.Alert.objects.all()}
    expected = {(c.alert.rule, c.finding.step, c.day) for c in replay(calderdale).raised}
    assert raised == expected


def test_today_is_day_shifts_the_dates_and_loads_only_what_was_recorded_by_then(calderdale, today):
    report = load_case(calderdale, today, today_is_day=40)
    family = report.family
    assert (today - family.origin).days == 40
    assert not m.Contact.objects.filter(occurred_on__gt=today).exists()
    assert m.Contact.objects.count() == len([e for e in calderdale.timeline.events if e.recorded_day <= 40])
    live = set(family.alerts.filter(status__in=m.Alert.LIVE).values_list("rule", flat=True))
    assert "under-one-contact-gap" in live  # raised on day 38: the baby unseen since day 24
    assert "injury-in-non-mobile-infant" not in live  # the harm, on day 45, has not happened yet
    # The father was recorded only at the ED on day 45: today he is still unknown.
    assert "male-carer-unknown" in live


def test_a_bad_case_file_changes_nothing(tmp_path, capsys):
    from cradle.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("format: cradle-scenario/1\n")
    assert main(["load", str(bad)]) == 2
    assert m.Family.objects.count() == 0
    assert "missing required key" in capsys.readouterr().err
