"""The permission matrix, generated from the URL configuration and the ``cradle`` commands.

One row per role. For every page the URL configuration routes to, a user in that role
who holds the family, and one who does not, each get what the page's declared rule
(``cradle.access.guard.page``) says: the page, or "not found" (never "forbidden");
and on the pages that show a family's or a person's record, the sensitive detail only
for the roles that need it, a summary saying whom to ask for everyone else. A page
without a declared rule fails here, and so does a ``cradle`` command that is not in
``cradle.access.guard.COMMANDS``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver

from cradle.access.guard import COMMANDS, Rule
from cradle.access.models import Allocation, Membership, Role, Team
from cradle.access.policy import FAMILY_ROLES, SEES
from cradle.domain import Sensitivity
from cradle.records import models as m
from cradle.records.evaluation import reevaluate
from tests.signin import sign_in

pytestmark = pytest.mark.django_db

# The pages open to anyone: signing in and out (and the admin's sign-in, which sends
# people to Cradle's own). The admin's pages are Django's, held to the policy by
# cradle.records.admin (tests/db/test_admin.py).
PUBLIC = {"login", "logout", "admin-login"}
MH_NOTE = "Marker: the father has a mental health detail"
POLICE_NOTE = "Marker: police call-out detail"
REFUGE = ("Flat 2, Haven House, 1 Hidden Lane", "HX1 9ZZ")
AGENCY_OF_ROLE = {
    "health_visitor": "health_visiting", "midwife": "midwifery", "neonatal_nurse": "nnu", "gp": "gp",
    "emergency_clinician": "ed", "perinatal_mental_health": "perinatal_mental_health",
    "adult_mental_health": "adult_mental_health", "social_worker": "childrens_social_care", "police": "police",
    "safeguarding_lead": "health_visiting", "team_leader": "health_visiting",
    "partnership_reviewer": "childrens_social_care", "administrator": "health_visiting",
}  # fmt: skip


def _patterns(resolvers=None, prefix=""):
    """Every (route, name, view) the URL configuration has, the admin's apart."""
    for p in resolvers if resolvers is not None else get_resolver().url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            # The API is for agency systems with tokens, not people with pages: its
            # operations have their own matrix in tests/db/test_api_matrix.py.
            if route.startswith(("admin/", "api/")):
                continue
            yield from _patterns(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            name = p.name or ("admin-login" if route == "admin/login/" else None)
            yield route, name, p.callback


PAGES = list(_patterns())


def test_every_page_declares_who_may_see_it():
    undeclared = [
        route
        for route, name, view in PAGES
        if name not in PUBLIC and not isinstance(getattr(view, "access_rule", None), Rule)
    ]
    assert not undeclared, f"pages without an access rule (cradle.access.guard.page): {undeclared}"


def test_every_cradle_command_is_held_to_the_policy():
    """Every subcommand of the real parser (the built-in ones and those each package
    registers), read from its help."""
    import contextlib
    import io

    from cradle import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        cli.main(["--help"])
    listed = out.getvalue().split("{", 1)[1].split("}", 1)[0].split(",")
    assert set(listed) == set(COMMANDS), (
        f"without a policy row: {set(listed) - set(COMMANDS)}; gone: {set(COMMANDS) - set(listed)}"
    )


@pytest.fixture
def world(today):
    """A family held by one team of every role, and a stranger team of every role."""
    origin = today - timedelta(days=40)
    family = m.Family.objects.create(reference="matrix", title="Matrix family", origin=origin)
    people = {}
    for label, role, sex, born in (
        ("baby", "child", "female", origin),
        ("mum", "mother", "female", origin - timedelta(days=9000)),
        ("dad", "father", "male", origin - timedelta(days=9500)),
    ):
        people[label] = m.Person.objects.create(
            source_key=f"matrix/{label}",
            sex=sex,
            given_name=label.title(),
            family_name="Matrix",
            born_on=born,
        )
        m.FamilyMember.objects.create(family=family, person=people[label], role=role, label=label)
    family.index_child = people["baby"]
    family.save()
    m.Relationship.objects.create(
        person=people["dad"], kind="father_of", other=people["baby"], recorded_by="health_visiting"
    )
    # The mother and baby live in a refuge, an address nobody may be shown; the father's is not.
    for label, agency, flagged in (("mum", "midwifery", True), ("baby", "health_visiting", False)):
        m.Identity.objects.create(
            person=people[label], agency=agency, given_name=label.title(), family_name="Matrix", address=REFUGE[0],
            postcode=REFUGE[1], recorded_on=origin, do_not_disclose=flagged,
        )  # fmt: skip
    m.Identity.objects.create(
        person=people["dad"], agency="gp", given_name="Dad", family_name="Matrix", address="5 Open Road",
        postcode="HX2 1AA", recorded_on=origin,
    )  # fmt: skip
    plan = m.Contact.objects.create(
        source_key="matrix/plan", agency="childrens_social_care", kind="child_protection_plan_start",
        occurred_on=today - timedelta(days=10), recorded_on=today - timedelta(days=10),
    )  # fmt: skip
    plan.subjects.set([people["baby"]])
    bruise = m.Contact.objects.create(
        source_key="matrix/bruise", agency="gp", kind="gp_appointment", occurred_on=today - timedelta(days=2),
        recorded_on=today - timedelta(days=2), outcome="attended", channel="clinic",
    )  # fmt: skip
    bruise.subjects.set([people["baby"]])
    bruise.seen.set([people["baby"]])
    m.ContactFinding.objects.create(contact=bruise, word="bruise")
    visit = m.Contact.objects.create(
        source_key="matrix/visit", agency="health_visiting", kind="home_visit", occurred_on=today - timedelta(days=3),
        recorded_on=today - timedelta(days=3), outcome="attended", channel="home_visit",
    )  # fmt: skip
    visit.subjects.set([people["baby"], people["mum"]])
    visit.seen.set([people["baby"], people["mum"]])
    for key, agency, note in (
        ("mh", "adult_mental_health", MH_NOTE),
        ("police", "police", POLICE_NOTE),
    ):
        c = m.Contact.objects.create(
            source_key=f"matrix/{key}", agency=agency, kind="mental_health_review" if key == "mh" else "police_callout",
            occurred_on=today - timedelta(days=20), recorded_on=today - timedelta(days=20), outcome="attended", note=note,
        )  # fmt: skip
        c.subjects.set([people["dad"]])
    with time_machine.travel(today, tick=False):
        reevaluate(family, today)
    users = {}
    User = get_user_model()
    for role in Role:
        for kind in ("holds", "stranger"):
            team = Team.objects.create(
                name=f"{role.value} {kind}", agency=AGENCY_OF_ROLE[role.value]
            )
            user = User.objects.create_user(f"{role.value}-{kind}", password="x" * 12)
            Membership.objects.create(user=user, team=team, role=role.value)
            if kind == "holds":
                Allocation.objects.create(family=family, team=team, since=origin)
            users[role.value, kind] = user
    # The strangers' agencies are working with nobody: their contacts in this family are removed
    # from the picture by giving the matrix family's contacts only to the agencies above.
    return {"family": family, "people": people, "users": users, "visit": visit}


def _url(route: str, rule: Rule, world) -> str:
    family, people = world["family"], world["people"]
    pk = people["dad"].pk if rule.scope == "person" else family.pk
    url = "/" + route.replace("<int:pk>", str(pk)).replace(
        "<int:contact_pk>", str(world["visit"].pk)
    )
    return url.replace("<int:", "").replace(
        ">", ""
    )  # any other id: a number; the rule is checked first


def _held(role: str, kind: str) -> bool:
    """Whether the user reaches the family at all: held by their team (roles that work
    with families), or their agency working with it (the strangers of the agencies
    that recorded the contacts above)."""
    from cradle.access.policy import FAMILY_ROLES

    if role not in FAMILY_ROLES:
        return False
    working = set(m.Contact.objects.filter(outcome="attended").values_list("agency", flat=True))
    return kind == "holds" or AGENCY_OF_ROLE[role] in working


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_the_permission_matrix(client, world, today, role):
    rows = []
    for kind in ("holds", "stranger"):
        user = world["users"][role, kind]
        sign_in(client, user)
        with time_machine.travel(today, tick=False):
            for route, name, view in PAGES:
                if name in PUBLIC:
                    continue
                rule: Rule = view.access_rule
                url = _url(route, rule, world)
                method = "get" if "GET" in rule.methods else "post"
                response = getattr(client, method)(url)
                status = response.status_code
                body = response.content.decode()
                assert "Hidden Lane" not in body and "HX1 9ZZ" not in body, (
                    f"{role}/{kind}: {url} shows the refuge"
                )
                if role not in rule.roles or (rule.scope and not _held(role, kind)):
                    expected = {404}
                elif rule.scope or not any(c in route for c in "<"):
                    expected = {200, 302} if method == "post" else {200}
                else:
                    expected = {200, 404}  # a page about some other record: its own tests
                rows.append((kind, route, method, status, expected))
                assert status != 403, (
                    f"{role}/{kind}: {url} answered 'forbidden'; it must be 'not found'"
                )
        client.logout()
    wrong = [r for r in rows if r[3] not in r[4]]
    assert not wrong, "\n".join(
        f"{role}/{k} {m_.upper()} {r}: got {s}, expected {e}" for k, r, m_, s, e in wrong
    )


@pytest.mark.parametrize("role", FAMILY_ROLES)
def test_sensitive_detail_only_for_the_roles_that_need_it(client, world, today, role):
    """On the father's record and the family's chronology: the detail of his mental health
    and of the police call-out only for roles that read those classes; everyone else who
    may open the record sees that a concern exists and whom to ask."""
    sign_in(client, world["users"][role, "holds"])
    sees = SEES.get(role, frozenset())
    with time_machine.travel(today, tick=False):
        for url in (f"/families/{world['family'].pk}/", f"/people/{world['people']['dad'].pk}/"):
            page = client.get(url).content.decode()
            assert (MH_NOTE in page) == (Sensitivity.MENTAL_HEALTH in sees), (url, "mental health")
            assert (POLICE_NOTE in page) == (Sensitivity.POLICE in sees), (url, "police")
            if not sees >= {Sensitivity.MENTAL_HEALTH, Sensitivity.POLICE}:
                assert "may not see in detail: ask" in page, url


@pytest.mark.parametrize("role", FAMILY_ROLES)
def test_the_fathers_record_shows_the_concerns_about_his_baby_and_never_the_refuge(
    client, world, today, role
):
    """Calderdale recommendation 5: whoever may open the father's record sees that his baby
    is subject to a child protection plan and has open escalate or urgent alerts, and whom
    to ask; the mother's and baby's refuge address is withheld, on his record and theirs."""
    sign_in(client, world["users"][role, "holds"])
    with time_machine.travel(today, tick=False):
        dad = client.get(f"/people/{world['people']['dad'].pk}/").content.decode()
        family = client.get(f"/families/{world['family'].pk}/").content.decode()
        mum = client.get(f"/people/{world['people']['mum'].pk}/").content.decode()
    assert "data-concern-plan" in dad and "Ask:" in dad
    live = world["family"].alerts.filter(
        status__in=m.Alert.LIVE, severity__in=("escalate", "urgent")
    )
    assert live.exists() and all(a.rule in dad for a in live)
    assert "5 Open Road" in dad  # his own address is not confidential
    for page in (dad, family, mum):
        assert "Hidden Lane" not in page and "HX1 9ZZ" not in page
    assert (
        family.count("Address withheld: do not disclose") == 2
    )  # the mother's, and the baby's at the same address
    assert "Address withheld" in mum


def test_an_adult_with_no_concern_about_a_linked_child_shows_none(client, world, today):
    m.Contact.objects.filter(source_key="matrix/plan").delete()
    world["family"].alerts.update(status="dismissed")
    sign_in(client, world["users"]["health_visitor", "holds"])
    with time_machine.travel(today, tick=False):
        dad = client.get(f"/people/{world['people']['dad'].pk}/").content.decode()
    assert "data-concern" not in dad and "No open escalate or urgent alerts" in dad
