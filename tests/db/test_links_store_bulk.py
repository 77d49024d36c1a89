"""A linkage run stores its links and queue in bulk (``cradle.links.jobs.store``): the
number of queries grows with the batches, not with each pair, and what is stored is what a
pair-by-pair write stored (links, queue, re-scored pairs, pairs that leave the queue)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cradle.linkage.link import Pair, Thresholds
from cradle.links.jobs import store, uid
from cradle.links.models import Candidate, IdentityLink
from cradle.records import models as m

pytestmark = pytest.mark.django_db


def _identities(n: int, tag: str = "") -> list[str]:
    people = m.Person.objects.bulk_create(
        m.Person(source_key=f"p{tag}{i}", sex="m", given_name="Sam", family_name=f"Roe{i}")
        for i in range(n)
    )
    ids = m.Identity.objects.bulk_create(
        m.Identity(person=p, agency="gp", given_name="Sam", family_name=p.family_name,
                   recorded_on=date(2026, 1, 5))
        for p in people
    )  # fmt: skip
    return [uid(i.pk, "gp") for i in ids]


def _store(links, review):
    return store(
        result_links=links,
        result_review=review,
        records=0,
        model_hash="test",
        thresholds=Thresholds(),
        backend="duckdb",
    )


def _pairs(uids, method="splink", probability=0.995):
    return [
        Pair(uids[i], uids[i + 1], probability, 9.0, method) for i in range(0, len(uids) - 1, 2)
    ]


def test_queries_do_not_grow_with_the_pairs():
    counts = []
    for n in (20, 400):
        uids = _identities(2 * n, tag=str(n))
        links, review = _pairs(uids[:n]), _pairs(uids[n:], probability=0.7)
        with CaptureQueriesContext(connection) as queries:
            report = _store(links, review)
        assert (report.new_links, report.new_candidates) == (n // 2, n // 2)
        counts.append(len(queries))
    # Twenty times the pairs: a few more batches (SQLite's limit on a statement's
    # parameters splits a bulk insert), not hundreds more queries.
    assert counts[1] <= counts[0] + 10, counts


def test_a_queued_pair_now_sure_leaves_the_queue_and_a_pending_one_is_rescored():
    uids = _identities(6)
    _store([], _pairs(uids, probability=0.6))
    assert Candidate.objects.filter(status=Candidate.PENDING).count() == 3
    sure, again = _pairs(uids[:2]), _pairs(uids[2:4], probability=0.8)
    report = _store(sure, again)
    assert report.new_links == 1 and report.new_candidates == 0
    assert IdentityLink.objects.filter(active=True).count() == 1
    pending = Candidate.objects.filter(status=Candidate.PENDING)
    assert pending.count() == 2
    assert sorted(c.probability for c in pending) == [0.6, 0.8]
    # The same run again changes nothing.
    report = _store(sure, again)
    assert (report.new_links, report.new_candidates) == (0, 0)
    assert IdentityLink.objects.count() == 1 and Candidate.objects.count() == 2
