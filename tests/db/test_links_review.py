"""The review queue page: for safeguarding leads and administrators only (everyone
else "not found"); the pair side by side with its probability and the waterfall of
match weights; confirm or reject with a CSRF form; every view and decision audited."""

from datetime import date

import pytest
from django.test import Client

from cradle.access.models import AuditEntry, Membership, Team
from cradle.links.models import Candidate, IdentityLink
from cradle.records import models as m
from tests.signin import sign_in

pytestmark = pytest.mark.django_db

WEIGHTS = [
    {"comparison": "prior", "level": "two records chosen at random", "weight": -12.0},
    {"comparison": "given_name", "level": "same name by nickname", "weight": 6.5},
    {"comparison": "family_name", "level": "Exact match on family", "weight": 8.0},
    {"comparison": "date_of_birth", "level": "All other comparisons", "weight": -3.5},
    {"comparison": "address", "level": "same address and postcode", "weight": 5.0},
]


def _identity(key, agency, given, family, address, postcode, *, withheld=False):
    person = m.Person.objects.create(source_key=key, sex="male", born_on=date(1993, 4, 2))
    return m.Identity.objects.create(
        person=person, agency=agency, given_name=given, family_name=family, address=address,
        postcode=postcode, recorded_on=date(2026, 2, 1), do_not_disclose=withheld,
    )  # fmt: skip


@pytest.fixture
def pair():
    a = _identity("gp:1", "gp", "Daniel", "Walsh", "12 Mill Lane, Halifax", "HX1 5AB")
    b = _identity("police:1", "police", "Danny", "Walsh", "Hidden Lane 1", "HX1 9ZZ", withheld=True)
    left, right = sorted((a, b), key=lambda i: i.pk)
    return Candidate.objects.create(
        left=left, right=right, probability=0.81, match_weight=4.0, weights=WEIGHTS
    )


@pytest.fixture
def users(django_user_model):
    team = Team.objects.create(name="T", agency="health_visiting")
    out = {}
    for role in ("safeguarding_lead", "administrator", "health_visitor", "team_leader"):
        user = django_user_model.objects.create_user(role, password="x" * 12)
        Membership.objects.create(user=user, team=team, role=role)
        out[role] = user
    return out


def _client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    sign_in(client, user)
    return client


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("safeguarding_lead", 200),  # reviews the queue
        ("administrator", 200),  # also reviews
        ("health_visitor", 404),  # a practitioner: "not found"
        ("team_leader", 404),
    ],
)
def test_only_leads_and_administrators_reach_the_queue(users, pair, role, status):
    client = _client(users[role])
    assert client.get("/links/").status_code == status
    assert client.get(f"/links/{pair.pk}/").status_code == status


def test_signed_out_goes_to_sign_in(pair):
    response = Client().get(f"/links/{pair.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_pair_is_shown_side_by_side_with_its_waterfall_and_the_view_is_audited(users, pair):
    lead = users["safeguarding_lead"]
    page = _client(lead).get(f"/links/{pair.pk}/").content.decode()
    assert "Daniel" in page and "Danny" in page
    assert "81%" in page
    # The waterfall: one bar per weight, for and against, as SVG with classes only.
    assert page.count('class="links-bar-for"') == 3
    assert page.count('class="links-bar-against"') == 2
    assert "same name by nickname" in page
    assert "style=" not in page and "<script" not in page
    assert "links/links.css" in page
    # The police record's address is do-not-disclose: never shown.
    assert "Hidden Lane" not in page and "HX1 9ZZ" not in page
    assert 'name="csrfmiddlewaretoken"' in page
    entry = AuditEntry.objects.filter(user=lead, action="read").last()
    assert entry.what.startswith(f"link candidate {pair.pk}")
    assert "Walsh" not in entry.what


def test_confirming_links_the_pair_and_is_audited(users, pair):
    lead = users["safeguarding_lead"]
    client = _client(lead)
    page = client.get(f"/links/{pair.pk}/")
    token = page.context["csrf_token"]
    response = client.post(
        f"/links/{pair.pk}/",
        {"decision": "confirm", "note": "same man", "csrfmiddlewaretoken": str(token)},
    )
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == Candidate.CONFIRMED and pair.decided_by == lead and pair.is_match
    link = IdentityLink.objects.get(active=True)
    assert (link.left_id, link.right_id, link.method) == (pair.left_id, pair.right_id, "reviewer")
    assert AuditEntry.objects.filter(user=lead, action="link").count() == 1


def test_rejecting_keeps_the_records_apart(users, pair):
    client = _client(users["administrator"])
    token = client.get(f"/links/{pair.pk}/").context["csrf_token"]
    client.post(f"/links/{pair.pk}/", {"decision": "reject", "csrfmiddlewaretoken": str(token)})
    pair.refresh_from_db()
    assert pair.status == Candidate.REJECTED and pair.is_match is False
    assert not IdentityLink.objects.exists()


def test_a_decision_without_the_csrf_token_is_refused(users, pair):
    response = _client(users["safeguarding_lead"]).post(
        f"/links/{pair.pk}/", {"decision": "confirm"}
    )
    assert response.status_code == 403
    pair.refresh_from_db()
    assert pair.status == Candidate.PENDING


def test_a_practitioner_cannot_decide(users, pair):
    client = _client(users["health_visitor"])
    assert client.post(f"/links/{pair.pk}/", {"decision": "confirm"}).status_code in (403, 404)
    pair.refresh_from_db()
    assert pair.status == Candidate.PENDING


def test_the_queue_says_when_the_last_run_left_records_unpaired_in_crowded_blocks(users, pair):
    """Records sharing placeholder details are not paired there: the run's summary and
    audit entry said so, and now the reviewers' page, in counts and keys, never values.
    A run that ended since without any clears it; a run still going or failed is not
    the last run that ended."""
    from django.utils import timezone

    from cradle.links.models import LinkRun

    def run(**fields) -> LinkRun:
        return LinkRun.objects.create(
            link_threshold=0.99, review_threshold=0.5, finished_at=timezone.now(), **fields
        )

    lead = _client(users["safeguarding_lead"])
    assert "data-crowded" not in lead.get("/links/").content.decode()
    run(status=LinkRun.DONE, crowded=8, crowded_keys="date of birth and family name; address")
    run(status=LinkRun.FAILED)
    page = lead.get("/links/").content.decode()
    assert "data-crowded" in page
    assert (
        "found 8 records in blocks of more than 1,000 sharing one date of birth and family "
        "name, or one address"
    ) in page
    run(status=LinkRun.DONE)
    assert "data-crowded" not in lead.get("/links/").content.decode()
