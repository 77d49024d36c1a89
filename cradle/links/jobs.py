"""Batch linkage against the database: read every identity, link them in the core,
then store the result in one transaction with one audit entry for the job.

The core computes everything before anything is written, so a run that fails
(a bad model file, Spark gone) leaves the previous links and queue untouched.
People's decisions stand: a pair a reviewer rejected, or a link a person undid,
is never linked again by a run; a pending candidate is refreshed, not repeated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from cradle.access import audit
from cradle.linkage import model as linkage_model
from cradle.linkage.frame import prepare
from cradle.linkage.link import DEFAULT_THRESHOLDS, Pair, Thresholds, fit, link, trainable
from cradle.linkage.model import SavedModel, default_model
from cradle.links.models import Candidate, IdentityLink, LinkRun
from cradle.records import models as m

log = logging.getLogger(__name__)
# Below this many records a database trains a poor model: the shipped one is used.
MIN_RECORDS_TO_TRAIN = 2000


def uid(identity_pk: int, agency: str) -> str:
    return f"{agency}:{identity_pk}"


def pk_of_uid(value: str) -> int:
    return int(value.rsplit(":", 1)[1])


def identity_frame() -> pd.DataFrame:
    """Every identity row as the core's frame (sex and date of birth from its person; a
    baby not yet born has its due date for a date of birth)."""
    rows = m.Identity.objects.values_list(
        "pk",
        "agency",
        "given_name",
        "family_name",
        "nhs_number",
        "address",
        "postcode",
        "person__sex",
        "person__born_on",
        "person__due_on",
        "person__nhs_number",
    ).order_by("pk")
    raw = pd.DataFrame(
        [
            {
                "unique_id": uid(pk, agency),
                "agency": agency,
                "source_id": str(pk),
                "given_name": given,
                "family_name": family,
                "sex": None if sex == "unknown" else sex,
                # A baby not yet born: the due date, as an "Unborn" record carries it
                # (the model's due-date level, and cradle.linkage.newborn).
                "dob": born or due,
                "nhs_number": nhs or person_nhs or None,
                "address": address,
                "postcode": postcode,
            }
            for pk, agency, given, family, nhs, address, postcode, sex, born, due, person_nhs in rows
        ],
        columns=[
            "unique_id",
            "agency",
            "source_id",
            "given_name",
            "family_name",
            "sex",
            "dob",
            "nhs_number",
            "address",
            "postcode",
        ],
    )
    return prepare(raw)


def train_model(path: str | Path) -> SavedModel:
    """A model trained on the database's identities but those in crowded blocks
    (``trainable``), or the shipped model when too few are left to train on."""
    frame = identity_frame()
    (usable,), left_out = trainable([frame], "dedupe_only")
    if len(usable) < MIN_RECORDS_TO_TRAIN:
        log.warning(
            "linkage: %d identities (%d left out, in crowded blocks) is too few to train on; "
            "saving the shipped model",
            len(usable),
            left_out,
        )
        model = default_model()
        what = f"linkage model {model.hash}, the shipped one: {len(usable)} identities, too few to train on"
    else:
        model = replace(fit([usable]), left_out=left_out)
        what = f"linkage model {model.hash} trained on {len(usable)} identities"
    model.save(path)
    audit.record(
        actor="system:linkage",
        action="train",
        what=what + (f", {left_out} in crowded blocks left out" if left_out else ""),
    )
    return model


def load_model(path: str | Path | None) -> SavedModel:
    if path and Path(path).exists():
        return SavedModel.load(path)
    return default_model()


@dataclass
class RunReport:
    run: LinkRun
    new_links: int
    new_candidates: int
    skipped_decided: int

    def summary(self) -> str:
        r = self.run
        scope = (
            f"{r.new_records} new or changed identities against {r.records}"
            if r.new_records is not None
            else f"{r.records} identities"
        )
        return (
            f"linkage run {r.pk}: {scope}, {self.new_links} new links "
            f"({r.linked} pairs at or above {r.link_threshold}), {self.new_candidates} new in the "
            f"review queue ({r.queued} pairs from {r.review_threshold}), "
            f"{self.skipped_decided} pairs left as people decided; model {r.model_hash}"
            + (
                f"; {r.crowded} identities in blocks of more than "
                f"{linkage_model.MAX_BLOCK:,} sharing one {r.crowded_keys.replace('; ', ', or one ')}"
                ", not paired there (placeholder details?), compared through their other details"
                if r.crowded
                else ""
            )
        )


class LinkageBusy(Exception):
    """Another linkage run holds the database's linkage lock: this one did nothing."""


# PostgreSQL's advisory lock for linkage runs ("crad"): one at a time, in any process.
# (SQLite takes one write transaction at a time, and a run's store reads what is linked
# after its first write: a second run there finds the first's links made, and skips them.)
LOCK = 0x63726164


@contextmanager
def _one_at_a_time():
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK])
        if not cursor.fetchone()[0]:
            raise LinkageBusy("another linkage run is under way")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK])


