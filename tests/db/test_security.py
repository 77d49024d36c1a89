"""Security settings every response and every password gets."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher

from tests.signin import sign_in

pytestmark = pytest.mark.django_db


def test_every_page_has_a_strict_content_security_policy_and_the_standard_headers(client):
    response = client.get("/login/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_passwords_are_hashed_with_argon2(settings):
    from cradle.site import settings as production  # the tests use a fast hasher instead

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = get_user_model().objects.create_user("someone", password="a long enough password")
    assert user.password.startswith("argon2$")
    assert get_hasher("argon2").verify("a long enough password", user.password)


def test_sessions_expire_after_inactivity(settings):
    assert settings.SESSION_COOKIE_AGE <= 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST


def test_repeated_failed_sign_ins_lock_the_account_for_a_while(client):
    import time_machine
    from django.utils import timezone

    from cradle.access.twofactor import current_code, provision

    device = provision(get_user_model().objects.create_user("nurse", password="the right password"))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(4):
            assert client.post("/login/", {"username": "nurse", "password": "wrong", "otp_token": current_code(device)}).status_code == 200
        assert client.post("/login/", {"username": "nurse", "password": "wrong", "otp_token": current_code(device)}).status_code == 429  # the fifth
        locked = client.post("/login/", {"username": "nurse", "password": "the right password", "otp_token": current_code(device)})
        assert locked.status_code == 429 and b"locked" in locked.content
        clock.shift(16 * 60)  # after the cool-off, the right password and code work again
        assert client.post("/login/", {"username": "nurse", "password": "the right password", "otp_token": current_code(device)}).status_code == 302


def test_no_personal_data_reaches_the_application_logs(client, caplog, calderdale, today, django_capture_on_commit_callbacks):
    """Sign-in failures, page views, a contact saved with a note, alerts raised and emailed,
    a sweep and an escalation: names, NHS numbers, addresses and notes appear in no log line."""
    import logging
    from datetime import timedelta

    import time_machine

    from cradle.access.models import Allocation, Membership, Team
    from cradle.records import actions
    from cradle.records.loading import load_case
    from cradle.records.notify import escalate
    from cradle.records.sweep import sweep

    caplog.set_level(logging.DEBUG)
    with time_machine.travel(today, tick=False):
        family = load_case(calderdale, today, today_is_day=40).family
        team = Team.objects.create(name="HV", agency="health_visiting")
        hv = get_user_model().objects.create_user("hv", password="x" * 12, email="hv@cradle.invalid")
        Membership.objects.create(user=hv, team=team, role="health_visitor", is_duty_worker=True)
        Allocation.objects.create(family=family, team=team, practitioner=hv, since=family.origin)
        client.post("/login/", {"username": "Jade Brook", "password": "wrong"})
        sign_in(client, hv)
        client.get(f"/families/{family.pk}/")
        mum = family.members.get(familymember__role="mother")
        with django_capture_on_commit_callbacks(execute=True):
            actions.record_contact(
                acting_user=hv, family_pk=family.pk, agency="health_visiting", kind="home_visit",
                occurred_on=today, outcome="no_access", channel="home_visit", subjects=[family.index_child, mum],
                note="Neighbour at 12 Mill Lane says Jade has left", today=today,
            )  # fmt: skip
        sweep(today + timedelta(days=3), processes=1, progress=False)
        escalate(today + timedelta(days=10))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records  # the flow did log
    for person in calderdale.timeline.people:
        ident = person.identity
        for value in (ident.given, ident.family, ident.nhs_number, ident.address, ident.postcode):
            assert not value or value not in text, value
    assert "Neighbour" not in text and "Mill Lane" not in text
