"""Group commit for the API's one-record submissions (``POST /api/contacts`` and the rest).

Written one by one, a submission's cost was mostly the writing around its record: its own
transaction and commit (a flush of the database's log), its raw bytes kept in a second
one, its own lock of the audit chain's head (which every call in every process takes in
turn), a dozen statements for one row each. Under load, calls that arrive while a group is
being written now wait and are written together as the next group, in one transaction:

- every call's raw bytes kept (``store.keep_many``: the same bytes from the same system
  are one message, as ever), marked done, its record written with its own message as its
  version's source (``ingest.apply_batch``, all calls of an agency in one batch, in the
  order of their kinds and ids, ``_KIND_ORDER``), its own audit entry (``audit.
  record_many``: one lock of the head for the group) and its families queued for the
  background evaluator, the queue's rows locked last (HAZ-S13's order);
- one commit for the group; only then is any call of it answered, each with its own
  outcome (``Result.each``): its message, its counts, its quarantine reasons.

A group that cannot be written whole (a server in another process writing one of its new
records at the same moment, or anything unforeseen) is undone, and each of its calls is
then written on its own (``_alone``), as calls always were, so that one call's failure is
never another's answer. Each is written by its own caller's thread once the group has
handed on, so that one of them waiting on a lock (on PostgreSQL; SQLite writes one at a
time) holds up neither the next group nor the rest of the process; the group's people and
relationships first, in order, by the first of them (a contact beside them may be about
them), the others waiting for those. A call that
fails alone still has its bytes kept, in a transaction of their own, before its error is
raised.

There is no thread of its own: the first call to arrive while no group is being written
writes its group at once (it leads); calls arriving meanwhile wait, and when the leader is
done the first of them leads the next group, with all that arrived by then (at most
``LIMIT``). Under light load a group is one call, written at once: no call waits for
company. Groups are per process, so the server needs threads to gather them (docs/feeds.md,
"Calls written together"). On PostgreSQL a group waits for a lock ``LOCK_TIMEOUT`` at most,
then gives way and its calls are written one by one.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from cradle.access import audit
from cradle.feeds import records as rec
from cradle.feeds.ingest import Item, Result, apply_batch, resolve_failed
from cradle.feeds.models import Message
from cradle.feeds.store import keep_bytes, keep_many
from cradle.records.evaluation import queue_families

log = logging.getLogger(__name__)

LIMIT = 100  # calls a group at most
CHAIN_WAIT = 30.0  # seconds an undone group's call waits for its people to be written


@dataclass(eq=False)
class Call:
    """One API call's submission: who sent it, its bytes and its one record (checked by
    the API's schema, the ``agency`` field already taken off); filled in once written."""

    system: object  # feeds.models.SystemToken
    body: bytes
    content_type: str
    kind: str
    record: dict
    # The endpoint it was sent to: a record held is read again as that endpoint reads its
    # body (``api.read_body``), the body being what is held.
    endpoint: str = ""
    message: Message | None = None
    result: Result | None = None
    error: BaseException | None = None
    item: Item | None = None
    lead: bool = False
    alone: bool = False  # its group was undone: to be written on its own, by its own thread
    # An undone group's people and relationships, written in order by the first of them
    # (``chain``); everything else of the group waits for them first (``after``).
    chain: list[Call] = field(default_factory=list)
    after: threading.Event | None = None
    done: threading.Event | None = None  # the chain's writer sets it once the chain is
    ready: threading.Event = field(default_factory=threading.Event)


