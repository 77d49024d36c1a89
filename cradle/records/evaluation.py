"""Live alerts: a family's findings as of a day, reconciled with its stored alerts.

The episode semantics are the core's (``cradle.rules.episodes.reconcile``);
this module only applies its steps to rows, in the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cradle.domain import Timeline
from cradle.records import bulk
from cradle.records import models as m
from cradle.records.notify import notify_raised_many
from cradle.records.timeline import Restore, pk_of, timeline_for, timelines_for
from cradle.rules import evaluate
from cradle.rules.episodes import reconcile
from cradle.rules.finding import RuleFinding
from cradle.rules.settings import DEFAULT_SETTINGS, Settings


@lru_cache(maxsize=1)
def rule_settings() -> Settings:
    path = getattr(django_settings, "CRADLE_RULE_SETTINGS", None)
    return Settings.from_toml(path) if path else DEFAULT_SETTINGS


@dataclass
class _Held:
    """An alert row as reconcile() sees it."""

    row: m.Alert
    evidence: set[str] = field(default_factory=set)


@dataclass
class Outcome:
    raised: list[m.Alert] = field(default_factory=list)
    updated: list[m.Alert] = field(default_factory=list)
    resolved: list[m.Alert] = field(default_factory=list)
    reopened: list[m.Alert] = field(default_factory=list)


# A contact an alert may stand on that was withdrawn, wholly or in part: its agency,
# whether it was entered in error, and the findings withdrawn from it.
_Withdrawal = tuple[str, bool, list | None]


def _evidence_pks(evidence) -> list[int]:
    return [int(e[1:]) for e in evidence if e.startswith("c") and e[1:].isdigit()]


def _withdrawals(alerts) -> dict[int, _Withdrawal]:
    """The contacts among these alerts' evidence entered in error or with findings
    withdrawn: one query for all the alerts an evaluation resolves."""
    pks = sorted({pk for a in alerts for pk in _evidence_pks(a.evidence)})
    if not pks:
        return {}
    return {
        pk: (agency, error, found)
        for pk, agency, error, found in m.Contact.objects.filter(pk__in=pks)
        .filter(Q(entered_in_error=True) | Q(withdrawn_findings__isnull=False))
        .values_list("pk", "agency", "entered_in_error", "withdrawn_findings")
    }


def _withdrawn_because(
    row: m.Alert, family: m.Family, day: int, settings: Settings, known: dict[int, _Withdrawal]
) -> tuple[str, list[str]] | None:
    """Why the alert ``row``, no longer found, is withdrawn rather than resolved, and the
    agencies that withdrew what it stood on; None when it is resolved. Withdrawn when the
    rules, run again on the record as it would be without what was withdrawn, find it
    again: its contacts entered in error counting, and the findings withdrawn from its
    contacts (an Observation entered in error, a Condition refuted) found again, with
    whom they named (``Restore``: the bruise recorded on the wrong baby's visit is on
    that baby's record again). An alert that went for another reason as well (the baby's
    birth date corrected, say) is resolved. ``known``: ``_withdrawals`` of the alerts
    resolved; the record is read again only for an alert that stood on one."""
    mine = {pk: known[pk] for pk in _evidence_pks(row.evidence) if pk in known}
    in_error = {pk: agency for pk, (agency, error, _f) in mine.items() if error}
    withdrawn = {pk: (agency, f) for pk, (agency, error, f) in mine.items() if not error and f}
    if not in_error and not withdrawn:
        return None
    restore = Restore(
        contacts=frozenset(in_error),
        words={pk: [w for entry in f for w in entry["words"]] for pk, (_a, f) in withdrawn.items()},
        subjects={
            pk: [entry["subject"] for entry in f if entry.get("subject")]
            for pk, (_a, f) in withdrawn.items()
        },
    )
    if not any(f.key == row.key for f in evaluate(timeline_for(family, restore), day, settings)):
        return None
    why = (
        "a record behind it was entered in error"
        if in_error
        else "a finding behind it was withdrawn"
    )
    return why, sorted({*in_error.values(), *(a for a, _f in withdrawn.values())})


def _facts(f: RuleFinding) -> list[dict]:
    return [
        {
            "what": x.what,
            "label": x.label,
            "day": x.day,
            "event": x.event,
            "agency": x.agency.value if x.agency else None,
            "person": x.person,
            "sensitivity": x.sensitivity.value,
        }
        for x in f.facts
    ]


# What _fill sets: saved by name, so that a concurrent change to other fields
# (an escalation, a decision) is never written back over.
FILLED = [
    "rule_version",
    "severity",
    "evidence",
    "facts",
    "action",
    "for_whom",
    "agency",
    "source",
    "settings_hash",
]


def _fill(row: m.Alert, f: RuleFinding) -> None:
    row.rule_version = f.version
    row.severity = f.severity.value
    # The finding's evidence as it is today, like its facts: not a union with the row's, which
    # would keep what the record no longer holds (a contact that came through an undone link).
    row.evidence = list(f.evidence)
    row.facts = _facts(f)
    row.action = f.action
    row.for_whom = [r.value for r in f.for_whom]
    row.agency = f.agency.value if f.agency else ""
    row.source = f.source
    row.settings_hash = f.settings_hash


def reevaluate(
    family: m.Family,
    today: date,
    *,
    timeline: Timeline | None = None,
    settings: Settings | None = None,
    by=None,
    notify: bool = True,
    facts: bool = True,
    alerts: list[m.Alert] | None = None,
    raising: list | None = None,
) -> Outcome:
    """Bring the family's alerts into line with its findings as of ``today``.

    In one transaction, holding the family's row lock (``lock_families``) from before its
    timeline is read: two writes about one family at once (two practitioners, two agency
    systems) are evaluated one after the other, the second on a timeline that holds the
    first's record, never both on the same alert rows (on PostgreSQL each would raise the
    same alert: duplicates). A caller that passes the timeline has taken the lock first,
    and one that passes ``alerts`` read the family's alert rows after it (``_alert_rows``).
    A caller that passes ``raising`` writes the alerts raised, collected there unsaved,
    itself (``reevaluate_many``: a chunk's together, ``_raise_all``)."""
    if not transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return reevaluate(
                family,
                today,
                timeline=timeline,
                settings=settings,
                by=by,
                notify=notify,
                facts=facts,
                alerts=alerts,
                raising=raising,
            )
    # Issue 8: the settings version a clinical safety officer approved, in force on the day
    # (cradle.partnership.versions); the configured settings while none is.
    settings = settings or _approved_in_force(today) or rule_settings()
    if timeline is None:
        lock_families([family.pk])
    tl = timeline if timeline is not None else timeline_for(family)
    day = (today - family.origin).days
    findings = evaluate(tl, day, settings)

    rows = alerts if alerts is not None else _alert_rows([family.pk]).get(family.pk, [])
    open_ = {a.key: _Held(a, set(a.evidence)) for a in rows if a.status in m.Alert.LIVE}
    decided = {
        a.key: _Held(a, set(a.evidence))
        for a in rows
        if a.status in m.Alert.DECIDED and a.episode_open
    }
    past: dict[tuple, list[_Held]] = defaultdict(list)
    for a in rows:
        if a.status == m.Alert.RESOLVED:
            past[a.key].append(_Held(a, set(a.evidence)))

    out = Outcome()
    steps = reconcile(findings, open_, decided, past)
    resolving = [step.alert.row for step in steps if step.kind == "resolve"]
    known = _withdrawals(resolving) if resolving else {}
    for step in steps:
        held = step.alert
        if step.kind == "resolve":
            row = held.row
            # No longer found because what it stood on was withdrawn by the agency that
            # sent it (a record or a finding entered in error) or on the page: withdrawn,
            # not resolved.
            because = _withdrawn_because(row, family, day, settings, known)
            status, change, note, resolution = (
                (
                    m.Alert.WITHDRAWN,
                    "withdrawn",
                    f"{because[0]} ({', '.join(because[1])})",
                    because[0],
                )
                if because
                else (m.Alert.RESOLVED, "resolved", step.note, step.note)
            )
            row.status, row.resolved_on, row.resolution, row.episode_open = (
                status,
                today,
                resolution,
                False,
            )
            row.save(update_fields=["status", "resolved_on", "resolution", "episode_open"])
            m.AlertChange.objects.create(alert=row, change=change, on=today, note=note, by=by)
            out.resolved.append(row)
        elif step.kind == "close_episode":
            held.row.episode_open = False
            held.row.save(update_fields=["episode_open"])
        elif step.kind == "update":
            row = held.row
            before, now = set(row.evidence), set(step.finding.evidence)
            was = [getattr(row, name) for name in FILLED]
            _fill(row, step.finding)
            if was == [getattr(row, name) for name in FILLED]:
                continue  # the finding as it stands: nothing to write (most of a batch's alerts)
            row.save(update_fields=FILLED)
            note = "; ".join(
                n
                for n, diff in (
                    ("new evidence", now - before),
                    ("evidence no longer found", before - now),
                )
                if diff
            )
            if note:
                m.AlertChange.objects.create(
                    alert=row, change="updated", on=today, note=note, by=by
                )
                out.updated.append(row)
        elif step.kind == "reopen":
            row = held.row
            row.status, row.resolved_on, row.resolution, row.episode_open = (
                m.Alert.OPEN,
                None,
                "",
                True,
            )
            _fill(row, step.finding)
            row.save(update_fields=[*FILLED, "status", "resolved_on", "resolution", "episode_open"])
            m.AlertChange.objects.create(
                alert=row, change="reopened", on=today, note=step.note, by=by
            )
            out.reopened.append(row)
        elif step.kind == "raise":
            f = step.finding
            row = m.Alert(
                family=family,
                child_id=pk_of(f.child),
                rule=f.rule,
                step=f.step,
                scope=f.scope,
                began_on=today,
                raised_on=today,
                due_on=f.due_date(today),
                follows=held.row if held is not None else None,
                # Told once committed: by this call, or by reevaluate_many's for a chunk.
                notify_pending=notify or raising is not None,
            )
            _fill(row, f)
            note = ""
            if held is not None:
                held.row.episode_open = False
                held.row.save(update_fields=["episode_open"])
                note = f"new evidence after alert {held.row.pk} was {held.row.status}"
            if raising is not None:  # written with the rest of the caller's families (_raise_all)
                raising.append((row, note, by))
            else:
                row.save()
                m.AlertChange.objects.create(alert=row, change="raised", on=today, note=note, by=by)
            out.raised.append(row)
    if notify and out.raised:
        # Email only once the change is committed (and never for a rolled-back one); the
        # family's teams are read once for all the alerts this write raised.
        raised = list(out.raised)
        transaction.on_commit(lambda: notify_raised_many(raised, today))
    if facts:
        # Issue 8: refresh the per-family facts behind the partnership's audit dashboards
        # (computed by the core, cradle.rules.audit_facts; stored by cradle.partnership.facts).
        from cradle.partnership.facts import refresh

        refresh(family, tl, today, settings)
    return out


def _raise_all(raising: list, today: date) -> list[m.Alert]:
    """The alerts a chunk's families raised, and their "raised" changes, written together
    (``cradle.records.bulk``), in the order ``reevaluate`` would have saved them one by one."""
    rows = bulk.create([row for row, _note, _by in raising])
    bulk.create(
        [
            m.AlertChange(alert=row, change="raised", on=today, note=note, by=by)
            for row, note, by in raising
        ]
    )
    return rows


def _alert_rows(family_pks) -> dict[int, list[m.Alert]]:
    """Each family's alert rows as ``reevaluate`` reconciles them, in order of id.

    Whole rows: an alert whose finding is unchanged is compared field by field and not
    written again."""
    rows: dict[int, list[m.Alert]] = defaultdict(list)
    pks = sorted(set(family_pks))
    table = transaction.get_connection().ops.quote_name(m.Alert._meta.db_table)
    for start in range(0, len(pks), bulk.IN_CHUNK):
        # Raw: Django's building of a long IN list costs more than the query.
        part = pks[start : start + bulk.IN_CHUNK]
        query = m.Alert.objects.raw(
            f"SELECT * FROM {table} WHERE family_id IN ({', '.join(['%s'] * len(part))}) "
            "AND status <> %s ORDER BY id",
            [*part, m.Alert.WITHDRAWN],
        )
        for row in query:
            rows[row.family_id].append(row)
    return rows


def reevaluate_many(families, today: date, *, chunk: int = 100) -> None:
    """``reevaluate`` each family (in order of key), exactly as one by one, with their
    timelines read together ``chunk`` families at a time and the settings in force
    looked up once (re-evaluating writes alerts and facts, never what a timeline reads).

    A chunk's families are locked (``lock_families``) before their timelines are read, so
    no other write's re-evaluation of them runs in between; a write committed by another
    process before the lock is in the timeline, and one that waits for the lock is
    re-evaluated after this transaction, on a timeline that holds both. (On SQLite, one
    write transaction at a time.)"""
    families = sorted(families, key=lambda f: f.pk)  # locks taken in one order: no deadlock
    if not families:
        return
    if not transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return reevaluate_many(families, today, chunk=chunk)
    settings = _approved_in_force(today) or rule_settings()
    from cradle.partnership.facts import refresh_many

    for start in range(0, len(families), chunk):
        part = families[start : start + chunk]
        lock_families([f.pk for f in part])
        timelines = timelines_for(part)
        alerts = _alert_rows([f.pk for f in part])
        raising: list = []
        for family in part:
            reevaluate(
                family,
                today,
                timeline=timelines[family.pk],
                settings=settings,
                notify=False,
                facts=False,
                alerts=alerts.get(family.pk, []),
                raising=raising,
            )
        raised = _raise_all(raising, today)
        if raised:
            # As ``reevaluate`` does for one family: once committed; the chunk's families'
            # teams read together.
            transaction.on_commit(lambda raised=raised: notify_raised_many(raised, today))
        # The chunk's audit facts in two statements, as ``reevaluate`` would one by one.
        refresh_many([(f, timelines[f.pk]) for f in part], today, settings)


def queue_families(pks, *, held_for: int | None = None) -> None:
    """Mark families for evaluation later (``evaluate_due``), in the caller's transaction: a
    bulk import's batches queue the families they touch, each evaluated once when the
    import ends on all of its records, and an API submission queues its family for the
    background evaluator (``background``).

    A family already queued keeps its row and the time since when it waits, and its
    ``stamp`` moves on (``ON CONFLICT DO UPDATE``, not ``DO NOTHING``): an evaluation
    takes a family off the queue only if its stamp is still the one it read before reading
    the family's records, so no write is ever taken off the queue unread; the row is
    locked until the caller commits, and an evaluation about to take it off waits for
    (or, the background's, leaves) a write that has queued it and not yet committed.
    (SQLite runs one write transaction at a time.)

    ``held_for``: a file import's message, which evaluates its families when the file
    ends; the background evaluator leaves them. The last to queue a family decides: an
    API submission about a family a file holds releases it to the background evaluator
    (its alerts are not put off until the file ends, or, if the import was killed, the
    nightly sweep), at the price of judging it on part of the file."""
    pks = sorted(set(pks))
    if not pks:
        return
    connection = transaction.get_connection()
    table = connection.ops.quote_name(m.DueEvaluation._meta.db_table)
    since = connection.ops.adapt_datetimefield_value(timezone.now())
    step = bulk.IN_CHUNK // 3  # three values a row
    for start in range(0, len(pks), step):
        part = pks[start : start + step]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (family_id, since, held_for, stamp) VALUES "
                + ", ".join(["(%s, %s, %s, 0)"] * len(part))
                + f" ON CONFLICT (family_id) DO UPDATE SET since = {table}.since, "
                f"held_for = excluded.held_for, stamp = {table}.stamp + 1",
                [v for pk in part for v in (pk, since, held_for)],
            )


