"""A change made in the Django admin re-evaluates the family, like every other write path."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from cradle.access.models import Allocation, AuditEntry, Membership, Team
from cradle.records import models as m
from tests.signin import sign_in

pytestmark = pytest.mark.django_db


def test_an_admin_contact_re_evaluates_the_family(client, today):
    """(A staff user who is also a health visitor holding the family: the admin shows
    and changes only what the permission policy lets its user see.)"""
    admin = get_user_model().objects.create_superuser("admin", password="x" * 12)
    origin = today - timedelta(days=30)
    family = m.Family.objects.create(reference="adm", origin=origin)
    baby = m.Person.objects.create(source_key="adm/baby", born_on=origin)
    m.FamilyMember.objects.create(family=family, person=baby, role="child", label="baby")
    team = Team.objects.create(name="HV", agency="health_visiting")
    Membership.objects.create(user=admin, team=team, role="health_visitor")
    Allocation.objects.create(family=family, team=team, since=origin)
    sign_in(client, admin)
    with time_machine.travel(today, tick=False):
        response = client.post(
            "/admin/records/contact/add/",
            {
                "source_key": "admin/1",
                "agency": "health_visiting",
                "kind": "home_visit",
                "occurred_on": today.isoformat(),
                "recorded_on": today.isoformat(),
                "outcome": "no_access",
                "channel": "home_visit",
                "subjects": [baby.pk],
                "findings-TOTAL_FORMS": "0",
                "findings-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302, response.content[:500]
    assert family.alerts.filter(rule="no-access-stepped", status="open").exists()


def test_alerts_cannot_be_edited_in_the_admin(client):
    admin = get_user_model().objects.create_superuser("admin", password="x" * 12)
    sign_in(client, admin)
    assert client.get("/admin/records/alert/add/").status_code == 403


@pytest.fixture
def two_families(today):
    origin = today - timedelta(days=30)
    out = []
    for ref in ("held", "not-held"):
        family = m.Family.objects.create(reference=ref, origin=origin)
        baby = m.Person.objects.create(
            source_key=f"{ref}/baby",
            given_name=f"Baby{ref.title().replace('-', '')}",
            born_on=origin,
        )
        m.FamilyMember.objects.create(family=family, person=baby, role="child", label="baby")
        out.append(family)
    return out


def test_an_administrator_sees_no_family_in_the_admin(client, two_families):
    """An administrator manages users and teams; the records are not theirs to read."""
    admin = get_user_model().objects.create_superuser("admin", password="x" * 12)
    team = Team.objects.create(name="Cradle administration", agency="health_visiting")
    Membership.objects.create(user=admin, team=team, role="administrator")
    for family in two_families:
        Allocation.objects.create(
            family=family, team=team, since=family.origin
        )  # even a team's allocation
    sign_in(client, admin)
    for path in (
        "/admin/records/family/",
        "/admin/records/person/",
        "/admin/records/contact/",
        "/admin/records/alert/",
    ):
        page = client.get(path).content.decode()
        assert (
            "0 " in page
            and "BabyHeld" not in page
            and "held" not in page.split("<tbody>")[-1][:2000]
        ), path
    response = client.get(
        f"/admin/records/person/{two_families[0].index_child_id or m.Person.objects.first().pk}/change/"
    )
    assert response.status_code == 302  # "does not exist": the admin says no more than that
    assert b"Team" in client.get("/admin/").content  # users, teams and allocations are theirs


def test_a_staff_practitioner_sees_only_their_families_and_each_record_opened_is_audited(
    client, two_families
):
    held, _not_held = two_families
    user = get_user_model().objects.create_superuser("staffhv", password="x" * 12)
    team = Team.objects.create(name="HV", agency="health_visiting")
    Membership.objects.create(user=user, team=team, role="health_visitor")
    Allocation.objects.create(family=held, team=team, since=held.origin)
    sign_in(client, user)
    listing = client.get("/admin/records/family/").content.decode()
    assert ">held<" in listing and "not-held" not in listing
    held_baby = m.Person.objects.get(source_key="held/baby")
    other_baby = m.Person.objects.get(source_key="not-held/baby")
    before = AuditEntry.objects.filter(user=user, action="read").count()
    assert client.get(f"/admin/records/person/{held_baby.pk}/change/").status_code == 200
    assert AuditEntry.objects.filter(user=user, action="read", family=held).count() == before + 1
    assert client.get(f"/admin/records/person/{other_baby.pk}/change/").status_code == 302
    form = client.get("/admin/records/contact/add/").content.decode()
    # The people offered as the contact's subjects (not another select's options, whose
    # keys may be the same numbers).
    subjects = re.search(r'<select name="subjects".*?</select>', form, re.S).group(0)
    assert f'value="{held_baby.pk}"' in subjects and f'value="{other_baby.pk}"' not in subjects