class Group:
    """Calls written together (``submit``), by whichever of them leads (module docstring);
    ``write`` writes a list of calls, filling in each one's result or error, or marking it
    ``alone``, and never raises; ``alone`` writes one such call (in the call's own thread,
    once the group has handed on), filling in its result or error, and never raises."""

    def __init__(
        self,
        write: Callable[[list[Call]], None],
        alone: Callable[[Call], None] | None = None,
        limit: int = LIMIT,
    ):
        self._write, self._alone, self.limit = write, alone, limit
        self._lock = threading.Lock()
        self._waiting: list[Call] = []
        self._busy = False
        self.groups = 0  # groups written, and the largest (for benchmarks and tests)
        self.largest = 0

    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def submit(self, call: Call) -> Call:
        """Write the call, with whatever waits beside it; returns once it is committed (or
        failed: ``call.error``)."""
        with self._lock:
            self._waiting.append(call)
            lead = not self._busy
            self._busy = True
        if not lead:
            try:
                call.ready.wait()
            except BaseException:
                self._leave(call)  # interrupted while waiting: nobody is left waiting on it
                raise
            if not call.lead:
                return self._finish(call)  # written by a leader (or to be, alone)
        calls: list[Call] = []
        try:
            with self._lock:  # leading: this call is the first that waits
                calls = self._waiting[: self.limit]
                del self._waiting[: self.limit]
                self.groups += 1
                self.largest = max(self.largest, len(calls))
            self._write(calls)
        except BaseException:
            # The writer never raises; if it was interrupted (the process stopping), the
            # calls not committed fail, each with an error of its own.
            for c in calls:
                if c.result is None and c.error is None:
                    c.error, c.alone = Interrupted("the call's group was not written"), False
            raise
        finally:
            self._hand_on()
            for c in calls:
                if c is not call:
                    c.ready.set()
        return self._finish(call)

    def _finish(self, call: Call) -> Call:
        if call.alone and self._alone is not None:
            call.alone = False
            self._alone(call)
        return call

    def _hand_on(self) -> None:
        """The first call waiting leads the next group; with none, the next to come."""
        with self._lock:
            if self._waiting:
                following = self._waiting[0]
                following.lead = True
                following.ready.set()
            else:
                self._busy = False

    def _leave(self, call: Call) -> None:
        with self._lock:
            if call in self._waiting:
                self._waiting.remove(call)
        if call.lead:  # made leader as it left: leadership passes on
            self._hand_on()


class Interrupted(Exception):
    pass


# Calls of a group are written in this order (the order of their kinds, then of their ids),
# not as they arrived: two groups in two processes then take the unique keys of the new
# records they share in the same order, and never wait on each other. A person comes
# before a contact about them that arrived in the same moment.
_KIND_ORDER = {rec.PERSON: 0, rec.RELATIONSHIP: 1, rec.CONTACT: 2}


def together(calls: list[Call]) -> None:
    """Write the calls as one group, or, when it cannot be written whole, mark each to be
    written ``alone``. A group of one is written alone at once. A call's outcome is set
    only once it is committed."""
    if len(calls) > 1:
        try:
            _commit(calls, timezone.localdate())
            return
        except Exception as exc:
            # The group is undone: each call is written on its own by its own thread once
            # the group has handed on (write_alone): the people and relationships by the
            # first of them, in order, the rest after those (a contact may be about them).
            log.info(
                "an API group of %d calls written one by one (%s)", len(calls), type(exc).__name__
            )
            first = [c for c in sorted(calls, key=_order) if c.kind != rec.CONTACT]
            done = threading.Event() if first else None
            for c in calls:
                c.alone, c.after = True, done
            if first:
                first[0].chain, first[0].after, first[0].done = first, None, done
            return
    for c in calls:
        write_alone(c)


def write_alone(call: Call) -> None:
    """One call in its own transaction, in its caller's thread, never raising
    (``call.error``); an undone group's people and relationships all by the first of
    them, in order, before anything else of the group (``Call.chain``, ``Call.after``)."""
    if call.chain:
        try:
            for c in call.chain:
                _written_alone(c)
        finally:
            if call.done is not None:
                call.done.set()  # even if interrupted: nobody waits for good
        return
    if call.after is not None:
        # Bounded: were the chain's thread ever stopped before it began, a contact about a
        # person not yet written is held with the reason, not left waiting for good.
        call.after.wait(CHAIN_WAIT)
    if call.result is None and call.error is None:  # not written by the chain
        _written_alone(call)


def _written_alone(call: Call) -> None:
    try:
        _alone(call, timezone.localdate())
    except Exception as exc:
        call.error = exc