def waiting(held_for: int | None = None) -> QuerySet:
    """The queued families the background evaluator takes (nobody holds them), and with
    ``held_for`` those that file's end takes too."""
    return m.DueEvaluation.objects.filter(Q(held_for__isnull=True) | Q(held_for=held_for))


def evaluate_due(
    today: date,
    *,
    chunk: int = 500,
    bar=None,
    on_chunk=None,
    families=None,
    held_for: int | None = None,
    everything: bool = False,
) -> int:
    """Evaluate the queued families (``queue_families``) as of ``today``: those no file
    holds, and with ``held_for`` those that file holds too (the file's end); with
    ``everything`` (the nightly sweep) or ``families`` (a reader about to show them),
    whoever holds them. ``chunk`` families to a transaction, in order of family; each is
    taken off the queue in the transaction that evaluates it, at its end, and only if no
    write has queued it again since its records were read (its ``stamp``): a family queued
    again meanwhile stays for another round. A run killed part way leaves the rest queued;
    evaluating a family again on the same records and day changes nothing, so a second run
    ends as one uninterrupted run would.

    The queue's rows are locked only for that last moment, so a write that queues a
    family being evaluated (which takes the queue's row last of all, after the audit
    chain's head: every other call's write waits behind it) is not held up for the
    evaluation. On PostgreSQL a round takes its families' row locks first
    (``lock_families``, as every evaluation does), reads their stamps, evaluates them,
    and then locks their queue rows in order of family: the background evaluator
    (neither ``held_for``, ``everything`` nor ``families``) leaves a row a write holds
    (SKIP LOCKED: that write has queued the family again, and kicks the evaluator once
    committed); the others wait for it. Locks are taken families first, then the queue:
    no two transactions wait on each other.

    The background evaluator makes one pass over the queue; a file's end and the sweep
    pass again while anything they take is left, three passes at most (what is still left
    was queued again by writes since, each of which has its own evaluation coming: the
    background's, or its own file's end); so does a reader, for its families (one chunk a
    pass) queued again while it evaluated them. Returns how many families were
    evaluated and taken off the queue."""
    done, passes = 0, 1
    features = transaction.get_connection().features
    background = families is None and held_for is None and not everything
    skip = background and features.has_select_for_update_skip_locked
    if families is not None:
        queued = m.DueEvaluation.objects.filter(family_id__in=families)
    elif everything:
        queued = m.DueEvaluation.objects.all()
    else:
        queued = waiting(held_for)
    after = None  # where the pass has got to
    while True:
        with transaction.atomic():
            due = queued.order_by("family_id")
            ahead = due if after is None else due.filter(family_id__gt=after)
            candidates = list(ahead.values_list("family_id", flat=True)[:chunk])
            if not candidates:
                if after is None or background or passes >= 3:
                    return done
                after, passes = None, passes + 1  # another pass, for what was queued again
                continue
            lock_families(candidates)
            read_at = timezone.now()
            read = dict(due.filter(family_id__in=candidates).values_list("family_id", "stamp"))
            taken = []
            if read:
                reevaluate_many(m.Family.objects.filter(pk__in=read), today)
                taken = _take_off(read, read_at, skip)
        after = candidates[-1]
        done += len(taken)
        if bar is not None:
            bar.update(len(taken))
        if on_chunk is not None:
            on_chunk(done)


