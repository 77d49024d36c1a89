"""Confidential addresses: a person or an address marked do-not-disclose (a refuge,
witness protection, an adoptive home) is never shown, exported or sent in a feed.

Everything that would put an address in front of a reader asks ``address_for`` (one
person) or ``addresses_for`` (many). An address is withheld when any record of it, by
any agency, is marked do-not-disclose, or belongs to a person whose addresses are all
confidential; so the baby living with a mother in a refuge has their address withheld
too, and a household found by matching addresses reveals nothing. The postcode goes
with the address: it alone would say where the family lives.
"""

from __future__ import annotations

from django.db.models import Q

from cradle.domain.objects import normalise_address
from cradle.records import models as m

WITHHELD = (
    "Address withheld: do not disclose. Ask the safeguarding lead if you need to reach the family."
)


def withheld_keys() -> set[str]:
    """The normalised keys of every address that must not be disclosed."""
    flagged = m.Identity.objects.filter(
        Q(do_not_disclose=True) | Q(person__address_confidential=True)
    )
    keys = {normalise_address(a, p) for a, p in flagged.values_list("address", "postcode")}
    keys.discard(None)
    return keys


def is_withheld(identity: m.Identity, keys: set[str] | None = None) -> bool:
    keys = withheld_keys() if keys is None else keys
    if identity.do_not_disclose or identity.person.address_confidential:
        return True
    return normalise_address(identity.address, identity.postcode) in keys


def addresses_for(people) -> dict[int, str]:
    """Each person's latest recorded address as a reader may see it ("" when none)."""
    people = list(people)
    keys = withheld_keys()
    confidential = {p.pk for p in people if p.address_confidential}
    out: dict[int, str] = {}
    latest = (
        m.Identity.objects.filter(person__in=people)
        .exclude(address="", postcode="")
        .order_by("person", "recorded_on", "pk")
    )
    for identity in latest.select_related("person"):
        if identity.person_id in confidential or is_withheld(identity, keys):
            out[identity.person_id] = WITHHELD
        else:
            out[identity.person_id] = ", ".join(
                x for x in (identity.address, identity.postcode) if x
            )
    for pk in confidential:
        out[pk] = WITHHELD
    return out


def address_for(person: m.Person) -> str:
    return addresses_for([person]).get(person.pk, "")
