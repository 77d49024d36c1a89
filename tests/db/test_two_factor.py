"""Two-factor sign-in: a password and an authenticator code for every role, no bypass."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from cradle.access.models import Membership, Role, Team
from cradle.access.twofactor import current_code, provision, secret
from tests.signin import sign_in, wrong_code

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough password"


@pytest.fixture
def frozen():
    with time_machine.travel(timezone.now(), tick=False) as clock:
        yield clock


def _user(username="nurse", role=Role.HEALTH_VISITOR, **extra):
    User = get_user_model()
    maker = (
        User.objects.create_superuser if extra.pop("superuser", False) else User.objects.create_user
    )
    user = maker(username, password=PASSWORD, **extra)
    team, _ = Team.objects.get_or_create(name="HV", defaults={"agency": "health_visiting"})
    Membership.objects.create(user=user, team=team, role=role)
    return user


def _sign_in(client, username, code, password=PASSWORD):
    return client.post("/login/", {"username": username, "password": password, "otp_token": code})


def test_the_right_password_and_code_sign_in_and_the_session_is_verified(client, frozen):
    device = provision(_user())
    response = _sign_in(client, "nurse", current_code(device))
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_needs_the_code(client, frozen, role):
    """The password alone signs no role in: the same answer as a wrong password."""
    device = provision(_user(role=role))
    for code in ("", wrong_code(device), "abcdef"):
        response = _sign_in(client, "nurse", code)
        assert response.status_code == 200
        assert b"did not match" in response.content
    assert client.get("/").status_code == 302  # still signed out


def test_a_user_without_an_authenticator_cannot_sign_in(client, frozen):
    _user()
    response = _sign_in(client, "nurse", "123456")
    assert response.status_code == 200 and b"has not been set up" in response.content
    assert client.get("/").status_code == 302


def test_a_wrong_password_with_a_right_code_gives_the_same_answer_as_a_wrong_code(client, frozen):
    device = provision(_user())
    wrong_password = _sign_in(client, "nurse", current_code(device), password="not the password")
    bad_code = _sign_in(client, "nurse", wrong_code(device))
    assert b"did not match" in wrong_password.content and b"did not match" in bad_code.content


def test_a_code_is_used_once(client, frozen):
    device = provision(_user())
    code = current_code(device)
    assert _sign_in(client, "nurse", code).status_code == 302
    client.post("/logout/")
    assert _sign_in(client, "nurse", code).status_code == 200  # replayed: refused
    frozen.shift(2)  # django-otp makes a device wait a moment after a wrong code
    assert _sign_in(client, "nurse", current_code(device, steps_ahead=1)).status_code == 302


def test_wrong_codes_lock_the_account_like_wrong_passwords(client, frozen):
    device = provision(_user())
    good = current_code(device)
    bad = wrong_code(device)
    for _ in range(4):
        assert _sign_in(client, "nurse", bad).status_code == 200
    assert _sign_in(client, "nurse", bad).status_code == 429
    assert _sign_in(client, "nurse", good).status_code == 429  # locked, even with the right code


def test_a_session_signed_in_with_the_password_alone_is_refused_everywhere(client, frozen):
    """A session that did not pass the code (here made with login() directly) is signed
    out on its first request, whatever the page, the admin included."""
    user = _user(superuser=True, is_staff=True)
    for path in ("/", "/inbox/", "/families/1/", "/admin/", "/admin/records/contact/"):
        client.force_login(user)
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
        assert "_auth_user_id" not in client.session


def test_the_admin_signs_in_through_the_two_factor_page(client, frozen):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/admin/"
    user = _user(superuser=True, is_staff=True, username="admin")
    device = provision(user)
    assert _sign_in(client, "admin", current_code(device)).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_an_expired_session_is_refused(client, frozen):
    user = _user()
    sign_in(client, user)
    assert client.get("/").status_code == 200
    frozen.shift(timedelta(minutes=31))  # thirty minutes idle
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_there_is_no_setting_that_turns_two_factor_off():
    from django.conf import settings

    assert "cradle.access.twofactor.RequireTwoFactor" in settings.MIDDLEWARE
    assert settings.MIDDLEWARE.index(
        "cradle.access.twofactor.RequireTwoFactor"
    ) > settings.MIDDLEWARE.index("django_otp.middleware.OTPMiddleware")


def test_the_secret_is_what_an_authenticator_app_takes(frozen):
    device = provision(_user())
    import base64
    import hmac
    import struct
    import time

    # RFC 6238 computed here from the printed base32 secret: the code the app would show.
    key = base64.b32decode(secret(device))
    counter = struct.pack(">Q", int(time.time()) // 30)
    digest = hmac.new(key, counter, "sha1").digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    assert f"{code:06d}" == current_code(device)
