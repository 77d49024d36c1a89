"""Security settings every response and every password gets."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher

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

    get_user_model().objects.create_user("nurse", password="the right password")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(4):
            assert client.post("/login/", {"username": "nurse", "password": "wrong"}).status_code == 200
        assert client.post("/login/", {"username": "nurse", "password": "wrong"}).status_code == 429  # the fifth
        locked = client.post("/login/", {"username": "nurse", "password": "the right password"})
        assert locked.status_code == 429 and b"locked" in locked.content
        clock.shift(16 * 60)  # after the cool-off, the right password works again
        assert client.post("/login/", {"username": "nurse", "password": "the right password"}).status_code == 302
