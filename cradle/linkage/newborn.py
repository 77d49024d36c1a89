"""Newborn and unborn records linked to the baby's own records at one address.

A maternity system records a birth as "Baby of <mother>" under the mother's
surname, often with a temporary number; midwifery records the pregnancy as
"Unborn <surname>" with the due date for a date of birth. The baby's own records
(GP, health visiting) carry the baby's given name and often another surname
(the father's). Splink can compare such a pair only on the birthday, the
address and the sex, and it takes the birthday and the address as independent
evidence. In one household they are not: two people at one address born on the
same day are twins. So Splink scores the pair lower than it deserves. Model
version 5 left a "Baby of" record under the mother's surname at 0.988, just
under the link threshold, and an unborn record under her surname below the
review threshold.

This rule links them without Splink, as the NHS number does, and only when
nothing is ambiguous. For a placeholder record:

- its candidates are the records at the same street address (the postcodes
  equal, or one missing; never an address that names no home, such as "no fixed
  abode"): for a "Baby of" record, the named records born on its date; for an
  unborn record, the records (named, or "Baby of") born between 20 weeks before
  and 6 weeks after its due date (a baby born very early, or a due date set
  wrong);
- the candidates are one baby: a single record, or records known to be one
  person (linked by NHS number, by Splink, by a person or by this rule, through
  any record; never through a link a person undid);
- for an unborn record, one of the candidates bears its surname (the mother's,
  which its "Baby of" record carries): another family's baby born at the
  address within the window is not enough;
- the placeholders of its kind claiming the same baby are one group of records
  from different agencies: two "Baby of" records for two babies (twins, even
  when Splink links their look-alike records; a mother-and-baby unit) leave
  every pair to Splink;
- nothing conflicts: no candidate of another recorded sex, and no candidate
  with another valid NHS number; and no person has said the two are two people.

When a condition fails the pairs keep Splink's scores and a person decides.
The windows are obstetric, not tuned: no truth label was read to set them. (The
rule was written after an evaluation showed that most of the synthetic
population's missed pairs were of this kind; README, linkage. A second
engineer's review found the twins, surname and undone-link cases, now tested.)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Sequence

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

# A baby born at 24 weeks is some 16 weeks early; a post-term birth is rarely more
# than two weeks late. The window is wider at both ends for a due date set wrong.
UNBORN_BEFORE_DAYS = 140
UNBORN_AFTER_DAYS = 42
NEWBORN, UNBORN = "newborn", "unborn"


def placeholder_kind(given_name: object) -> str | None:
    """ "unborn" for an "Unborn ..." record, "newborn" for "Baby of ..." and the like."""
    from cradle.linkage.names import PLACEHOLDER_GIVEN

    if not given_name or not PLACEHOLDER_GIVEN.match(str(given_name)):
        return None
    return UNBORN if str(given_name).strip().lower().startswith("unborn") else NEWBORN


# Addresses that name no home, as phrases in the normalised address ("N.F.A., Leeds"
# is "n f a leeds"): two records "at" one of them are not one household.
VAGUE_ADDRESS = re.compile(
    r"\b(no fixed (abode|address)|n ?f ?a|no address|homeless|sofa surfing|unknown|"
    r"not (known|recorded|given)|refused|withheld|confidential|temporary accommodation)\b"
    r"|^(none|n ?a)$"
)

# Surname particles two families' names share without being kin (van der Berg, van Dijk).
PARTICLES = frozenset(
    {"van", "von", "der", "den", "del", "della", "dos", "das", "bin", "binti", "ibn", "abu",
     "ben", "mac", "ter", "ten", "san", "las", "los"}
)  # fmt: skip


def newborn_pairs(
    frames: Sequence[pd.DataFrame],
    link_type: str,
    linked: Iterable[tuple[str, str]] | pd.DataFrame,
    *,
    different: Collection[tuple[str, str]] = (),
    max_home: int | None = None,
) -> set[tuple[str, str]]:
    """The (left, right) keys, left < right, that the rule links (module docstring).

    ``linked`` are the pairs known to be one person (pairs, or a frame of
    ``unique_id_l`` and ``unique_id_r``): this run's links and any a person or an
    earlier run made. Their groups are taken over every record they join, not only
    those at the address. ``different`` are pairs a person said are two people (a
    link undone, a candidate rejected): they join no group and are never returned.
    The rule's own "Baby of" links count for the unborn records' groups. Vectorised,
    on integer codes rather than ids (a million records hold some 200,000
    placeholders). An address more than ``max_home`` records share (a placeholder
    address, a hospital's: the linkage's ``MAX_BLOCK``) is no household: every
    placeholder there would be paired with every record."""
    homes = pd.unique(
        pd.concat([df.loc[df["placeholder"].astype(bool), "address_n"] for df in frames]).dropna()
    )
    homes = [h for h in homes if not VAGUE_ADDRESS.search(h)]
    if max_home is not None and homes:
        counts = pd.concat([df.loc[df["address_n"].isin(homes), "address_n"] for df in frames])
        crowded = set(counts.value_counts().loc[lambda n: n > max_home].index)
        homes = [h for h in homes if h not in crowded]
    if not homes:
        return set()
    columns = ["unique_id", "address_n", "placeholder", "given_name", "family", "family_parts", "agency",
               "dob_s", "sex_n", "nhs", "nhs_valid", "postcode_n"]  # fmt: skip
    parts = []
    for side, df in enumerate(frames):
        part = df.loc[df["address_n"].isin(homes) & df["dob_s"].notna(), columns]
        parts.append(part.assign(side=side))
    records = pd.concat(parts, ignore_index=True)
    records["unique_id"] = records["unique_id"].astype(str)
    if records["unique_id"].duplicated().any():
        log.warning("linkage: the newborn rule needs unique record ids; it links nothing here")
        return set()
    held = records["placeholder"].astype(bool).to_numpy()
    unborn = np.zeros(len(records), dtype=bool)
    unborn[held] = (
        records.loc[held, "given_name"].astype(str).str.strip().str.lower().str.startswith("unborn")
    ).to_numpy(dtype=bool)
    kind = np.where(unborn, 2, np.where(held, 1, 0)).astype(np.int8)  # 1 newborn, 2 unborn
    day = pd.to_datetime(records["dob_s"], errors="coerce")
    slim = pd.DataFrame(
        {
            "home": pd.factorize(records["address_n"])[0],
            "at": np.arange(len(records)),
            "kind": kind,
            "day": (day - pd.Timestamp("1970-01-01")).dt.days.to_numpy(),
        }
    ).dropna(subset=["day"])
    pairs = slim[slim["kind"] > 0].merge(slim[slim["kind"] < 2], on="home", suffixes=("_p", "_c"))
    # A "Baby of" record's candidates are the baby's named records; an unborn
    # record's are those and the "Baby of" record (the same baby, born).
    lead = pairs["day_p"] - pairs["day_c"]  # due date minus birth, in days
    keep = (pairs["kind_p"] == 1) & (pairs["kind_c"] == 0) & (lead == 0)
    keep |= (pairs["kind_p"] == 2) & lead.between(-UNBORN_AFTER_DAYS, UNBORN_BEFORE_DAYS)
    p_at, c_at = pairs.loc[keep, "at_p"].to_numpy(), pairs.loc[keep, "at_c"].to_numpy()

    def both_known_and_differ(name: str) -> np.ndarray:
        values = records[name].to_numpy(dtype=object)
        known = records[name].notna().to_numpy()
        return known[p_at] & known[c_at] & (values[p_at] != values[c_at])

    same_home = ~both_known_and_differ("postcode_n")
    p_at, c_at = p_at[same_home], c_at[same_home]
    if not len(p_at):
        return set()
    valid = records["nhs_valid"].eq(True).to_numpy()
    conflict = both_known_and_differ("sex_n") | (
        valid[p_at] & valid[c_at] & both_known_and_differ("nhs")
    )
    # An unborn record's baby is corroborated by a surname: the unborn record's (the
    # mother's) on one of the baby's records, as its "Baby of" record carries it. A
    # baby born at the address within the window to another family is not enough.
    # The same surname, or a part of a double or hyphenated one in common (Smith on
    # Smith-Jones); never a name merely inside another (Li in Williams).
    family = records["family"].to_numpy(dtype=object)
    parts = records["family_parts"].to_numpy(dtype=object)
    surname = np.zeros(len(p_at), dtype=bool)
    for i in np.flatnonzero(kind[p_at] == 2):
        a, b = p_at[i], c_at[i]
        surname[i] = bool(family[a]) and (
            family[a] == family[b] or bool(_long_parts(parts[a]) & _long_parts(parts[b]))
        )

    # Every record's group: connected components of the known links, on integer codes.
    ids = records["unique_id"].to_numpy(dtype=object)
    edges = _edge_frame(linked)
    if different:
        apart = {f"{a}\x1f{b}" for a, b in different} | {f"{b}\x1f{a}" for a, b in different}
        joined = edges["unique_id_l"] + "\x1f" + edges["unique_id_r"]
        edges = edges[~joined.isin(apart)]
    codes, _ = pd.factorize(
        np.concatenate([ids, edges["unique_id_l"].to_numpy(), edges["unique_id_r"].to_numpy()])
    )
    size = int(codes.max()) + 1
    at_code = codes[: len(ids)]
    e_left = codes[len(ids) : len(ids) + len(edges)]
    e_right = codes[len(ids) + len(edges) :]
    links = [(e_left, e_right)]
    agency = pd.factorize(records["agency"])[0]
    p_kind = kind[p_at]
    found_p, found_c = [], []
    for k in (1, 2):  # a "Baby of" link can make an unborn record's group
        mine = p_kind == k
        if not mine.any():
            continue
        chosen = _unambiguous(
            at_code[p_at[mine]],
            at_code[c_at[mine]],
            conflict[mine],
            surname[mine] if k == 2 else np.ones(int(mine.sum()), dtype=bool),
            agency[p_at[mine]],
            links,
            size,
        )
        links.append((at_code[p_at[mine][chosen]], at_code[c_at[mine][chosen]]))
        found_p.append(p_at[mine][chosen])
        found_c.append(c_at[mine][chosen])
    if not found_p:
        return set()
    p_all, c_all = np.concatenate(found_p), np.concatenate(found_c)
    if link_type == "link_only":  # decided over every record; only pairs across data sets
        across = records["side"].to_numpy()[p_all] != records["side"].to_numpy()[c_all]
        p_all, c_all = p_all[across], c_all[across]
    apart = {tuple(sorted(pair)) for pair in different}
    found = {
        (x, y) if x < y else (y, x)
        for x, y in zip(ids[p_all].tolist(), ids[c_all].tolist(), strict=True)
    }
    return found - apart


def _long_parts(parts) -> set[str]:
    """A surname's parts of three letters or more that are not particles ("de", "van")."""
    return {p for p in (parts if parts is not None else ()) if len(p) >= 3 and p not in PARTICLES}


