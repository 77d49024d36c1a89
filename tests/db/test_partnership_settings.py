"""Changing the rules safely (issue 8): a partnership administrator proposes new settings;
they take effect only once a named clinical safety officer approves them, and only from
their stated date; every version is kept; each alert names the version that raised it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from cradle.access.models import Membership, Team
from cradle.partnership import versions
from cradle.partnership.models import SafetyOfficer, SettingsVersion
from cradle.records import models as m
from cradle.records.evaluation import reevaluate
from cradle.records.loading import load_case
from cradle.rules.settings import DEFAULT_SETTINGS
from tests.signin import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    User = get_user_model()
    team = Team.objects.create(name="Partnership business unit", agency="childrens_social_care")
    out = {}
    for name, role in (
        ("admin", "administrator"),
        ("cso", "partnership_reviewer"),
        ("reviewer", "partnership_reviewer"),
    ):
        out[name] = User.objects.create_user(name, password="x" * 12)
        Membership.objects.create(user=out[name], team=team, role=role)
    SafetyOfficer.objects.create(user=out["cso"], name="Dr A. Example, clinical safety officer")
    return out


def _propose(people, today, start):
    return versions.propose(acting_user=people["admin"], settings=versions.parse("contact_gap_days = 10"),
                            effective_from=start, reason="Shorter gap for babies under 12 weeks", today=today)  # fmt: skip


def test_a_proposal_is_not_in_force_until_approved_and_only_from_its_date(people, today):
    start = today + timedelta(days=5)
    version = _propose(people, today, start)
    assert version.number == 1 and version.status == "proposed"
    assert (
        versions.in_force(start) is None
        and versions.settings_in_force(start + timedelta(days=30)) is None
    )
    versions.decide(
        acting_user=people["cso"], version_pk=version.pk, approve=True, note="", today=today
    )
    assert versions.in_force(start - timedelta(days=1)) is None
    assert versions.in_force(start) == SettingsVersion.objects.get(pk=version.pk)
    assert versions.settings_in_force(start).contact_gap_days == 10


def test_only_a_named_safety_officer_other_than_the_proposer_approves(people, today):
    version = _propose(people, today, today)
    for who in ("reviewer", "admin"):
        with pytest.raises(ValidationError):
            versions.decide(
                acting_user=people[who], version_pk=version.pk, approve=True, note="", today=today
            )
    SafetyOfficer.objects.create(user=people["admin"], name="Admin as officer")
    with pytest.raises(ValidationError, match="other than its proposer"):
        versions.decide(
            acting_user=people["admin"], version_pk=version.pk, approve=True, note="", today=today
        )
    # Its date has passed by the time it is decided: not approved, history is not rewritten.
    with pytest.raises(ValidationError, match="date has passed"):
        versions.decide(acting_user=people["cso"], version_pk=version.pk, approve=True, note="",
                        today=today + timedelta(days=1))  # fmt: skip
    assert SettingsVersion.objects.get(pk=version.pk).status == "proposed"


def test_a_proposal_with_bad_values_is_refused(people, today):
    with pytest.raises(ValidationError, match="unknown setting"):
        versions.parse("contact_gap_dayz = 10")
    with pytest.raises(ValidationError):
        versions.parse("contact_gap_days = -1")


def test_every_version_is_kept_and_each_alert_names_the_version_that_raised_it(
    people, today, calderdale
):
    with time_machine.travel(today, tick=False):
        family = load_case(calderdale, today, today_is_day=40).family
    assert set(family.alerts.values_list("settings_hash", flat=True)) == {DEFAULT_SETTINGS.hash}
    start = today + timedelta(days=2)
    version = _propose(people, today, start)
    rejected = versions.propose(acting_user=people["admin"], settings=versions.parse("contact_gap_days = 7"),
                                effective_from=start, reason="Try", today=today)  # fmt: skip
    versions.decide(
        acting_user=people["cso"],
        version_pk=rejected.pk,
        approve=False,
        note="Too many alerts",
        today=today,
    )
    # Proposed, not yet approved: re-evaluation keeps the defaults.
    with time_machine.travel(start, tick=False):
        reevaluate(family, start)
    assert set(
        family.alerts.filter(status__in=m.Alert.LIVE).values_list("settings_hash", flat=True)
    ) == {DEFAULT_SETTINGS.hash}
    versions.decide(
        acting_user=people["cso"], version_pk=version.pk, approve=True, note="", today=today
    )
    day_before = start - timedelta(days=1)
    with time_machine.travel(day_before, tick=False):
        reevaluate(family, day_before)
    assert set(
        family.alerts.filter(status__in=m.Alert.LIVE).values_list("settings_hash", flat=True)
    ) == {DEFAULT_SETTINGS.hash}
    with time_machine.travel(start, tick=False):
        reevaluate(family, start)
    live = family.alerts.filter(status__in=m.Alert.LIVE)
    assert live.exists() and set(live.values_list("settings_hash", flat=True)) == {version.hash}
    assert versions.version_label(version.hash).startswith("version 1 ")
    assert versions.version_label(DEFAULT_SETTINGS.hash).startswith("the catalogue defaults")
    assert SettingsVersion.objects.count() == 2  # the rejected version is kept too


def test_the_pages_propose_compare_and_approve(client, people, today):
    sign_in(client, people["admin"])
    with time_machine.travel(today, tick=False):
        response = client.post("/partnership/settings/", {"values": "contact_gap_days = 10",
                               "effective_from": today.strftime("%d/%m/%Y"), "reason": "Shorter gap"})  # fmt: skip
        version = SettingsVersion.objects.get()
        assert response.status_code == 302
        page = client.get(f"/partnership/settings/{version.pk}/").content.decode()
        assert (
            "contact_gap_days" in page
            and "calderdale-2022" in page
            and "Waiting for a clinical safety officer" in page
        )
        client.logout()
        sign_in(client, people["reviewer"])
        refused = client.post("/partnership/settings/", {"values": "contact_gap_days = 9",
                              "effective_from": today.strftime("%d/%m/%Y"), "reason": "x"})  # fmt: skip
        assert refused.status_code == 400 and SettingsVersion.objects.count() == 1
        client.logout()
        sign_in(client, people["cso"])
        client.post(f"/partnership/settings/{version.pk}/", {"decision": "approve"})
        assert SettingsVersion.objects.get().status == "approved"
        assert "version 1" in client.get("/partnership/settings/").content.decode()
        assert client.get("/partnership/settings/999/").status_code == 404
