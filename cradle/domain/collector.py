"""Pausing Python's cyclic garbage collector around work that makes millions of objects.

Each full collection walks every container object the process holds. Work that makes
a million objects in a row (WeasyPrint laying out a long chronology) triggers many
collections, each walking the whole heap again: a third of a 500-entry PDF's time.
Reference counting still frees what is not in a cycle as it goes. (Tried around a
linkage run's classing of two million pairs: no measurable change, so not used there.)
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_PAUSED = threading.Lock()  # one pause at a time in a process: the collector is global


@contextmanager
def collector_paused() -> Iterator[None]:
    """The objects already alive frozen out of collection, collection paused while the
    block runs, its garbage collected once at the end without walking the frozen rest;
    the collector always restored as it was, even when the block fails."""
    with _PAUSED:
        gc.freeze()
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            if was_enabled:
                gc.enable()
            gc.collect()
            gc.unfreeze()


def settle() -> None:
    """Freeze what a process holds once it is set up (modules, classes, Django's registry):
    those objects live as long as the process, and a full collection no longer walks them,
    which costs every later collection of a long batch job or a server worker (10 to 20%
    of a feed import's time here). Call it once, after set-up; never undone.

    Frozen objects are not finalised when the process exits: whatever must be closed at
    exit and hangs from them (Django's database connections: on SQLite the last to close
    writes the write-ahead log back into the database file) needs an ``atexit`` of its
    own, registered by the caller (``cradle.cli._django``, ``cradle.site.wsgi``)."""
    gc.collect()
    gc.freeze()
