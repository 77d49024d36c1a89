"""The background evaluator: a thread in each process that takes agency systems' API
submissions, evaluating the families they queued a moment after the answer was sent.

An API submission writes its record and queues its family (``queue_families``) in one
transaction, then kicks this thread and answers: the family's re-evaluation (about half
of a submission's cost, docs/feeds.md) is no longer in the request, and a burst of
submissions about one family costs one evaluation. The queue is in the database, so
nothing depends on this thread living: a process that dies leaves its families queued,
and they are evaluated by the next kick in any process, by the next reader of the
family (``evaluate_if_due``: a family page, a child's alerts through the API), or by the
nightly sweep, whichever comes first.

Off (``CRADLE_BACKGROUND_EVALUATION=false``, and in the test suite), nothing is started:
queued families wait for a reader or the sweep.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

log = logging.getLogger(__name__)


class Evaluator:
    """One thread, started by the first kick, that waits to be kicked, lets the
    submissions of the next ``gather`` seconds queue their families too, and evaluates
    everything queued (``evaluate_due``: in chunks, each family once)."""

    def __init__(self, gather: float, retry: float = 60.0) -> None:
        self.gather = gather
        self.retry = retry  # after a failed round, the next without waiting for a kick
        self._failed = False
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.failures = 0

    def kick(self) -> None:
        with self._start:
            self._idle.clear()
            self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="cradle-evaluator", daemon=True
                )
                self._thread.start()

    def wait_idle(self, timeout: float) -> bool:
        """True once every kick so far has been followed by a round that succeeded (for
        tests and the benchmark: never needed by the product)."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        from cradle.records import evaluation

        while True:
            self._wake.wait(self.retry if self._failed else None)
            # Let a burst gather: the submissions of the next moment share this round.
            time.sleep(self.gather)
            self._wake.clear()  # a kick from now on asks for another round
            close_old_connections()  # one broken (a database restarted) or too old: replaced
            try:
                evaluation.evaluate_due(timezone.localdate())
                self._failed = False
            except Exception as exc:
                # What is not evaluated stays queued: tried again in a minute, at the next
                # kick, by a reader of the family or by the nightly sweep.
                self.failures += 1
                self._failed = True
                # The kind of error and where, never its message: a database's can quote
                # a row's values.
                where = traceback.extract_tb(exc.__traceback__)[-1]
                log.error(
                    "background evaluation failed (%s at %s:%d); the families stay queued",
                    type(exc).__name__,
                    where.filename,
                    where.lineno,
                )
                connection.close()
            finally:
                self.rounds += 1
                with self._start:
                    if not self._wake.is_set() and not self._failed:
                        connection.close()  # this thread's own connection, not held idle
                        self._idle.set()


_evaluator: Evaluator | None = None
_made = threading.Lock()


def evaluator() -> Evaluator:
    global _evaluator
    with _made:
        if _evaluator is None:
            _evaluator = Evaluator(float(getattr(settings, "CRADLE_EVALUATION_GATHER", 0.5)))
        return _evaluator


def kick() -> None:
    """After a commit that queued families: have them evaluated in the background (when
    ``CRADLE_BACKGROUND_EVALUATION`` is on)."""
    if getattr(settings, "CRADLE_BACKGROUND_EVALUATION", False):
        evaluator().kick()
