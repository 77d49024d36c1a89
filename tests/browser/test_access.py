"""In the browser: two-factor sign-in, and emergency (break-glass) access seen by the lead."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from cradle.access.models import AuditEntry, BreakGlass
from cradle.access.twofactor import confirmed_device
from cradle.records.nhs_number import is_valid_nhs_number
from tests.browser.conftest import authenticator_code, axe, login, screenshot
from tests.signin import wrong_code

pytestmark = pytest.mark.django_db(transaction=True)


def _synthetic_nhs_number() -> str:
    """The first valid number in the 999 range (never issued to a real person)."""
    return next(n for n in (f"999{i:07d}" for i in range(10_000)) if is_valid_nhs_number(n))


def _sign_in_form(page, live_server, username, password, code):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_needs_the_password_and_the_authenticator_code(page, live_server, users):
    device = confirmed_device(get_user_model().objects.get(username="hv"))
    wrong = wrong_code(device)
    _sign_in_form(page, live_server, "hv", users["hv"], wrong)
    expect(page.get_by_role("alert")).to_contain_text("did not match")
    expect(page.get_by_role("heading", name="Sign in to Cradle")).to_be_visible()
    axe(page)
    screenshot(page, "sign-in-wrong-code")
    # The right password with no code is refused the same way.
    _sign_in_form(page, live_server, "hv", users["hv"], "")
    expect(page.get_by_role("heading", name="Sign in to Cradle")).to_be_visible()
    # After a wrong code django-otp makes the device wait a moment (its throttling): the
    # clock moves on two seconds rather than the test sleeping.
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=2), tick=True):
        _sign_in_form(page, live_server, "hv", users["hv"], authenticator_code("hv"))
        expect(page.get_by_role("heading", name="My caseload", level=1)).to_be_visible()
    # The menu offers only what a health visitor may open.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Emergency access")).to_be_visible()
    expect(nav.get_by_role("link", name="Safeguarding inbox")).to_have_count(0)


def test_break_glass_needs_a_reason_and_is_shown_to_the_lead(
    page, live_server, users, fresh_family
):
    baby = fresh_family.index_child
    baby.nhs_number = _synthetic_nhs_number()
    baby.save()
    login(page, live_server, "ed", users["ed"])
    # Not on the emergency clinician's caseload: not found.
    assert page.goto(f"{live_server.url}/families/{fresh_family.pk}/").status == 404
    page.goto(f"{live_server.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Emergency access").click()
    axe(page)
    page.get_by_label("NHS number").fill(baby.nhs_number)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Open the record").click()
    assert posted.value.status == 400
    expect(page.locator("#reason-error")).to_contain_text("Say why")
    axe(page)
    screenshot(page, "break-glass-no-reason")
    assert not BreakGlass.objects.exists()

    reason = "Baby brought to ED at 03:00 with a head injury; need the health visiting history"
    page.get_by_label("Why do you need to see this record now?").fill(reason)
    page.get_by_role("button", name="Open the record").click()
    expect(page).to_have_title(re.compile("Fresh family"))
    expect(page.get_by_role("status")).to_contain_text("Break-glass access for 4 hours")
    axe(page)
    screenshot(page, "break-glass-family")
    assert AuditEntry.objects.filter(
        user__username="ed", break_glass=True, family=fresh_family
    ).exists()

    page.get_by_role("button", name="Sign out").click()
    login(page, live_server, "lead", users["lead"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Break-glass log").click()
    row = page.locator("[data-break-glass] tbody tr").filter(has_text="Fresh family")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("ed")
    expect(row).to_contain_text(reason)
    axe(page)
    screenshot(page, "break-glass-log")
