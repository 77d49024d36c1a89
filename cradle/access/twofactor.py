"""Two-factor sign-in: a password and a code from an authenticator app (TOTP), for every
role, with no setting that turns it off.

django-otp keeps the devices and checks the codes (with its own throttling of wrong
codes); this module adds the sign-in form, the middleware that refuses every request
from a session not verified by a code, and the provisioning of a user's authenticator.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django_otp.plugins.otp_totp.models import TOTPDevice

# Requests that may be made before two-factor sign-in: the sign-in page itself, signing
# out, and the static files the sign-in page needs.
OPEN_PATHS = ("/login/", "/logout/", "/static/")
# The name of the authenticators the demo makes: only these will `cradle demo-code` show.
DEMO_DEVICE = "demo (synthetic data only)"


class SignInForm(AuthenticationForm):
    """Username, password and the six-digit code, checked together: a wrong code and a
    wrong password get the same answer, so neither is confirmed on its own."""

    otp_token = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username, password or code did not match. Try again.",
        "no_device": "Two-factor sign-in has not been set up for this account. Ask your Cradle administrator.",
    }

    def clean(self):
        cleaned = super().clean()  # username and password (and the lockout), first
        user = self.get_user()
        device = confirmed_device(user)
        if device is None:
            raise ValidationError(self.error_messages["no_device"], code="no_device")
        token = (cleaned.get("otp_token") or "").replace(" ", "")
        if not token.isdigit() or not device.verify_token(token):
            # A wrong code counts towards the lockout, as a wrong password does.
            user_login_failed.send(
                sender=__name__, credentials={"username": user.get_username()}, request=self.request
            )
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login")
        user.otp_device = device  # django_otp.login() keeps it in the session at sign-in
        return cleaned


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def provision(user, *, name: str = "authenticator") -> TOTPDevice:
    """Give the user a new authenticator secret, replacing any they had (a lost phone)."""
    TOTPDevice.objects.filter(user=user).delete()
    return TOTPDevice.objects.create(user=user, name=name, confirmed=True)


def secret(device: TOTPDevice) -> str:
    """The secret as an authenticator app takes it typed in (base32)."""
    from base64 import b32encode

    return b32encode(device.bin_key).decode("ascii")


def current_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the user's authenticator shows now (for the demo's code command and tests)."""
    import time

    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


class RequireTwoFactor:
    """Every request from a signed-in session must have passed two-factor sign-in.

    A session signed in any other way (the admin's own form, a password-only
    ``login()``) is signed out and sent to the sign-in page. There is no exemption by
    role, user or setting.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(OPEN_PATHS)
        ):
            logout(request)
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)
