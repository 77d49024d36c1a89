"""Made-up names, addresses and NHS numbers for synthetic people.

Names and addresses come from Faker's ``en_GB`` providers, drawn once per seed into
pools that each family samples from with its own random generator: calling Faker per
person would cost more than generating the rest of the family, and a pool keeps the
population deterministic however its families are split between processes.

NHS numbers are in the range never issued to patients (``9000000000``-``9999999999``,
kept for synthetic and test records), with a valid modulus-11 check digit from the
``nhs-number`` package. Each family owns a block of 16 nine-digit stems, placed by a
bijection of (seed, family number), so numbers never repeat within a population.
"""

from __future__ import annotations

import random
from functools import lru_cache

from nhs_number import calculate_checksum

_STEM_BASE = 900_000_000  # nine-digit stems of 9xxxxxxxxx numbers
_BLOCK = 16
_BLOCKS = 100_000_000 // _BLOCK  # 6,250,000 families per population at most
_STRIDE = 4_999_999  # coprime with _BLOCKS (= 2^4 * 5^8): family -> block is a bijection


class Pools:
    """Faker ``en_GB`` names and addresses, drawn once for a seed."""

    def __init__(self, seed: int, size: int = 1500):
        from faker import Faker

        fake = Faker("en_GB")
        fake.seed_instance(seed)
        self.female = [fake.first_name_female() for _ in range(size)]
        self.male = [fake.first_name_male() for _ in range(size)]
        self.surnames = [fake.last_name() for _ in range(size)]
        self.streets = [fake.street_name() for _ in range(size)]
        self.towns = [fake.city() for _ in range(size // 5)]
        self.postcodes = [fake.postcode() for _ in range(size * 2)]

    def address(self, rng: random.Random) -> tuple[str, str]:
        street = f"{rng.randint(1, 250)} {rng.choice(self.streets)}, {rng.choice(self.towns)}"
        return street, rng.choice(self.postcodes)

    def given(self, rng: random.Random, sex: str) -> str:
        return rng.choice(self.male if sex == "male" else self.female)


@lru_cache(maxsize=4)
def pools(seed: int) -> Pools:
    return Pools(seed)


def nhs_numbers(seed: int, family: int) -> list[str]:
    """The valid synthetic NHS numbers of one family's block, in order (about 14 of 16)."""
    if not 0 <= family < _BLOCKS:
        raise ValueError(f"family number {family} out of range (0 to {_BLOCKS - 1})")
    block = (family * _STRIDE + seed * 7_919) % _BLOCKS
    out = []
    for j in range(_BLOCK):
        stem = str(_STEM_BASE + block * _BLOCK + j)
        check = calculate_checksum(stem)
        if check is not None and check < 10:
            out.append(f"{stem}{check}")
    return out
