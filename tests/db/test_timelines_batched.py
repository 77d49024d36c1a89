"""The links' look-ups batched across families (``cradle.links.timeline.linked_people_many``):
``timelines_for`` gives each family exactly ``timeline_for``'s timeline, and the links'
answer is the one the family-by-family look-up gave, in a number of queries that does
not grow with the number of families.

The families are invented: some share an address (so a member of one is a household
adult of the other), a police record is linked to members of two families, a housing
record is linked to two members of one family (ambiguous there: dropped), a member of
one family is linked to a member of another, and an unlinked link is ignored.

And the recipients of several raised alerts (``notify_raised_many``): each alert's
as ``notify_raised`` gives them, the teams holding a family read once for its alerts.
"""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cradle.access.models import Allocation, Team
from cradle.domain import Role
from cradle.domain.objects import normalise_address
from cradle.links.models import IdentityLink
from cradle.links.timeline import _postcode_variants, linked_people, linked_people_many
from cradle.records import models as m
from cradle.records.notify import notify_raised_many, recipients
from cradle.records.timeline import timeline_for, timelines_for
from tests.db.test_notify import MONDAY, alert_for, names, world  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

ORIGIN = date(2026, 6, 1)


def _person(key, sex, agency, address, postcode, *, born=date(1995, 1, 1)):
    p = m.Person.objects.create(
        source_key=key, sex=sex, born_on=born, given_name=key, family_name="X"
    )
    ident = m.Identity.objects.create(
        person=p,
        agency=agency,
        given_name=key,
        family_name="X",
        address=address,
        postcode=postcode,
        recorded_on=ORIGIN - timedelta(days=30),
    )
    return p, ident


def _link(a, b, *, active=True):
    left, right = sorted((a.pk, b.pk))
    return IdentityLink.objects.create(
        left_id=left, right_id=right, method="reviewer", active=active
    )


def _contact(key, agency, kind, day, *people):
    c = m.Contact.objects.create(
        source_key=key,
        agency=agency,
        kind=kind,
        occurred_on=ORIGIN + timedelta(days=day),
        recorded_on=ORIGIN + timedelta(days=day),
    )
    c.subjects.add(*people)
    return c


def _family(n, address, postcode):
    """A baby, its mother (at ``address``) and its father (elsewhere), with a contact each."""
    family = m.Family.objects.create(reference=f"F{n}", origin=ORIGIN)
    people = {}
    for role, sex, agency, addr, pc in (
        ("child", "female", "health_visiting", address, postcode),
        ("mother", "female", "midwifery", address, postcode),
        ("father", "male", "gp", f"{n} Far Road", "LS1 1AA"),
    ):
        p, ident = _person(f"f{n}:{role}", sex, agency, addr, pc)
        m.FamilyMember.objects.create(family=family, person=p, role=role, label=role)
        people[role] = (p, ident)
    family.index_child = people["child"][0]
    family.save()
    m.Relationship.objects.create(
        person=people["mother"][0],
        kind="mother_of",
        other=people["child"][0],
        recorded_by="midwifery",
    )
    _contact(
        f"f{n}:visit",
        "health_visiting",
        "home_visit",
        10 + n,
        people["child"][0],
        people["mother"][0],
    )
    return family, people