def _edge_frame(linked) -> pd.DataFrame:
    if isinstance(linked, pd.DataFrame):  # record ids are text (cradle.linkage.frame)
        return linked[["unique_id_l", "unique_id_r"]]
    return pd.DataFrame(list(linked), columns=["unique_id_l", "unique_id_r"], dtype=object).astype(
        str
    )


def _unambiguous(p, c, conflict, corroborated, agency, links, size: int) -> np.ndarray:
    """Which of these (placeholder, candidate) pairs, given as record codes, link: the
    placeholder's candidates are one group, conflict nowhere and (for an unborn record)
    one of them bears its surname; and every placeholder claiming that group is one
    group of records from different agencies (two "Baby of" records from one maternity
    unit at one address, born one day, are twins, even when Splink links them: with
    no given name they look alike). ``links`` are (left, right) code arrays."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    left = np.concatenate([a for a, _ in links])
    right = np.concatenate([b for _, b in links])
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(size, size))
    _, group = connected_components(graph, directed=False)
    pairs = pd.DataFrame(
        {
            "p": p,
            "group_p": group[p],
            "group_c": group[c],
            "conflict": conflict,
            "surname": corroborated,
            "agency": agency,
        }
    )
    # Each placeholder's candidates: one group, with no conflict, corroborated.
    per_holder = pairs.groupby("p").agg(
        groups=("group_c", "nunique"), conflict=("conflict", "any"), surname=("surname", "any")
    )
    sure = per_holder.index[
        (per_holder["groups"] == 1) & ~per_holder["conflict"] & per_holder["surname"]
    ]
    # Every placeholder with a candidate in a baby's group claims it: one group of them,
    # no two from one agency.
    claims = (
        pairs.drop_duplicates(["group_c", "p"])
        .groupby("group_c")
        .agg(groups=("group_p", "nunique"), records=("p", "size"), agencies=("agency", "nunique"))
    )
    alone = claims.index[(claims["groups"] == 1) & (claims["records"] == claims["agencies"])]
    return (pairs["p"].isin(sure) & pairs["group_c"].isin(alone)).to_numpy()
