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
  equal, or one missing): for a "Baby of" record, the named records born on its
  date; for an unborn record, the records (named, or "Baby of") born between 20
  weeks before and 6 weeks after its due date (a baby born very early, or a due
  date set wrong);
- the candidates are one baby: a single record, or records already linked into
  one group (by NHS number, by Splink or by this rule);
- the placeholders of its kind at that address that claim the same baby are
  one group too (one record, or records already linked): two "Baby of" records
  for two babies (twins; a mother-and-baby unit) leave every pair to Splink;
- nothing conflicts: no candidate of another recorded sex, and no candidate
  with another valid NHS number.

When a condition fails the pairs keep Splink's scores and a person decides.
The windows are obstetric, not tuned: no truth label was read to set them. (The
rule was written after an evaluation showed that most of the synthetic
population's missed pairs were of this kind; README, linkage.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

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


def newborn_pairs(
    frames: Sequence[pd.DataFrame],
    link_type: str,
    linked: Iterable[tuple[str, str]] | pd.DataFrame,
) -> set[tuple[str, str]]:
    """The (left, right) keys, left < right, that the rule links (module docstring).

    ``linked`` are the pairs already linked (pairs, or a frame of ``unique_id_l`` and
    ``unique_id_r``), which make the groups; the rule's own "Baby of" links count for
    the unborn records' groups. Vectorised, on row positions rather than ids (a
    million records hold some 200,000 placeholders)."""
    # Only the records at an address where some placeholder is.
    homes = pd.unique(
        pd.concat([df.loc[df["placeholder"].astype(bool), "address_n"] for df in frames]).dropna()
    )
    if not len(homes):
        return set()
    columns = ["unique_id", "address_n", "placeholder", "given_name", "dob_s", "sex_n", "nhs",
               "nhs_valid", "postcode_n"]  # fmt: skip
    parts = []
    for side, df in enumerate(frames):
        part = df.loc[df["address_n"].isin(homes) & df["dob_s"].notna(), columns]
        parts.append(part.assign(side=side))
    records = pd.concat(parts, ignore_index=True)
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
            "side": records["side"].to_numpy(),
        }
    ).dropna(subset=["day"])
    pairs = slim[slim["kind"] > 0].merge(slim[slim["kind"] < 2], on="home", suffixes=("_p", "_c"))
    # A "Baby of" record's candidates are the baby's named records; an unborn
    # record's are those and the "Baby of" record (the same baby, born).
    lead = pairs["day_p"] - pairs["day_c"]  # due date minus birth, in days
    keep = (pairs["kind_p"] == 1) & (pairs["kind_c"] == 0) & (lead == 0)
    keep |= (pairs["kind_p"] == 2) & lead.between(-UNBORN_AFTER_DAYS, UNBORN_BEFORE_DAYS)
    if link_type == "link_only":
        keep &= pairs["side_p"] != pairs["side_c"]
    p_at, c_at = pairs.loc[keep, "at_p"].to_numpy(), pairs.loc[keep, "at_c"].to_numpy()
    p_kind = pairs.loc[keep, "kind_p"].to_numpy()

    def both_known_and_differ(name: str) -> np.ndarray:
        values = records[name].to_numpy(dtype=object)
        known = records[name].notna().to_numpy()
        a, b = values[p_at], values[c_at]
        return known[p_at] & known[c_at] & (a != b)

    postcode_ok = ~both_known_and_differ("postcode_n")
    valid = records["nhs_valid"].eq(True).to_numpy()
    conflict = both_known_and_differ("sex_n") | (
        valid[p_at] & valid[c_at] & both_known_and_differ("nhs")
    )
    p_at, c_at, p_kind, conflict = (
        p_at[postcode_ok],
        c_at[postcode_ok],
        p_kind[postcode_ok],
        conflict[postcode_ok],
    )
    if not len(p_at):
        return set()

    # The links among these records, as row positions.
    ids = pd.Index(records["unique_id"].astype(str))
    edges = _edge_frame(linked)
    left, right = ids.get_indexer(edges["unique_id_l"]), ids.get_indexer(edges["unique_id_r"])
    inside = (left >= 0) & (right >= 0)
    links = [(left[inside], right[inside])]
    found_p, found_c = [], []
    for k in (1, 2):  # a "Baby of" link can make an unborn record's group
        mine = p_kind == k
        if not mine.any():
            continue
        chosen = _unambiguous(p_at[mine], c_at[mine], conflict[mine], links, len(records))
        links.append((p_at[mine][chosen], c_at[mine][chosen]))
        found_p.append(p_at[mine][chosen])
        found_c.append(c_at[mine][chosen])
    if not found_p:
        return set()
    names = ids.to_numpy()
    a, b = names[np.concatenate(found_p)], names[np.concatenate(found_c)]
    return {(x, y) if x < y else (y, x) for x, y in zip(a.tolist(), b.tolist(), strict=True)}


def _edge_frame(linked) -> pd.DataFrame:
    if isinstance(linked, pd.DataFrame):
        return linked[["unique_id_l", "unique_id_r"]].astype(str)
    return pd.DataFrame(list(linked), columns=["unique_id_l", "unique_id_r"], dtype=object)


def _unambiguous(p_at, c_at, conflict, links, size: int) -> np.ndarray:
    """Which of these (placeholder, candidate) pairs link: the placeholder's candidates
    are one group, conflict nowhere, and no other group of placeholders of its kind
    claims that group. ``links`` are (left, right) position arrays among ``size`` rows."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    left = np.concatenate([a for a, _ in links])
    right = np.concatenate([b for _, b in links])
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(size, size))
    _, group = connected_components(graph, directed=False)
    pairs = pd.DataFrame(
        {"p": p_at, "group_p": group[p_at], "group_c": group[c_at], "conflict": conflict}
    )
    # Each placeholder's candidates: one group, with no conflict.
    per_holder = pairs.groupby("p").agg(groups=("group_c", "nunique"), conflict=("conflict", "any"))
    sure = per_holder.index[(per_holder["groups"] == 1) & ~per_holder["conflict"]]
    # Every placeholder with a candidate in a baby's group claims it: one group of them may.
    claims = pairs.groupby("group_c")["group_p"].nunique()
    alone = claims.index[claims == 1]
    return (pairs["p"].isin(sure) & pairs["group_c"].isin(alone)).to_numpy()