def run_linkage(
    *,
    model_path: str | Path | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    backend: str = "duckdb",
    spark=None,
    progress: bool = False,
) -> RunReport:
    """Link every identity with every other (raises ``LinkageBusy`` when another run is
    under way)."""
    with _one_at_a_time():
        return _linked(
            _due(),
            new=False,
            model_path=model_path,
            thresholds=thresholds,
            backend=backend,
            spark=spark,
            progress=progress,
        )


def link_due(
    *,
    model_path: str | Path | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    progress: bool = False,
) -> RunReport | None:
    """Link the identities made or changed since they were last linked (a feed's new
    people, above all those with no NHS number) against every identity, on DuckDB: the
    pairs a whole run would find with them. None when none is due; ``LinkageBusy`` when
    another run is under way (the identities stay due for the next)."""
    with _one_at_a_time():
        due = _due()
        if not due:
            return None
        return _linked(
            due,
            new=True,
            model_path=model_path,
            thresholds=thresholds,
            backend="duckdb",
            spark=None,
            progress=progress,
        )


def _due() -> dict[int, int]:
    """The identities not linked as they stand, and the value of their mark as read:
    read before the records, so that every one of them is among the records."""
    return dict(m.Identity.objects.filter(linkage_due__gt=0).values_list("pk", "linkage_due"))


def _linked(due, *, new, model_path, thresholds, backend, spark, progress) -> RunReport:
    frame = identity_frame()
    model = load_model(model_path)
    same, different = _decided_pairs()
    fresh = set(frame.loc[frame["source_id"].astype(int).isin(due), "unique_id"]) if new else None
    result = link(
        [frame],
        "dedupe_only",
        model=model,
        thresholds=thresholds,
        backend=backend,
        spark=spark,
        progress=progress,
        known_same=same,
        known_different=different,
        new=fresh,
    )
    # Two identities of one person are that person's already: no link needed.
    person_of = dict(m.Identity.objects.values_list("pk", "person_id"))

    def other_people(p: Pair) -> bool:
        return person_of.get(pk_of_uid(p.left)) != person_of.get(pk_of_uid(p.right))

    links = [p for p in result.links if other_people(p)]
    review = [p for p in result.review if other_people(p)]
    return store(
        result_links=links,
        result_review=review,
        records=result.records,
        model_hash=result.model_hash,
        thresholds=thresholds,
        backend=backend,
        due=due,
        new_records=len(fresh) if new else None,
        crowded=result.crowded,
        crowded_keys=result.crowded_keys,
    )


def _decided_pairs() -> tuple[list[tuple[str, str]], set[tuple[str, str]]]:
    """As the core's record ids: the pairs known to be one person (links in force, and
    two identities of one person row), and those a person said are two (a link undone,
    a candidate rejected; neither linked again since)."""
    agency_of = dict(m.Identity.objects.values_list("pk", "agency"))

    def ids(pairs) -> list[tuple[str, str]]:
        return [(uid(a, agency_of[a]), uid(b, agency_of[b])) for a, b in pairs]

    active = set(IdentityLink.objects.filter(active=True).values_list("left_id", "right_id"))
    undone = set(IdentityLink.objects.filter(active=False).values_list("left_id", "right_id"))
    rejected = set(
        Candidate.objects.filter(status=Candidate.REJECTED).values_list("left_id", "right_id")
    )
    by_person: dict[int, list[int]] = {}
    for pk, person in m.Identity.objects.values_list("pk", "person_id").order_by("pk"):
        by_person.setdefault(person, []).append(pk)
    one_person = [(pks[0], pk) for pks in by_person.values() for pk in pks[1:]]
    # A pair linked since a person said otherwise is in force: the later decision stands.
    return ids([*active, *one_person]), set(ids([*((undone | rejected) - active)]))


BATCH = 2000