def _take_off(read: dict[int, int], read_at, skip: bool) -> list[int]:
    """Take off the queue the families evaluated whose stamp is still the one ``read``
    (at ``read_at``): their rows locked in order of family (those a write holds left,
    with ``skip``). A family queued again meanwhile stays, waiting since ``read_at`` (what
    was written before then is evaluated), so that a family written to all the time is
    not reported as waiting since its first write (``cradle feeds check``)."""
    rows = m.DueEvaluation.objects.filter(family_id__in=sorted(read)).order_by("family_id")
    if transaction.get_connection().features.has_select_for_update:
        rows = rows.select_for_update(skip_locked=skip)
    gone, again = [], []
    for family, stamp in rows.values_list("family_id", "stamp"):
        (gone if read[family] == stamp else again).append(family)
    bulk.delete_in(m.DueEvaluation, "family", gone)
    if again:
        m.DueEvaluation.objects.filter(family_id__in=again, since__lt=read_at).update(since=read_at)
    return gone


def evaluate_if_due(families, today: date) -> int:
    """Before a reader shows these families' alerts: evaluate those still queued (one
    query when none is, the usual case): families or their keys, or a query of keys.
    Returns how many were evaluated."""
    if not isinstance(families, QuerySet):
        families = [getattr(f, "pk", f) for f in families]
    pks = list(
        m.DueEvaluation.objects.filter(family_id__in=families).values_list("family_id", flat=True)
    )
    if not pks:
        return 0
    return evaluate_due(today, families=pks, chunk=len(pks))


