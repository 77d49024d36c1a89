"""Settings really reach the rules: every threshold changes an outcome."""

from dataclasses import fields

import pytest

from cradle.rules import Settings, SettingsError
from cradle.rules.settings import DEFAULT_SETTINGS
from tests.builders import ev, family, findings, fires, step, visit

NNU = [ev(0, "nnu", "nnu_admission", channel="inpatient"), ev(10, "nnu", "nnu_discharge", channel="inpatient")]
ICON_BEFORE = [ev(-40, "midwifery", "icon_delivered", ["mum"], outcome=None, channel=None, seen=[], delivered_to=["mum", "dad"])]
ICON_ALL = [*ICON_BEFORE, ev(2, "maternity", "icon_delivered", ["mum"], outcome=None, channel=None, seen=[], delivered_to=["mum", "dad"])]


def no_access_step(s):
    return step(family([visit(10, "no_access"), visit(17, "no_access")]), "no-access-stepped", 17, s)


def due(s):
    (f,) = findings(family([visit(10, "no_access")]), "no-access-stepped", 10, s)
    return f.due_working_days


def nnu(s):
    events = [ev(0, "nnu", "nnu_admission", channel="inpatient"), ev(7, "nnu", "nnu_discharge", channel="inpatient")]
    return fires(family(events), "nnu-discharge-without-parenting-assessment", 7, s)


def vulnerable(s):
    two = [ev(-200, "midwifery", "antenatal_contact", ["mum"], findings=["first_pregnancy", "anxiety"])]
    return fires(family(two), "cumulative-vulnerability", -150, s)


def gap(day):
    return lambda s: fires(family([*NNU, ev(90, "gp", "immunisation")] if day > 90 else NNU), "under-one-contact-gap", day, s)


def econsult(s):
    return step(family([ev(30, "gp", "econsult", channel="online")]), "econsult-infant", 31, s)


def repeat(s):
    events = [ev(d, "ed", "ed_attendance", channel="hospital") for d in (20, 27)]
    return fires(family(events), "repeat-unscheduled-care", 27, s)


def repeat_window(s):
    events = [ev(d, "ed", "ed_attendance", channel="hospital") for d in (20, 26, 40)]
    return fires(family(events), "repeat-unscheduled-care", 40, s)


def non_mobile(s):
    return fires(family([ev(200, "gp", "clinic_contact", findings=["bruise"])]), "injury-in-non-mobile-infant", 200, s)


def icon(day, events):
    return lambda s: sorted(f.scope for f in findings(family(events), "icon-not-delivered", day, s))


# (setting, changed value, outcome measured, outcome with defaults, outcome with the change)
TABLE = [
    ("stepped_failures", (1, 3, 4), no_access_step, 2, 1),
    ("rearrange_days", 3, due, 5, 3),
    ("nnu_min_stay_days", 8, nnu, True, False),
    ("vulnerability_threshold", 2, vulnerable, False, True),
    ("contact_gap_days", 21, gap(24), True, False),
    ("contact_gap_early_weeks", 2, gap(24), True, False),
    ("contact_gap_later_days", 21, gap(111), False, True),
    ("econsult_seen_days", 1, econsult, 1, 2),
    ("repeat_presentations", 2, repeat, False, True),
    ("repeat_window_days", 21, repeat_window, False, True),
    ("non_mobile_age_days", 240, non_mobile, False, True),
    ("icon_antenatal_days_before_due", 50, icon(-45, []), [], ["antenatal"]),
    ("icon_postnatal_days", 20, icon(15, ICON_BEFORE), ["postnatal"], []),
    ("icon_gp_check_days", 70, icon(64, ICON_ALL), ["six_to_eight_week"], []),
]


@pytest.mark.parametrize(("name", "value", "measure", "default", "changed"), TABLE, ids=[t[0] for t in TABLE])
def test_each_threshold_changes_an_outcome(name, value, measure, default, changed):
    assert measure(DEFAULT_SETTINGS) == default
    assert measure(DEFAULT_SETTINGS.with_changes(**{name: value})) == changed


def test_every_setting_has_a_row_in_the_table():
    assert {f.name for f in fields(Settings)} == {row[0] for row in TABLE}


def test_defaults_are_the_catalogue_s():
    s = DEFAULT_SETTINGS
    assert (s.stepped_failures, s.rearrange_days, s.nnu_min_stay_days, s.vulnerability_threshold) == ((1, 2, 3), 5, 7, 3)
    assert (s.contact_gap_days, s.contact_gap_early_weeks, s.contact_gap_later_days) == (14, 12, 28)
    assert (s.econsult_seen_days, s.repeat_presentations, s.repeat_window_days) == (2, 3, 14)


def test_settings_from_toml_and_the_hash(tmp_path):
    path = tmp_path / "partnership.toml"
    path.write_text("contact_gap_days = 21\nstepped_failures = [1, 2, 4]\n")
    s = Settings.from_toml(path)
    assert s.contact_gap_days == 21 and s.stepped_failures == (1, 2, 4)
    assert s.hash != DEFAULT_SETTINGS.hash
    assert Settings.from_toml(path).hash == s.hash
    (f,) = findings(family([visit(10, "no_access")]), "no-access-stepped", 10, s)
    assert f.settings_hash == s.hash


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("contact_gap_dayz = 21\n", "unknown setting(s): contact_gap_dayz"),
        ("contact_gap_days = 'two weeks'\n", "contact_gap_days: expected a whole number"),
        ("contact_gap_days = -1\n", "contact_gap_days: expected a whole number of 0 or more"),
        ("stepped_failures = [3, 2, 1]\n", "stepped_failures: expected three increasing whole numbers"),
        ("contact_gap_days = \n", "not valid TOML"),
    ],
)
def test_bad_settings_are_refused(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_toml(path)
