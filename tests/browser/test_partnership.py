"""What must hold in the browser (issue 8): a partnership reviewer opens a rapid review on the
Calderdale baby, sees the replay of the rules with the lead time, adds a recommendation with
an action for the neonatal unit, marks it done with evidence, and downloads the chronology
as a PDF marked OFFICIAL-SENSITIVE; the chronology, the frozen chronology, the review actions,
the dashboards and the rule settings pages pass axe. Every page visited is checked."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cradle.partnership.models import Review, ReviewAction
from tests import pdf as pdftext
from tests.browser.conftest import axe, login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)
NHS = "9434765919"  # the Calderdale baby's synthetic NHS number


def _nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    axe(page)


def test_a_reviewer_runs_a_rapid_review_of_the_calderdale_baby(
    page, live_server, demo, clock, tmp_path
):
    login(page, live_server, "reviewer", demo["reviewer"])
    _nav(page, "Rapid reviews")
    screenshot(page, "partnership-reviews")
    page.get_by_label("Review reference").fill("RR-CALDERDALE")
    page.get_by_label("The child's NHS number").fill(NHS)
    harm = clock + timedelta(days=7)
    page.get_by_label("Day of the harm (optional)").fill(harm.strftime("%d/%m/%Y"))
    page.get_by_role("button", name="Open the review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rapid review RR-CALDERDALE")
    axe(page)

    # The replay: what the rules would have raised, and the lead time to the harm.
    replay = page.locator("[data-replay] tbody tr")
    expect(replay.filter(has_text="no-access-stepped").first).to_be_visible()
    expect(page.locator("[data-lead-time]")).to_contain_text(
        re.compile(r"\d+ days before the harm")
    )
    screenshot(page, "partnership-review")

    # A recommendation, with an action for the neonatal unit, marked done with evidence.
    page.get_by_label("Recommendation", exact=True).fill(
        "That the neonatal unit embeds the ICON message"
    )
    page.get_by_label("What the review found behind it").fill(
        "A reliance on health visiting for ICON."
    )
    page.get_by_role("button", name="Add the recommendation").click()
    expect(page.locator("[data-recommendation='1']")).to_contain_text("neonatal unit embeds")
    page.get_by_label("What is to be done (recommendation 1)").fill(
        "Audit ICON delivery at every NNU discharge"
    )
    page.get_by_label("Owning agency (recommendation 1)").select_option("nnu")
    due = (clock + timedelta(days=30)).strftime("%d/%m/%Y")
    page.get_by_label("Due (DD/MM/YYYY, recommendation 1)").fill(due)
    page.get_by_role("button", name="Add the action to recommendation 1").click()
    action = ReviewAction.objects.get()
    card = page.locator(f"[data-action='{action.pk}']")
    expect(card).to_contain_text("Owner: the neonatal unit")
    axe(page)
    page.get_by_label(f"Status of action {action.pk}").select_option("done")
    page.get_by_label(f"Evidence for action {action.pk} (needed to mark it done)").fill(
        "NNU ICON audit, November"
    )
    page.get_by_role("button", name=f"Update action {action.pk}").click()
    expect(page.locator(f"[data-action='{action.pk}']")).to_have_attribute("data-status", "done")
    expect(page.locator(f"[data-action='{action.pk}']")).to_contain_text(
        "Evidence: NNU ICON audit, November"
    )
    axe(page)

    # Freeze the chronology, and look at it.
    page.get_by_role("button", name="Freeze the chronology").click()
    page.get_by_role("link", name=re.compile("^As of")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Chronology as of")
    axe(page)
    screenshot(page, "partnership-snapshot")
    page.get_by_role("link", name="Back to the review").click()

    # The live chronology, and its PDF.
    page.get_by_role("link", name="The live multi-agency chronology").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Multi-agency chronology")
    expect(page.locator("svg.cr-timeline")).to_be_visible()
    expect(page.locator("[data-chronology] tr[data-mark='Failed contact']")).to_have_count(3)
    axe(page)
    screenshot(page, "partnership-chronology")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the chronology (PDF)").click()
    path = Path(tmp_path / "chronology.pdf")
    info.value.save_as(path)
    text = pdftext.text(path.read_bytes())
    assert "OFFICIAL-SENSITIVE" in text and "Multi-agency chronology" in text
    assert "Failed contact" in " ".join(text.split())

    _nav(page, "Review actions")
    expect(page.locator("tbody tr")).to_contain_text("Audit ICON delivery")
    _nav(page, "Audit dashboards")
    screenshot(page, "partnership-dashboards")
    _nav(page, "Rule settings")
    assert Review.objects.get().members.filter(username="reviewer").exists()


def test_an_administrator_proposes_settings_that_wait_for_the_safety_officer(
    page, live_server, demo, clock
):
    login(page, live_server, "admin", demo["admin"])
    _nav(page, "Rule settings")
    page.get_by_label("Settings (TOML; names not given keep their default)").fill(
        "contact_gap_days = 10"
    )
    page.get_by_label("Takes effect from (DD/MM/YYYY)").fill(clock.strftime("%d/%m/%Y"))
    page.get_by_label("Why").fill("A shorter gap for the youngest babies")
    page.get_by_role("button", name="Propose").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings version 1")
    expect(page.locator("[data-status]")).to_have_text("proposed")
    expect(
        page.locator("[data-comparison] tbody tr").filter(has_text="calderdale-2022")
    ).to_have_count(1)
    expect(page.get_by_text("Waiting for a clinical safety officer")).to_be_visible()
    axe(page)
    screenshot(page, "partnership-settings-version")
