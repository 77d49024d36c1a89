"""What the links add to a family's timeline for the rules (``records.timeline``).

- A member's identity linked to another person's identity (the father's GP record
  linked to a police record held under another person row): the other person's
  identities and contacts are the member's, so a risk the police recorded reaches
  ``unshared-parent-risk``.
- A person not in the family with an identity at the baby's address (the
  mother's before birth), normalised as the rules compare addresses: a household
  adult, who reaches ``unlinked-household-adult``.

The rule engine sees all of this; what a reader sees of it is the permission
policy's and the disclosure rules' business (``cradle.access``).
"""

from __future__ import annotations

from collections import defaultdict

from cradle.domain import Role
from cradle.domain.objects import normalise_address
from cradle.links.models import IdentityLink
from cradle.records import bulk
from cradle.records import models as m


def _postcode_variants(postcodes: set[str]) -> set[str]:
    out = set()
    for pc in postcodes:
        compact = "".join(pc.split()).upper()
        out |= {pc, pc.upper(), pc.lower(), compact, compact.lower()}
        if len(compact) > 3:
            spaced = f"{compact[:-3]} {compact[-3:]}"
            out |= {spaced, spaced.lower()}
    return out


CHUNK = 400  # ids bound to one query (SQLite through Django: at most 999 parameters)


def _chunks(ids: list, size: int = CHUNK):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def linked_people(members: list[m.FamilyMember]) -> tuple[dict[int, int], list[m.Person]]:
    """(other person's pk: the member's pk it is linked to; household adults not in the family)."""
    return linked_people_many({0: members})[0]


def linked_people_many(
    members_by_family: dict[int, list[m.FamilyMember]],
) -> dict[int, tuple[dict[int, int], list[m.Person]]]:
    """``linked_people`` of each family (family pk: its members), read together: four
    queries for the lot (more only when the ids exceed ``CHUNK``), not four a family.

    Each family's answer is its own: a person linked to two members of one family is
    ambiguous there only, and a member of one family can be another's alias or
    household adult.
    """
    member_pks_of = {f: {fm.person_id for fm in ms} for f, ms in members_by_family.items()}
    everyone = sorted(set().union(*member_pks_of.values()))

    # The members' identities: which person holds each, and the addresses of the homes.
    person_of: dict[int, int] = {}
    held: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for pk, person, address, postcode in sorted(
        bulk.pairs(m.Identity, ("id", "person", "address", "postcode"), "person", everyone)
    ):
        person_of[pk] = person
        held[person].append((pk, address, postcode))

    # The active links touching any of them (in the links' order, as one family's query).
    links: dict[int, tuple[int, int]] = {}
    identities = sorted(person_of)
    for side in ("left", "right"):
        for pk, a, b in bulk.pairs(
            IdentityLink, ("id", "left", "right"), side, identities, active=True
        ):
            links[pk] = (a, b)
    links = dict(sorted(links.items()))
    links_of: dict[int, list[int]] = defaultdict(list)  # identity pk: its links' pks
    for pk, (a, b) in links.items():
        links_of[a].append(pk)
        links_of[b].append(pk)
    unknown = sorted({i for pair in links.values() for i in pair} - person_of.keys())
    person_of.update(bulk.pairs(m.Identity, ("id", "person"), "id", unknown))

    aliases_of: dict[int, dict[int, int]] = {}
    homes_of: dict[int, list[tuple[str, str]]] = {}
    home_roles = {Role.CHILD.value, Role.MOTHER.value}
    for family, members in members_by_family.items():
        member_pks = member_pks_of[family]
        mine = {pk: person for person in member_pks for pk, _a, _p in held.get(person, ())}
        aliases: dict[int, int] = {}
        ambiguous: set[int] = set()
        for link in sorted({link for pk in mine for link in links_of.get(pk, ())}):
            a, b = links[link]
            member_identity, other_identity = (a, b) if a in mine else (b, a)
            other = person_of.get(other_identity)
            if other is None or other in member_pks:
                continue
            member = mine[member_identity]
            if aliases.get(other, member) != member:
                ambiguous.add(other)  # linked to two members: the rules cannot say which
            aliases[other] = member
        for other in ambiguous:
            aliases.pop(other, None)
        aliases_of[family] = aliases
        home_people = {fm.person_id for fm in members if fm.role in home_roles}
        homes_of[family] = [
            (address, postcode)
            for person in home_people
            for _pk, address, postcode in held.get(person, ())
            if postcode != ""
        ]

    # Everyone at the homes' postcodes (as written in any of the ways the rules accept),
    # in the order of one family's query: by postcode, then by row.
    variants_of = {
        family: sorted(_postcode_variants({p for _, p in homes}))
        for family, homes in homes_of.items()
        if homes
    }
    at: dict[str, list[m.Identity]] = defaultdict(list)
    for chunk in _chunks(sorted(set().union(*variants_of.values()))):
        for identity in m.Identity.objects.filter(postcode__in=chunk).select_related("person"):
            at[identity.postcode].append(identity)
    for identities in at.values():
        identities.sort(key=lambda i: i.pk)

    out = {}
    for family in members_by_family:
        aliases = aliases_of[family]
        keys = {normalise_address(a, p) for a, p in homes_of[family]} - {None}
        household: list[m.Person] = []
        if keys:
            excluded = member_pks_of[family] | set(aliases)
            seen: set[int] = set()
            for postcode in variants_of[family]:
                for identity in at.get(postcode, ()):
                    if identity.person_id in seen or identity.person_id in excluded:
                        continue
                    if normalise_address(identity.address, identity.postcode) in keys:
                        seen.add(identity.person_id)
                        household.append(identity.person)
        out[family] = aliases, household
    return out