def lock_families(pks) -> None:
    """Take the families' row locks (``SELECT ... FOR NO KEY UPDATE``) until the transaction ends,
    in order of key so that two transactions never wait on each other. Every re-evaluation
    takes its family's lock before reading its timeline. (SQLite runs one write
    transaction at a time, IMMEDIATE; there this changes nothing.)"""
    pks = sorted(set(pks))
    if pks and transaction.get_connection().features.has_select_for_update:
        list(
            # NO KEY UPDATE: evaluations of one family wait for each other, but a write
            # that only refers to the family (a member added: its foreign key's KEY SHARE
            # lock) does not wait for an evaluation, nor one for it.
            m.Family.objects.select_for_update(no_key=True)
            .filter(pk__in=pks)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def _approved_in_force(day: date) -> Settings | None:
    from cradle.partnership.versions import settings_in_force

    return settings_in_force(day)


def replay_into(family: m.Family, first: date, last: date) -> None:
    """Evaluate every day from ``first`` to ``last``, so alerts carry the days they were raised."""
    tl = timeline_for(family)
    day = first
    while day <= last:
        # History: nobody is told of the past; the audit facts are refreshed once, on the last day.
        reevaluate(family, day, timeline=tl, notify=False, facts=day == last)
        day += timedelta(days=1)
