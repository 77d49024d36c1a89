"""A change made in the Django admin re-evaluates the family, like every other write path."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from cradle.records import models as m
from tests.signin import sign_in

pytestmark = pytest.mark.django_db


def test_an_admin_contact_re_evaluates_the_family(client, today):
    admin = get_user_model().objects.create_superuser("admin", password="x" * 12)
    origin = today - timedelta(days=30)
    family = m.Family.objects.create(reference="adm", origin=origin)
    baby = m.Person.objects.create(source_key="adm/baby", born_on=origin)
    m.FamilyMember.objects.create(family=family, person=baby, role="child", label="baby")
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