def _families(count):
    """``count`` families (at least 6) with the tangles described above."""
    made = [_family(n, f"{n} Mill Lane", f"HX{n % 4} 5AB") for n in range(count)]
    # Families 0 and 1 share an address, written differently.
    _, one = made[1]
    for role in ("child", "mother"):
        ident = one[role][1]
        ident.address, ident.postcode = "0, MILL LANE", "hx05ab"
        ident.save()
    # A lodger there, under two spellings of the postcode (the lower-case one first).
    _person("housing:lodger", "male", "housing", "0 mill lane", "hx0 5ab")
    _, lodger_police = _person("police:lodger", "male", "police", "0 Mill Lane", "HX0 5AB")
    # A neighbour at another address in the postcode: not a household adult.
    _person("housing:neighbour", "female", "housing", "9 Other Road", "HX0 5AB")
    # A police record linked to the fathers of families 0 and 2 (each its own: not ambiguous).
    police, police_ident = _person("police:1", "male", "police", "7 Canal Street", "HX1 2CD")
    _link(made[0][1]["father"][1], police_ident)
    _link(made[2][1]["father"][1], police_ident)
    _contact("police:1:callout", "police", "police_callout", -100, police)
    # A housing record linked to family 3's mother and father: ambiguous there, dropped;
    # it is at family 3's address, so a household adult there instead.
    housing, housing_ident = _person("housing:1", "male", "housing", "3 Mill Lane", "HX3 5AB")
    _link(made[3][1]["mother"][1], housing_ident)
    _link(made[3][1]["father"][1], housing_ident)
    _contact("housing:1:visit", "housing", "home_visit", -50, housing)
    # Family 4's father is linked to family 5's mother: an alias in each family.
    _link(made[4][1]["father"][1], made[5][1]["mother"][1])
    # An unlinked link counts for nothing.
    _link(made[5][1]["father"][1], lodger_police, active=False)
    # Family 4's mother is also the lodger's record (so the lodger is an alias there).
    _link(made[4][1]["mother"][1], lodger_police)
    return [f for f, _ in made]


def _members(family):
    return list(m.FamilyMember.objects.filter(family=family).select_related("person"))


def _linked_people_before(members):
    """The family-by-family look-up as it was before it was batched (commit a9cf07a)."""
    member_pks = {fm.person_id for fm in members}
    mine = dict(m.Identity.objects.filter(person_id__in=member_pks).values_list("pk", "person_id"))
    aliases, ambiguous = {}, set()
    if mine:
        links = IdentityLink.objects.filter(active=True).filter(
            left_id__in=mine.keys()
        ) | IdentityLink.objects.filter(active=True, right_id__in=mine.keys())
        pairs = list(links.values_list("left_id", "right_id"))
        others = {b if a in mine else a for a, b in pairs}
        person_of = dict(m.Identity.objects.filter(pk__in=others).values_list("pk", "person_id"))
        for a, b in pairs:
            member_identity, other_identity = (a, b) if a in mine else (b, a)
            other = person_of.get(other_identity)
            if other is None or other in member_pks:
                continue
            member = mine[member_identity]
            if aliases.get(other, member) != member:
                ambiguous.add(other)
            aliases[other] = member
    for other in ambiguous:
        aliases.pop(other, None)
    home_people = {
        fm.person_id for fm in members if fm.role in {Role.CHILD.value, Role.MOTHER.value}
    }
    homes = list(
        m.Identity.objects.filter(person_id__in=home_people)
        .exclude(postcode="")
        .values_list("address", "postcode")
    )
    keys = {normalise_address(a, p) for a, p in homes} - {None}
    household = []
    if keys:
        nearby = (
            m.Identity.objects.filter(postcode__in=_postcode_variants({p for _, p in homes}))
            .exclude(person_id__in=member_pks | set(aliases))
            .select_related("person")
        )
        seen = set()
        for identity in nearby:
            if identity.person_id in seen:
                continue
            if normalise_address(identity.address, identity.postcode) in keys:
                seen.add(identity.person_id)
                household.append(identity.person)
    return aliases, household


