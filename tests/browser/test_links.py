"""In the browser: a safeguarding lead confirms that the father's GP record and a
police record are the same man, and the health visitor's family page then shows
the concern, in as much detail as a health visitor may see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from cradle.links.models import Candidate, IdentityLink
from cradle.records import models as m
from tests.browser.conftest import axe, login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def _police_record(family, dad):
    """The father as the police hold him (another person row, a nickname, another address)."""
    person = m.Person.objects.create(
        source_key="browser/police-dad", sex="male", born_on=dad.born_on
    )
    identity = m.Identity.objects.create(
        person=person, agency="police", given_name="Danny", family_name="Walsh",
        address="4 Canal Street, Halifax", postcode="HX1 2CD", recorded_on=family.origin,
    )  # fmt: skip
    contact = m.Contact.objects.create(
        source_key="browser/police-dad/1", agency="police", kind="police_callout",
        occurred_on=family.origin - timedelta(days=100),
        recorded_on=family.origin - timedelta(days=100), outcome="attended",
    )  # fmt: skip
    contact.subjects.add(person)
    m.ContactFinding.objects.create(contact=contact, word="domestic_abuse")
    return identity


def test_a_lead_confirms_a_link_and_the_family_page_shows_the_fathers_concern(
    page, live_server, demo, calderdale
):
    dad = m.FamilyMember.objects.get(family=calderdale, role="father").person
    police = _police_record(calderdale, dad)
    gp = m.Identity.objects.filter(person=dad).first()
    left, right = sorted((gp.pk, police.pk))
    weights = [
        {"comparison": "prior", "level": "two records chosen at random", "weight": -10.0},
        {"comparison": "given_name", "level": "same name by nickname", "weight": 6.0},
        {"comparison": "family_name", "level": "Exact match on family", "weight": 8.0},
        {"comparison": "date_of_birth", "level": "Exact match on dob_s", "weight": 9.0},
        {"comparison": "address", "level": "All other comparisons", "weight": -2.0},
    ]
    candidate = Candidate.objects.create(
        left_id=left, right_id=right, probability=0.9, match_weight=11.0, weights=weights
    )

    login(page, live_server, "hv", demo["hv"])
    page.goto(f"{live_server.url}/families/{calderdale.pk}/")
    expect(page.get_by_text("ask the police")).to_have_count(0)
    page.context.clear_cookies()

    login(page, live_server, "lead", demo["lead"])
    page.goto(f"{live_server.url}/links/")
    axe(page)
    page.get_by_role("link", name=f"(pair {candidate.pk})").click()
    expect(page.get_by_role("heading", name="Are these the same person?")).to_be_visible()
    expect(page.locator("[data-waterfall] rect")).to_have_count(5)
    axe(page)
    screenshot(page, "link-review")
    page.get_by_role("button", name="Same person: link").click()
    expect(page.get_by_text("Linked: the records are now one person's.")).to_be_visible()
    assert IdentityLink.objects.filter(active=True, left_id=left, right_id=right).exists()
    page.context.clear_cookies()

    # The health visitor may not see police or domestic abuse detail: a concern and whom to ask.
    login(page, live_server, "hv", demo["hv"])
    page.goto(f"{live_server.url}/families/{calderdale.pk}/")
    expect(page.get_by_text("ask the police").first).to_be_visible()
    expect(page.get_by_text("domestic abuse")).to_have_count(0)
    screenshot(page, "link-family-after")
