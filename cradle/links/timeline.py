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

from cradle.domain import Role
from cradle.domain.objects import normalise_address
from cradle.links.models import IdentityLink
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


def linked_people(members: list[m.FamilyMember]) -> tuple[dict[int, int], list[m.Person]]:
    """(other person's pk: the member's pk it is linked to; household adults not in the family)."""
    member_pks = {fm.person_id for fm in members}
    mine = dict(m.Identity.objects.filter(person_id__in=member_pks).values_list("pk", "person_id"))
    aliases: dict[int, int] = {}
    ambiguous: set[int] = set()
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
                ambiguous.add(other)  # linked to two members: the rules cannot say which
            aliases[other] = member
    for other in ambiguous:
        aliases.pop(other, None)

    home_roles = {Role.CHILD.value, Role.MOTHER.value}
    home_people = {fm.person_id for fm in members if fm.role in home_roles}
    homes = list(
        m.Identity.objects.filter(person_id__in=home_people)
        .exclude(postcode="")
        .values_list("address", "postcode")
    )
    keys = {normalise_address(a, p) for a, p in homes} - {None}
    household: list[m.Person] = []
    if keys:
        nearby = (
            m.Identity.objects.filter(postcode__in=_postcode_variants({p for _, p in homes}))
            .exclude(person_id__in=member_pks | set(aliases))
            .select_related("person")
        )
        seen: set[int] = set()
        for identity in nearby:
            if identity.person_id in seen:
                continue
            if normalise_address(identity.address, identity.postcode) in keys:
                seen.add(identity.person_id)
                household.append(identity.person)
    return aliases, household
