"""The sweep raises the alerts that come with the passage of time, once."""

from datetime import timedelta

import pytest

from cradle.records import models as m
from cradle.records.loading import load_case
from cradle.records.sweep import claim, sweep

pytestmark = pytest.mark.django_db


def test_the_sweep_raises_what_time_brings(calderdale, today):
    family = load_case(calderdale, today, today_is_day=30).family
    assert not family.alerts.filter(rule="under-one-contact-gap").exists()
    later = today + timedelta(days=8)  # day 38: the baby unseen since day 24
    report = sweep(later, processes=1, progress=False)
    assert report.evaluated == 1
    assert family.alerts.filter(rule="under-one-contact-gap", status="open", raised_on=later).count() == 1


def test_a_family_is_claimed_once_a_day_so_a_second_sweep_raises_nothing(calderdale, today):
    family = load_case(calderdale, today, today_is_day=30).family
    later = today + timedelta(days=8)
    first = sweep(later, processes=1, progress=False)
    alerts = m.Alert.objects.count()
    second = sweep(later, processes=1, progress=False)
    assert first.evaluated == 1 and second.evaluated == 0
    assert m.Alert.objects.count() == alerts
    assert not claim(family.pk, later)
    assert claim(family.pk, later + timedelta(days=1))
