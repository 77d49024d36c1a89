"""What must hold in the browser (issue 3): practitioners see a family's alerts with
their explanations, record contacts that move the alerts, decide alerts (never
dismissing one without a reason), and nobody sees a family they have no reason to.
Every page visited is checked with axe-core."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from cradle.records import models as m
from tests.browser.conftest import axe, login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def card(page, rule: str = "no-access-stepped"):
    return page.locator(f'[data-rule="{rule}"]')


def open_family(page, name: str) -> None:
    page.get_by_role("link", name=re.compile(name)).first.click()
    expect(page).to_have_title(re.compile(name))
    axe(page)


def test_the_health_visitor_sees_the_calderdale_alerts_explained(page, live_server, full_demo):
    login(page, live_server, "hv", full_demo["hv"], screenshot_as="login")
    screenshot(page, "caseload")
    axe(page)
    rows = page.locator("table.nhsuk-table tbody tr")
    expect(rows).to_have_count(m.Family.objects.count())

    open_family(page, "Calderdale")
    screenshot(page, "family")
    alert = card(page)
    expect(alert).to_have_count(1)
    expect(alert).to_have_attribute("data-step", "3")
    expect(alert.locator("[data-explanation]")).to_contain_text(
        re.compile("failed health visiting contact", re.I)
    )
    expect(alert.locator("[data-explanation]")).to_contain_text("no access")
    # Every open alert is shown, each with its explanation.
    calderdale = m.Family.objects.get(title__contains="Calderdale")
    live = calderdale.alerts.filter(status__in=m.Alert.LIVE).count()
    expect(page.locator("[data-alert]")).to_have_count(live)
    expect(page.locator("[data-alert] [data-explanation]:not(:empty)")).to_have_count(live)
    expect(page.locator("[data-chronology] tr[data-mark='Failed contact']")).to_have_count(3)

    page.get_by_role("link", name="My tasks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My tasks")
    axe(page)
    screenshot(page, "tasks")
    open_family(page, "Calderdale")

    # The other record forms, as the health visitor finds them.
    for link, name in (
        ("Record an ICON delivery", "record-icon"),
        ("Record a parenting assessment", "record-assessment"),
    ):
        page.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(link)
        axe(page)
        screenshot(page, name)
        page.get_by_role("link", name="Back to the family").click()
        expect(page).to_have_title(re.compile("Calderdale"))


def record_no_access(page, day) -> None:
    page.get_by_role("link", name="Record a contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a contact")
    axe(page)
    page.get_by_label("What was it?").select_option("home_visit")
    expect(page.get_by_label("Your service")).to_have_value("health_visiting")
    page.get_by_label("Date of the contact").fill(day.strftime("%d/%m/%Y"))
    page.get_by_role("group", name="Outcome").get_by_label("No access").check()
    page.get_by_label("Where or how").select_option("home_visit")
    about = page.get_by_role("group", name="Who was the contact about?")
    about.get_by_label("Poppy Fresh (child)").check()
    about.get_by_label("Jade Fresh (mother)").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    axe(page)


def test_three_no_access_visits_climb_the_steps(page, live_server, users, fresh_family, clock):
    login(page, live_server, "hv", users["hv"])
    open_family(page, "Fresh family")
    expect(card(page)).to_have_count(0)
    steps = []
    for step, days_ago in ((1, 3), (2, 2), (3, 1)):
        record_no_access(page, clock - timedelta(days=days_ago))
        expect(card(page)).to_have_count(1)
        expect(card(page)).to_have_attribute("data-step", str(step))
        steps.append(card(page).get_attribute("data-step"))
        if step == 1:
            screenshot(page, "family-step-1")
    assert steps == ["1", "2", "3"]
    expect(card(page).locator("[data-explanation]")).to_contain_text(
        "3rd consecutive failed health visiting contact"
    )
    expect(page.locator("[data-chronology] tr[data-mark='Failed contact']")).to_have_count(3)
    screenshot(page, "family-step-3")
    contacts = m.Contact.objects.filter(subjects=fresh_family.index_child).order_by("occurred_on")
    assert [c.occurred_on for c in contacts] == [clock - timedelta(days=d) for d in (3, 2, 1)]


def test_dismissing_without_a_reason_is_refused(page, live_server, demo, calderdale):
    login(page, live_server, "hv", demo["hv"])
    open_family(page, "Calderdale")
    alert = card(page)
    pk = alert.get_attribute("data-alert")
    alert.get_by_role("button", name="Dismiss").click()

    alert = page.locator(f'[data-alert="{pk}"]')
    expect(alert).to_be_visible()
    group = alert.locator(".nhsuk-form-group--error")
    expect(group.locator(".nhsuk-error-message")).to_have_text(
        re.compile("Give a reason for dismissing it")
    )
    expect(group.locator(f"textarea#note-{pk}")).to_be_visible()
    expect(page.locator(".nhsuk-error-message")).to_have_count(1)
    expect(page.get_by_role("status")).to_have_count(0)
    axe(page)
    screenshot(page, "family-dismiss-refused")
    assert m.Alert.objects.get(pk=pk).status == m.Alert.OPEN
    assert not m.AlertChange.objects.filter(alert_id=pk, change="dismissed").exists()


def test_the_social_worker_acknowledges_an_alert(page, live_server, demo, calderdale):
    login(page, live_server, "sw", demo["sw"])
    open_family(page, "Calderdale")
    pk = card(page).get_attribute("data-alert")
    expect(card(page).get_by_text("acknowledged", exact=True)).to_have_count(0)
    card(page).get_by_role("button", name="Acknowledge").click()

    expect(page.get_by_role("status")).to_have_text("Alert acknowledged.")
    alert = page.locator(f'[data-alert="{pk}"]')
    expect(alert.get_by_text("acknowledged", exact=True)).to_be_visible()
    expect(alert.get_by_role("button", name="Acknowledge")).to_have_count(0)
    axe(page)
    screenshot(page, "family-acknowledged")
    assert m.Alert.objects.get(pk=pk).status == m.Alert.ACKNOWLEDGED
    assert m.AlertChange.objects.filter(
        alert_id=pk, change="acknowledged", by__username="sw"
    ).exists()


def test_a_health_visitor_from_another_team_gets_not_found(page, live_server, demo, calderdale):
    login(page, live_server, "otherhv", demo["otherhv"])
    expect(page.get_by_role("link", name=re.compile("Calderdale"))).to_have_count(0)
    for path in ("", "contacts/new/"):
        response = page.goto(f"{live_server.url}/families/{calderdale.pk}/{path}")
        assert response.status == 404
        expect(page.get_by_text("Calderdale")).to_have_count(0)
        axe(page)
    screenshot(page, "not-found")


def test_an_empty_contact_form_shows_errors_and_saves_nothing(page, live_server, demo, calderdale):
    before = m.Contact.objects.count(), m.Alert.objects.count()
    login(page, live_server, "hv", demo["hv"])
    open_family(page, "Calderdale")
    page.get_by_role("link", name="Record a contact").click()
    axe(page)
    screenshot(page, "record-contact")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save").click()
    assert posted.value.status == 400

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_count(2)
    expect(page.locator("#id_outcome-error")).to_contain_text("This field is required.")
    expect(page.locator("#id_subjects-error")).to_contain_text("This field is required.")
    outcome = page.get_by_role("group", name="Outcome")
    expect(outcome).to_have_attribute("aria-describedby", "id_outcome-error")
    axe(page)
    screenshot(page, "record-contact-errors")
    assert (m.Contact.objects.count(), m.Alert.objects.count()) == before


def test_the_safeguarding_lead_inbox(page, live_server, demo, calderdale):
    login(page, live_server, "lead", demo["lead"])
    page.get_by_role("link", name="Safeguarding inbox").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Safeguarding inbox")
    rows = page.locator("[data-inbox] tbody tr")
    expect(rows.filter(has_text="no-access-stepped")).to_have_count(1)
    axe(page)
    screenshot(page, "inbox")
    rows.filter(has_text="no-access-stepped").get_by_role("link").click()
    expect(page).to_have_title(re.compile("Calderdale"))
    axe(page)


def test_a_family_with_records_held_back_says_so(page, live_server, users, fresh_family):
    """HAZ-S01: records about the family an agency sent that could not be taken; the page
    says so (how many, from whom, since when), not naming a service whose detail the
    reader may not see; and with no alert, that no alert is not reassurance."""
    from cradle.feeds.models import Message, QuarantineItem

    for agency, n in (("gp", 2), ("police", 1)):
        message = Message.objects.create(
            source_system=f"{agency}-system", agency=agency, channel="api", sha256=agency
        )
        for i in range(n):
            held = QuarantineItem.objects.create(message=message, locator=f"line {i}", content=b"x")
            held.families.add(fresh_family)
    login(page, live_server, "hv", users["hv"])
    open_family(page, "Fresh family")
    callout = page.locator('[data-prompt="held-records"]')
    expect(callout).to_contain_text("Records about this family are held back")
    expect(callout).to_contain_text("The GP practice: 2 records")
    expect(callout).to_contain_text("A service whose records you may not see in detail: 1 record")
    expect(callout).not_to_contain_text("police")
    expect(page.get_by_text(re.compile("No alert is not reassurance"))).to_be_visible()
    screenshot(page, "family-held-records")