def test_the_batched_links_are_each_familys_own():
    families = _families(8)
    batched = linked_people_many({f.pk: _members(f) for f in families})
    for f in families:
        members = _members(f)
        aliases, household = batched[f.pk]
        assert (aliases, household) == linked_people(members)
        if connection.vendor == "sqlite":  # elsewhere the old query's order was the database's
            before_aliases, before_household = _linked_people_before(members)
            assert aliases == before_aliases
            assert [p.pk for p in household] == [p.pk for p in before_household]
        else:
            assert {p.pk for p in household} == {p.pk for p in _linked_people_before(members)[1]}

    def people(n, role):
        return m.FamilyMember.objects.get(family=families[n], role=role).person_id

    police = m.Person.objects.get(source_key="police:1").pk
    housing = m.Person.objects.get(source_key="housing:1").pk
    lodgers = [m.Person.objects.get(source_key=k).pk for k in ("housing:lodger", "police:lodger")]
    assert batched[families[0].pk][0] == {police: people(0, "father")}
    assert batched[families[2].pk][0] == {police: people(2, "father")}
    assert batched[families[3].pk][0] == {}  # ambiguous
    assert housing in {p.pk for p in batched[families[3].pk][1]}
    assert batched[families[4].pk][0] == {
        people(5, "mother"): people(4, "father"),
        lodgers[1]: people(4, "mother"),
    }
    assert batched[families[5].pk][0] == {people(4, "father"): people(5, "mother")}
    # Families 0 and 1: each other's baby and mother and both of the lodger's records.
    zero = [p.pk for p in batched[families[0].pk][1]]
    assert set(zero) == {people(1, "child"), people(1, "mother"), *lodgers}
    assert set(p.pk for p in batched[families[1].pk][1]) == {
        people(0, "child"),
        people(0, "mother"),
        *lodgers,
    }


def test_timelines_for_is_timeline_for_family_by_family():
    families = _families(8)
    together = timelines_for(families)
    assert list(together) == [f.pk for f in families]
    for f in families:
        assert together[f.pk] == timeline_for(f)
    # The links reached the timelines: the police record's contact is family 0's father's.
    father = m.FamilyMember.objects.get(family=families[0], role="father").person_id
    callout = m.Contact.objects.get(source_key="police:1:callout")
    assert [e.subjects for e in together[families[0].pk].events if e.id == f"c{callout.pk}"] == [
        (f"p{father}",)
    ]
    assert not [e for e in together[families[3].pk].events if e.id == f"c{callout.pk}"]


def test_the_queries_do_not_grow_with_the_families():
    families = _families(20)
    counts = []
    for some in (families[:2], families):
        with CaptureQueriesContext(connection) as queries:
            timelines_for(some)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    for some in (families[:2], families):
        members = {f.pk: _members(f) for f in some}
        with CaptureQueriesContext(connection) as queries:
            linked_people_many(members)
        # identities, links (by each side), the others' persons, the households
        assert len(queries) == 5


# --- the recipients of a family's raised alerts, resolved once -----------------------------


def test_notify_raised_many_resolves_each_familys_teams_once(world):  # noqa: F811
    family, lonely = world["family"], world["lonely"]
    alerts = [
        alert_for(family, for_whom=["practitioner"]),
        alert_for(family, for_whom=["recording_practitioner"], agency="childrens_social_care"),
        alert_for(family, for_whom=["health_visitor", "social_worker", "team_leader"]),
        alert_for(family, for_whom=["safeguarding_lead", "neonatal_unit"]),
        alert_for(lonely, for_whom=["practitioner"]),
        alert_for(lonely, for_whom=["team_leader"]),
        alert_for(lonely, agency="midwifery"),  # no midwifery duty desk: nobody
    ]
    resolved = m.Alert.objects.create(
        **{
            f.name: getattr(alerts[0], f.name)
            for f in m.Alert._meta.concrete_fields
            if f.name not in ("id", "status")
        },
        status="resolved",
    )
    expected = {a.pk: names(recipients(a)) for a in alerts}
    with CaptureQueriesContext(connection) as queries:
        sent = notify_raised_many([*alerts, resolved], MONDAY)
    assert {pk: names(users) for pk, users in sent.items()} == {**expected, resolved.pk: []}
    assert len(mail.outbox) == sum(len(v) for v in expected.values())
    allocations, teams = Allocation._meta.db_table, Team._meta.db_table
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert sum(f'FROM "{allocations}"' in sql for sql in reads) == 1  # both families in one query
    assert sum(f'FROM "{teams}" WHERE "{teams}"."agency" =' in sql for sql in reads) == 2
    # Sent once: again, nobody.
    assert all(users == [] for users in notify_raised_many(alerts, MONDAY).values())
