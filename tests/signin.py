"""Signing a test client in as a user who passed two-factor sign-in."""

from __future__ import annotations

from django_otp import DEVICE_ID_SESSION_KEY

from cradle.access.twofactor import confirmed_device, provision


def sign_in(client, user) -> None:
    """What the sign-in page leaves behind: an authenticated session verified by the
    user's authenticator (given one if they have none). Tests of the sign-in page itself
    go through the form."""
    device = confirmed_device(user) or provision(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def wrong_code(device) -> str:
    """A six-digit code the device accepts at no step near now (it takes the step before
    and after as well)."""
    from cradle.access.twofactor import current_code

    near = {current_code(device, steps_ahead=k) for k in (-2, -1, 0, 1, 2)}
    return next(
        c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in near
    )
