"""The nightly sweep: re-evaluate every family for the rules that depend on the
passage of time (contact gaps, ICON deadlines, due econsult follow-ups...).

Families are independent, so the work is spread over processes. Each family
is claimed atomically for the day (an UPDATE that only one worker can win, as
healthchecks' sendalerts does), so two sweeps at once never evaluate a family
twice, and so never raise an alert twice.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from datetime import date

from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from cradle.access import audit
from cradle.records import models as m
from cradle.records.evaluation import evaluate_due, reevaluate


@dataclass
class SweepReport:
    families: int = 0
    evaluated: int = 0
    raised: int = 0
    resolved: int = 0


def claim(family_pk: int, as_of: date) -> bool:
    """Take the family for this day's sweep; False if another sweep has it."""
    won = (
        m.Family.objects.filter(pk=family_pk)
        .filter(Q(swept_on__isnull=True) | Q(swept_on__lt=as_of))
        .update(swept_on=as_of, swept_at=timezone.now())
    )
    return won == 1


def sweep_one(family_pk: int, as_of: date) -> tuple[int, int] | None:
    """Claim and re-evaluate one family, in one transaction: (raised, resolved), or None."""
    with transaction.atomic():
        if not claim(family_pk, as_of):
            return None
        family = m.Family.objects.get(pk=family_pk)
        outcome = reevaluate(family, as_of)
        return len(outcome.raised), len(outcome.resolved)


def _worker(args: tuple[int, date]):
    return sweep_one(*args)


def _init_worker() -> None:
    # Each process opens its own database connections.
    connections.close_all()


def sweep(as_of: date, processes: int | None = None, progress: bool = True) -> SweepReport:
    # Families a killed import left queued are evaluated (and taken off the queue) first.
    evaluate_due(as_of, everything=True)
    pks = list(
        m.Family.objects.filter(Q(swept_on__isnull=True) | Q(swept_on__lt=as_of)).order_by("pk").values_list("pk", flat=True)
    )
    report = SweepReport(families=len(pks))
    processes = processes or min(os.cpu_count() or 1, 8)
    work = [(pk, as_of) for pk in pks]
    bar = _bar(len(work), progress)
    if processes <= 1 or len(work) < 2:
        results = (sweep_one(pk, day) for pk, day in work)
        _collect(report, results, bar)
    else:
        connections.close_all()
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(processes, initializer=_init_worker) as pool:
            _collect(report, pool.imap_unordered(_worker, work, chunksize=16), bar)
    bar.close()
    audit.record(
        actor="system:sweep", action="evaluate", what=f"sweep as of {as_of}: {report.evaluated} families"
    )
    return report


def _collect(report: SweepReport, results, bar) -> None:
    for result in results:
        if result is not None:
            report.evaluated += 1
            report.raised += result[0]
            report.resolved += result[1]
        bar.update(1)


def _bar(total: int, show: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="family", desc="sweep", disable=not show)
