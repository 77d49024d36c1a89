"""``cradle users``: how a partnership sets up its users; ``cradle demo-code``: demo logins only."""

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from cradle.access.models import AuditEntry, Membership
from cradle.access.twofactor import DEMO_DEVICE, confirmed_device, current_code, provision
from cradle.cli import main

pytestmark = pytest.mark.django_db


def _added(capsys, *argv) -> tuple[int, str]:
    code = main(["users", *argv])
    return code, capsys.readouterr().out


def test_adding_a_user_gives_a_team_role_password_and_authenticator(client, capsys):
    code, out = _added(
        capsys,
        "add",
        "jo.hv",
        "--team",
        "HV Calder",
        "--agency",
        "health_visiting",
        "--role",
        "health_visitor",
    )
    assert code == 0
    user = get_user_model().objects.get(username="jo.hv")
    membership = Membership.objects.get(user=user)
    assert (membership.role, membership.team.name, membership.team.agency) == (
        "health_visitor",
        "HV Calder",
        "health_visiting",
    )
    password = out.split("first password")[1].split(": ", 1)[1].split()[0]
    assert user.check_password(password)
    device = confirmed_device(user)
    assert device is not None and "authenticator secret: " in out
    assert AuditEntry.objects.filter(actor="system:users", action="create").count() == 1
    # And the printed secret signs in, through the real form.
    with time_machine.travel(timezone.now(), tick=False):
        response = client.post(
            "/login/",
            {"username": "jo.hv", "password": password, "otp_token": current_code(device)},
        )
    assert response.status_code == 302


@pytest.mark.parametrize(
    "argv, problem",
    [
        (["add", "x", "--team", "T", "--agency", "gp", "--role", "wizard"], "unknown role"),
        (["add", "x", "--team", "No such team", "--role", "gp"], "give --agency"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_made(capsys, argv, problem):
    code, out = _added(capsys, *argv)
    assert code == 2 and problem in out
    assert not get_user_model().objects.exists()


def test_a_new_authenticator_replaces_the_old_one(capsys):
    _added(capsys, "add", "jo", "--team", "T", "--agency", "gp", "--role", "gp")
    old = confirmed_device(get_user_model().objects.get(username="jo")).key
    code, _ = _added(capsys, "new-authenticator", "jo")
    assert code == 0 and confirmed_device(get_user_model().objects.get(username="jo")).key != old


def test_a_deactivated_user_cannot_sign_in(client, capsys):
    _added(capsys, "add", "leaver", "--team", "T", "--agency", "gp", "--role", "gp")
    user = get_user_model().objects.get(username="leaver")
    user.set_password("a long enough password")
    user.save()
    assert _added(capsys, "deactivate", "leaver")[0] == 0
    with time_machine.travel(timezone.now(), tick=False):
        code = current_code(confirmed_device(user))
        response = client.post(
            "/login/",
            {"username": "leaver", "password": "a long enough password", "otp_token": code},
        )
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_demo_code_shows_only_demo_logins(capsys):
    User = get_user_model()
    demo, real = User.objects.create_user("hv"), User.objects.create_user("real.hv")
    demo_device = provision(demo, name=DEMO_DEVICE)
    real_device = provision(real)
    with time_machine.travel(timezone.now(), tick=False):
        assert main(["demo-code", "hv"]) == 0
        assert capsys.readouterr().out.strip() == current_code(demo_device)
        assert main(["demo-code", "real.hv"]) == 2
        out = capsys.readouterr().out
        assert "not a demo login" in out and current_code(real_device) not in out
