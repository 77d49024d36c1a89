"""Rapid reviews (issue 8): a partnership reviewer opens a review on a child and only then
sees the family; a frozen chronology does not change when the record does; the replay shows
when the rules would have raised what and the lead time; recommendations carry actions with
an owner, a due date and updates with evidence; overdue actions are flagged to the owning
agency (no personal data in the email) and listed; the learning brief is a marked PDF."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail

from cradle.access.models import AuditEntry, Membership, Team
from cradle.partnership import reviews
from cradle.partnership.models import ActionNotification, Review, ReviewAction
from cradle.records import actions
from cradle.records import models as m
from cradle.records.loading import load_case
from tests import pdf as pdftext
from tests.signin import sign_in

pytestmark = pytest.mark.django_db
NHS = "9434765919"  # the Calderdale baby's (synthetic) NHS number


@pytest.fixture
def site(calderdale, today):
    with time_machine.travel(today, tick=False):
        family = load_case(calderdale, today, today_is_day=40).family
    User = get_user_model()
    unit = Team.objects.create(name="Partnership business unit", agency="childrens_social_care")
    nnu = Team.objects.create(name="Neonatal unit", agency="nnu")
    users = {}
    for name, team, role in (
        ("reviewer", unit, "partnership_reviewer"),
        ("other", unit, "partnership_reviewer"),
        ("nnulead", nnu, "team_leader"),
        ("nurse", nnu, "neonatal_nurse"),
    ):
        users[name] = User.objects.create_user(
            name, email=f"{name}@cradle.invalid", password="x" * 12
        )
        Membership.objects.create(user=users[name], team=team, role=role)
    return {"family": family, **users}


@pytest.fixture
def as_user(client, today):
    def login(user):
        client.logout()
        sign_in(client, user)
        return client

    with time_machine.travel(today, tick=False):
        yield login


def _open(site, today, harm_on=None) -> Review:
    return reviews.open_review(acting_user=site["reviewer"], nhs_number=NHS, reference="RR-1",
                               harm_on=harm_on, today=today)  # fmt: skip


def test_a_reviewer_sees_the_family_only_once_a_review_is_open_and_only_as_a_member(
    as_user, site, today
):
    family = site["family"]
    url = f"/partnership/families/{family.pk}/chronology/"
    assert as_user(site["reviewer"]).get(url).status_code == 404
    response = as_user(site["reviewer"]).post(
        "/partnership/reviews/", {"reference": "RR-1", "nhs_number": NHS}
    )
    review = Review.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/partnership/reviews/{review.pk}/"
    )
    assert review.family == family and review.child == family.index_child
    assert as_user(site["reviewer"]).get(url).status_code == 200
    assert as_user(site["reviewer"]).get(f"/partnership/reviews/{review.pk}/").status_code == 200
    # Not a member: not found, for the review and the family alike.
    assert as_user(site["other"]).get(f"/partnership/reviews/{review.pk}/").status_code == 404
    assert as_user(site["other"]).get(url).status_code == 404
    assert as_user(site["nnulead"]).get(f"/partnership/reviews/{review.pk}/").status_code == 404
    assert as_user(site["reviewer"]).get("/partnership/reviews/99999/").status_code == 404
    # Closed: the reviewer no longer sees the family.
    as_user(site["reviewer"]).post(f"/partnership/reviews/{review.pk}/", {"do": "close"})
    assert Review.objects.get().status == Review.CLOSED
    assert as_user(site["reviewer"]).get(url).status_code == 404
    reads = AuditEntry.objects.filter(user=site["reviewer"], family=family, action="read")
    assert reads.filter(what=f"rapid review {review.pk}").exists()


def test_an_unknown_nhs_number_opens_nothing(as_user, site):
    response = as_user(site["reviewer"]).post(
        "/partnership/reviews/", {"reference": "RR-2", "nhs_number": "9999999999"}
    )
    assert response.status_code == 400 and not Review.objects.exists()
    assert "No child with that NHS number" in response.content.decode()


def test_a_frozen_chronology_does_not_change_when_the_record_does(as_user, site, today):
    review = _open(site, today)
    snapshot = reviews.take_snapshot(
        acting_user=site["reviewer"], review=review, as_of=today, today=today
    )
    before = snapshot.data
    family = site["family"]
    # The record changes: a contact is entered in error, and a new contact is recorded.
    contact = m.Contact.objects.filter(subjects=family.index_child, outcome="no_access").first()
    with time_machine.travel(today, tick=False):
        actions.mark_entered_in_error(
            acting_user=site["reviewer"], contact_pk=contact.pk, reason="test", today=today
        )
        actions.record_contact(
            acting_user=site["reviewer"], family_pk=family.pk, agency="health_visiting", kind="home_visit",
            occurred_on=today, outcome="attended", channel="home_visit", subjects=[family.index_child],
            seen=[family.index_child], findings=[], note="Marker: recorded after the snapshot", today=today,
        )  # fmt: skip
    snapshot.refresh_from_db()
    assert snapshot.data == before
    page = as_user(site["reviewer"]).get(
        f"/partnership/reviews/{review.pk}/snapshots/{snapshot.pk}/"
    )
    body = page.content.decode()
    assert page.status_code == 200 and "recorded after the snapshot" not in body
    assert "(entered in error)" not in body
    live = (
        as_user(site["reviewer"])
        .get(f"/partnership/families/{family.pk}/chronology/")
        .content.decode()
    )
    assert "recorded after the snapshot" in live and "(entered in error)" in live
    csv = as_user(site["reviewer"]).get(
        f"/partnership/reviews/{review.pk}/snapshots/{snapshot.pk}/?format=csv"
    )
    assert csv.content.decode().splitlines()[0] == "OFFICIAL-SENSITIVE"
    assert "recorded after the snapshot" not in csv.content.decode()


def test_the_replay_shows_what_the_rules_would_have_raised_and_the_lead_time(as_user, site, today):
    harm = today + timedelta(days=7)  # Calderdale: the injury came after day 40
    review = _open(site, today, harm_on=harm)
    result = reviews.replay_review(review, today)
    assert result["rows"] and {"no-access-stepped", "under-one-contact-gap"} <= {
        r.rule for r in result["rows"]
    }
    assert result["lead_time"] is not None and result["lead_time"] >= 7
    assert result["first_warning"] == harm - timedelta(days=result["lead_time"])
    body = as_user(site["reviewer"]).get(f"/partnership/reviews/{review.pk}/").content.decode()
    assert f"{result['lead_time']} days before the harm" in body and "no-access-stepped" in body


def test_recommendations_actions_and_their_updates_with_evidence(as_user, site, today):
    review = _open(site, today)
    client = as_user(site["reviewer"])
    url = f"/partnership/reviews/{review.pk}/"
    client.post(
        url,
        {
            "do": "recommend",
            "title": "The NNU embeds ICON",
            "detail": "Reliance on health visiting.",
        },
    )
    rec = review.recommendations.get()
    client.post(url, {"do": "action", "recommendation": rec.pk, "description": "Audit ICON on the NNU",
                      "agency": "nnu", "due_on": (today + timedelta(days=30)).strftime("%d/%m/%Y")})  # fmt: skip
    action = rec.actions.get()
    assert action.agency == "nnu" and action.status == ReviewAction.OPEN
    refused = client.post(
        url, {"do": "update", "action": action.pk, "status": "done", "evidence": ""}
    )
    assert refused.status_code == 400 and "evidence" in refused.content.decode()
    client.post(
        url,
        {"do": "update", "action": action.pk, "status": "done", "evidence": "Audit report 2026-11"},
    )
    action.refresh_from_db()
    assert action.status == "done" and action.done_on == today
    assert action.updates.get().evidence == "Audit report 2026-11"


def test_overdue_actions_are_flagged_to_the_owning_agency_once_and_listed(as_user, site, today):
    review = _open(site, today)
    rec = reviews.recommend(
        acting_user=site["reviewer"], review=review, title="ICON on the NNU", detail=""
    )
    late = reviews.add_action(acting_user=site["reviewer"], recommendation=rec, description="Audit ICON",
                              agency="nnu", due_on=today - timedelta(days=1))  # fmt: skip
    reviews.add_action(acting_user=site["reviewer"], recommendation=rec, description="Train staff",
                       agency="nnu", due_on=today + timedelta(days=1))  # fmt: skip
    report = reviews.flag_overdue(today)
    assert report.overdue == 1 and report.emails == 1
    assert [e.to for e in mail.outbox] == [["nnulead@cradle.invalid"]]
    body = mail.outbox[0].subject + mail.outbox[0].body
    child = site["family"].index_child
    for personal in (
        child.given_name,
        child.family_name,
        child.nhs_number,
        "Audit ICON",
        review.reference,
    ):
        assert personal not in body
    assert reviews.flag_overdue(today).emails == 0  # never twice
    assert ActionNotification.objects.filter(action=late).count() == 1
    page = as_user(site["nnulead"]).get("/partnership/actions/").content.decode()
    assert "1 overdue" in page and "Audit ICON" in page
    assert as_user(site["nurse"]).get("/partnership/actions/").status_code == 404


def test_the_learning_brief_is_laid_out_like_the_partnerships_and_marked(as_user, site, today):
    review = _open(site, today)
    reviews.write(acting_user=site["reviewer"], review=review, story="Mum's pregnancy was high risk.",
                  findings="", learning="Think Family\n- ICON for every agency")  # fmt: skip
    reviews.recommend(
        acting_user=site["reviewer"], review=review, title="Embed the stepped approach", detail=""
    )
    response = as_user(site["reviewer"]).get(f"/partnership/reviews/{review.pk}/brief/?format=pdf")
    assert response.status_code == 200
    text = " ".join(pdftext.text(response.content).split())
    for expected in ("OFFICIAL-SENSITIVE", "What was the story?", "Mum's pregnancy was high risk.",
                     "Recommendations", "Recommendation 1", "Embed the stepped approach",
                     "Learning for Professionals and Multi-Agency Working", "ICON for every agency"):  # fmt: skip
        assert expected in text, expected
    assert AuditEntry.objects.filter(action="export", what__contains="learning brief").exists()


def test_the_commands_flag_overdue_actions_and_name_a_safety_officer(site, today, capsys):
    from cradle import cli
    from cradle.partnership.models import SafetyOfficer

    review = _open(site, today)
    rec = reviews.recommend(acting_user=site["reviewer"], review=review, title="T", detail="")
    reviews.add_action(acting_user=site["reviewer"], recommendation=rec, description="Late",
                       agency="nnu", due_on=today - timedelta(days=2))  # fmt: skip
    assert cli.main(["review-actions", "--as-of", today.isoformat()]) == 0
    assert "1 overdue; 1 emails sent" in capsys.readouterr().out
    assert AuditEntry.objects.filter(actor="system:review-actions").exists()
    assert cli.main(["safety-officer", "other", "--name", "Dr B. Example"]) == 0
    assert SafetyOfficer.objects.get().user == site["other"]
    assert cli.main(["safety-officer", "nobody", "--name", "X"]) == 1


def test_a_reviewers_caseload_opens_the_chronology_and_their_reads_name_their_role(
    as_user, site, today
):
    """A reviewer cannot open the practitioners' family page (its decisions are not
    theirs), so their caseload links each family under review to its chronology, and the
    audit trail records their reads under the partnership reviewer role."""
    from cradle.access.models import AuditEntry
    from cradle.access.policy import family_for

    _open(site, today)
    family = site["family"]
    page = as_user(site["reviewer"]).get("/").content.decode()
    assert f'href="/partnership/families/{family.pk}/chronology/"' in page
    assert f'href="/families/{family.pk}/"' not in page
    family_for(site["reviewer"], family.pk, today)
    assert (
        AuditEntry.objects.filter(user=site["reviewer"], family=family).latest("seq").role
        == "partnership_reviewer"
    )