def write(calls: list[Call]) -> None:
    """``together``, then any call it could not write with the others alone, in this
    thread: the calls written, one way or the other."""
    together(calls)
    for c in sorted(calls, key=_order):  # the chain's writer first: the rest wait for it
        if c.alone:
            c.alone = False
            write_alone(c)


# How long a group (of more than one call) waits for a lock before it gives way and its
# calls are written one by one: under PostgreSQL's deadlock_timeout (1 s by default), so
# that were a group ever to wait in a cycle with another transaction (an import's batch
# over the same records), the group is usually the one undone (not always: each waits
# its own time, from when it began to wait).
LOCK_TIMEOUT = "800ms"


def _order(call: Call) -> tuple:
    return _KIND_ORDER.get(call.kind, 9), call.record.get("source_id", "")


def _commit(calls: list[Call], today) -> None:
    ordered = sorted(calls, key=_order)
    connection = transaction.get_connection()
    outermost = not connection.in_atomic_block  # SET LOCAL would outlive a savepoint
    with transaction.atomic():
        if len(calls) > 1 and outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        outcomes = _together(ordered, today)
    for c, (message, result) in zip(ordered, outcomes, strict=True):
        c.message, c.result = message, result


def _alone(call: Call, today) -> None:
    """One call in its own transaction; a conflict with another server's write of the same
    record is taken again (then found). A call that still fails keeps its bytes."""
    for attempt in (1, 2):
        try:
            _commit([call], today)
            return
        except IntegrityError:
            if attempt == 2:
                _keep_alone(call)
                raise
        except Exception:
            _keep_alone(call)
            raise


def _keep_alone(call: Call) -> None:
    call.message, _ = keep_bytes(call.body, **_meta(call))


def _meta(call: Call) -> dict:
    return {
        "source_system": call.system.name,
        "agency": call.system.agency,
        "channel": "api",
        "content_type": call.content_type,
    }


def _together(calls: list[Call], today) -> list[tuple[Message, Result]]:
    """The calls' bytes, records, audit entries and families queued, in the caller's
    transaction (module docstring); each call's message and outcome, in their order."""
    kept = keep_many([(c.body, _meta(c)) for c in calls], done=True)
    messages = [message for message, _new in kept]
    # A message kept before and not done (a call that failed, sent again; keep_many has
    # marked it done): what was held for its failure is settled.
    stale = [m.pk for m, new in kept if not new and m.status != Message.DONE]
    if stale:
        resolve_failed(stale)
    by_agency: dict[str, list[Item]] = defaultdict(list)
    for c, message in zip(calls, messages, strict=True):
        c.item = Item(
            "message",
            c.kind,
            c.body,
            c.record,
            [],
            f"api:{c.kind}",
            {"format": "json", "endpoint": c.endpoint}
            if c.endpoint
            else {"format": "json", "kind": c.kind},
            message=message,
        )
        by_agency[c.system.agency].append(c.item)
    each = {}
    for agency in sorted(by_agency):
        items = by_agency[agency]
        done = apply_batch(
            items, agency=agency, message=items[0].message, today=today, evaluate=False
        )
        each.update(done.each)
    entries, families, outcomes = [], set(), []
    for c, message in zip(calls, messages, strict=True):
        state, touched, held = each[id(c.item)]
        result = Result(
            created=int(state == "created"),
            versioned=int(state == "versioned"),
            unchanged=int(state == "unchanged"),
            quarantined=[held] if held is not None else [],
            families=touched,
        )
        outcomes.append((message, result))
        families |= touched
        entries.append(
            {
                "actor": f"system:{c.system.name}",
                "action": "submit-refused" if held is not None else "submit",
                "family_id": next(iter(touched)) if len(touched) == 1 else None,
                "what": (
                    f"{c.kind} via the API: message {message.pk}: {result.created} created, "
                    f"{result.versioned} new versions, {result.unchanged} unchanged, "
                    f"{len(result.quarantined)} quarantined"
                ),
            }
        )
    audit.record_many(entries)
    queue_families(families)  # last: the queue's rows after the audit chain's head
    return outcomes


GROUP = Group(together, write_alone)