@transaction.atomic
def store(
    *,
    result_links,
    result_review,
    records,
    model_hash,
    thresholds,
    backend,
    due: dict[int, int] | None = None,
    new_records: int | None = None,
    crowded: int = 0,
    crowded_keys: Sequence[str] = (),
) -> RunReport:
    """Write a run's links and review queue; ``due``, the identities it linked as they
    stood, each with its mark as read, no longer due unless changed since."""
    run = LinkRun.objects.create(
        backend=backend,
        model_hash=model_hash,
        link_threshold=thresholds.link,
        review_threshold=thresholds.review,
        records=records,
        new_records=new_records,
        linked=len(result_links),
        queued=len(result_review),
        crowded=crowded,
        crowded_keys="; ".join(crowded_keys)[:500],
    )
    active = set(IdentityLink.objects.filter(active=True).values_list("left_id", "right_id"))
    undone = set(IdentityLink.objects.filter(active=False).values_list("left_id", "right_id"))
    decided = set(
        Candidate.objects.exclude(status=Candidate.PENDING).values_list("left_id", "right_id")
    )
    pending = {
        (c.left_id, c.right_id): c for c in Candidate.objects.filter(status=Candidate.PENDING)
    }
    new_links = new_candidates = skipped = 0
    touched: set[int] = set()
    # Written in bulk: a national run makes a million links and queues as many pairs.
    links: list[IdentityLink] = []
    leave_queue: list[int] = []
    people_said = undone | decided  # a person's decision stands: no run makes it again

    def to_store(pairs):
        """Each pair's key and the pair, leaving out what is linked or a person decided."""
        nonlocal skipped
        for pair in pairs:
            key = _key(pair)
            if key in active:
                continue
            if key in people_said:
                skipped += 1
                continue
            yield key, pair

    for key, pair in to_store(result_links):
        links.append(
            IdentityLink(
                left_id=key[0],
                right_id=key[1],
                method=pair.method,
                probability=pair.probability,
                run=run,
            )
        )
        active.add(key)
        touched.update(key)
        new_links += 1
        if key in pending:  # the model is now sure: it leaves the queue, linked
            leave_queue.append(pending.pop(key).pk)
    rescored: list[Candidate] = []
    queued: list[Candidate] = []
    for key, pair in to_store(result_review):
        weights = [
            {"comparison": w.comparison, "level": w.level, "weight": w.weight} for w in pair.weights
        ]
        if key in pending:
            c = pending[key]
            c.probability, c.match_weight, c.weights = pair.probability, pair.match_weight, weights
            c.model_hash, c.run = model_hash, run
            rescored.append(c)
            continue
        queued.append(
            Candidate(
                left_id=key[0],
                right_id=key[1],
                probability=pair.probability,
                match_weight=pair.match_weight,
                weights=weights,
                model_hash=model_hash,
                run=run,
            )
        )
        new_candidates += 1
    for start in range(0, len(leave_queue), BATCH):
        Candidate.objects.filter(pk__in=leave_queue[start : start + BATCH]).delete()
    IdentityLink.objects.bulk_create(links, batch_size=BATCH)
    Candidate.objects.bulk_update(
        rescored,
        ["probability", "match_weight", "weights", "model_hash", "run"],
        batch_size=BATCH,
    )
    Candidate.objects.bulk_create(queued, batch_size=BATCH)
    _linked_as_read(due or {})
    # The families of the people newly linked see them at once, not at the next sweep.
    if touched:
        from cradle.records.evaluation import reevaluate_many

        people = m.Identity.objects.filter(pk__in=touched).values("person_id")
        reevaluate_many(
            m.Family.objects.filter(members__in=people).distinct().order_by("pk"),
            timezone.localdate(),
        )
    run.status, run.finished_at = LinkRun.DONE, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    scope = (
        f"of {new_records} new or changed identities against all {records}"
        if new_records is not None
        else f"over all {records} identities"
    )
    audit.record(
        actor="system:linkage",
        action="link",
        what=(
            f"linkage run {run.pk} {scope} ({backend}, model {model_hash}): "
            f"{new_links} links made, {new_candidates} pairs queued for review"
            + (f"; {crowded} identities in crowded blocks, not paired there" if crowded else "")
        ),
    )
    return RunReport(run, new_links, new_candidates, skipped)


def _linked_as_read(due: dict[int, int]) -> None:
    """No longer due: the identities whose mark is still the value the run read (one
    changed while the run worked has moved on, and stays due)."""
    by_value: dict[int, list[int]] = {}
    for pk, value in due.items():
        by_value.setdefault(value, []).append(pk)
    for value, pks in by_value.items():
        for start in range(0, len(pks), BATCH):
            m.Identity.objects.filter(pk__in=pks[start : start + BATCH], linkage_due=value).update(
                linkage_due=0, linkage_due_since=None
            )


def _key(pair: Pair) -> tuple[int, int]:
    a, b = pk_of_uid(pair.left), pk_of_uid(pair.right)
    return (a, b) if a < b else (b, a)


def review_labels() -> list[tuple[str, str, bool]]:
    """The reviewers' decisions as evaluation labels: (identity uid, identity uid, same person)."""
    out = []
    for c in Candidate.objects.exclude(status=Candidate.PENDING).select_related("left", "right"):
        out.append(
            (uid(c.left_id, c.left.agency), uid(c.right_id, c.right.agency), bool(c.is_match))
        )
    return out


def score_against_reviews(result_links: set[tuple[str, str]]) -> dict[str, float | int]:
    """How a set of links agrees with the reviewers' decisions (their labels)."""
    labels = review_labels()
    said_yes = {(a, b) if a < b else (b, a) for a, b, same in labels if same}
    said_no = {(a, b) if a < b else (b, a) for a, b, same in labels if not same}
    agree = len(result_links & said_yes) + len(said_no - result_links)
    return {
        "labels": len(labels),
        "agree": agree,
        "linked_against_a_rejection": len(result_links & said_no),
    }
