"""A synthetic population of agency records with known truth, for evaluation.

Families around a baby (mother, father, the baby, sometimes another adult in
the household), each person held by a few agencies, each record with the
errors real records carry: typos, nicknames, a mother's changed or hyphenated
surname, transposed day and month, a one-digit date, moved house, missing and
mistyped NHS numbers, "Baby of <mother>" newborn records with temporary
numbers, and the unborn baby's record (the due date for a birth date). Names
and addresses are Faker's en_GB inventions and NHS numbers come from the
synthetic range (999...) of the ``nhs-number`` package: nobody real.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import date, timedelta

import pandas as pd

from cradle.linkage.frame import IdentityRecord, records_to_frame
from cradle.linkage.names import nicknames

TODAY = date(2026, 6, 1)
_KEYBOARD = "abcdefghijklmnopqrstuvwxyz"


@contextmanager
def _seeded_global_random(seed: int):
    # The nhs-number package draws from the global random module.
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


def _nhs_numbers(n: int, seed: int) -> list[str]:
    import nhs_number

    found: list[str] = []
    seen: set[str] = set()
    with _seeded_global_random(seed):
        while len(found) < n:
            for number in nhs_number.generate(for_region=nhs_number.REGION_SYNTHETIC, quantity=n):
                if number not in seen:
                    seen.add(number)
                    found.append(number)
    return found[:n]


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.35:
        return text[:i] + rng.choice(_KEYBOARD) + text[i + 1 :]
    if kind < 0.6:
        return text[:i] + text[i + 1 :]
    if kind < 0.85:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + text[i] + text[i:]


def _mistype_number(rng: random.Random, number: str) -> str:
    i = rng.randrange(0, 9)
    if rng.random() < 0.5:
        return number[:i] + number[i + 1] + number[i] + number[i + 2 :]
    digit = str((int(number[i]) + rng.randrange(1, 10)) % 10)
    return number[:i] + digit + number[i + 1 :]


def population(people: int = 1500, seed: int = 6) -> tuple[pd.DataFrame, set[tuple[str, str]]]:
    """About ``people`` synthetic people's records (a frame) and the true pairs among them."""
    from faker import Faker

    rng = random.Random(seed)
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    by_nick: dict[str, list[str]] = {}
    for nick, full in nicknames().items():
        by_nick.setdefault(full, []).append(nick)

    persons: list[dict] = []

    def address() -> tuple[str, str]:
        return fake.street_address().replace("\n", ", "), fake.postcode()

    while len(persons) < people:
        home = address()
        surname = fake.last_name()
        mother = {
            "sex": "female",
            "given": fake.first_name_female(),
            "family": surname,
            "dob": TODAY - timedelta(days=rng.randint(17 * 365, 42 * 365)),
            "home": home,
            "role": "mother",
        }
        together = rng.random() < 0.7
        father = {
            "sex": "male",
            "given": fake.first_name_male(),
            "family": surname if together and rng.random() < 0.6 else fake.last_name(),
            "dob": TODAY - timedelta(days=rng.randint(17 * 365, 50 * 365)),
            "home": home if together else address(),
            "role": "father",
        }
        born = TODAY - timedelta(days=rng.randint(0, 360))
        baby = {
            "sex": rng.choice(["female", "male"]),
            "given": fake.first_name_female() if rng.random() < 0.5 else fake.first_name_male(),
            "family": surname if rng.random() < 0.8 else father["family"],
            "dob": born,
            "due": born + timedelta(days=rng.randint(-14, 14)),
            "home": home,
            "role": "baby",
            "mother": mother,
        }
        persons += [mother, father, baby]
        if rng.random() < 0.15:
            persons.append(
                {
                    "sex": "male",
                    "given": fake.first_name_male(),
                    "family": fake.last_name(),
                    "dob": TODAY - timedelta(days=rng.randint(18 * 365, 60 * 365)),
                    "home": home,
                    "role": "household_adult",
                }
            )
    for person, number in zip(persons, _nhs_numbers(len(persons), seed), strict=True):
        person["nhs"] = number

    agencies = {
        "mother": [("midwifery", 0.95), ("gp", 0.9), ("maternity", 0.8), ("health_visiting", 0.7)],
        "father": [
            ("gp", 0.8),
            ("police", 0.25),
            ("adult_mental_health", 0.15),
            ("probation", 0.1),
        ],
        "household_adult": [("gp", 0.8), ("police", 0.3), ("housing", 0.3)],
        "baby": [("gp", 0.9), ("health_visiting", 0.9)],
    }
    no_nhs = {"police": 0.6, "probation": 0.5, "housing": 0.7}
    records: list[IdentityRecord] = []
    truth_of: dict[str, int] = {}
    counter = 0

    def add(owner: int, **fields) -> None:
        nonlocal counter
        counter += 1
        source_id = f"S{counter:06d}"
        records.append(IdentityRecord(source_id=source_id, **fields))
        truth_of[f"{fields['agency']}:{source_id}"] = owner

    for owner, p in enumerate(persons):
        held = [a for a, chance in agencies[p["role"]] if rng.random() < chance]
        if p["role"] == "baby":
            # The newborn record at birth, and the unborn baby's record before it.
            mother = p["mother"]
            temporary = f"T{rng.randrange(10**8):08d}"
            add(
                owner,
                agency="maternity",
                given_name=f"Baby of {mother['given']}",
                family_name=mother["family"],
                sex=p["sex"],
                dob=p["dob"],
                nhs_number=temporary,
                address=p["home"][0],
                postcode=p["home"][1],
            )
            if rng.random() < 0.7:
                add(
                    owner,
                    agency="midwifery",
                    given_name="Unborn",
                    family_name=mother["family"],
                    sex=None,
                    dob=p["due"],
                    nhs_number=None,
                    address=p["home"][0],
                    postcode=p["home"][1],
                )
        elif not held:
            held = [agencies[p["role"]][0][0]]
        for agency in held:
            given, family, dob, nhs = p["given"], p["family"], p["dob"], p["nhs"]
            street, postcode = p["home"]
            if rng.random() < 0.12 and given.lower() in by_nick:
                given = rng.choice(by_nick[given.lower()]).title()
            if rng.random() < 0.08:
                given = _typo(rng, given)
            if rng.random() < 0.08:
                family = _typo(rng, family)
            if p["role"] == "mother" and rng.random() < 0.08:
                family = f"{family}-{fake.last_name()}"
            roll = rng.random()
            if roll < 0.03 and dob.day <= 12 and dob.day != dob.month:
                dob = date(dob.year, dob.day, dob.month)
            elif roll < 0.06:
                dob = dob + timedelta(days=rng.choice([-10, -1, 1, 10]))
            if rng.random() < 0.15 and p["role"] != "baby":
                street, postcode = address()  # moved house
            if rng.random() < 0.05:
                postcode = None
            if rng.random() < no_nhs.get(agency, 0.1):
                nhs = None
            elif rng.random() < 0.03:
                nhs = _mistype_number(rng, nhs)
            add(
                owner,
                agency=agency,
                given_name=given,
                family_name=family,
                sex=p["sex"] if rng.random() > 0.05 else None,
                dob=dob,
                nhs_number=nhs,
                address=street,
                postcode=postcode,
            )

    frame = records_to_frame(records)
    by_owner: dict[int, list[str]] = {}
    for uid, owner in truth_of.items():
        by_owner.setdefault(owner, []).append(uid)
    truth = set()
    for uids in by_owner.values():
        uids.sort()
        for i, a in enumerate(uids):
            for b in uids[i + 1 :]:
                truth.add((a, b))
    return frame, truth
