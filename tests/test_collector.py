"""The garbage collector paused around work that makes millions of objects (the
chronology PDF's WeasyPrint render, a linkage run's classing:
``cradle.domain.collector.collector_paused``): whatever happens, the process's
collector is left as it was found, and the block's garbage is collected."""

from __future__ import annotations

import gc

import pytest

from cradle.domain.collector import collector_paused


@pytest.fixture(autouse=True)
def _collector_restored():
    yield
    gc.enable()
    gc.unfreeze()


def test_the_collector_is_paused_during_a_render_and_restored_after():
    seen = {}

    with collector_paused():
        seen["enabled"] = gc.isenabled()
        seen["frozen"] = gc.get_freeze_count()
    assert seen["enabled"] is False and seen["frozen"] > 0
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_failed_render_restores_the_collector():
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("WeasyPrint failed")
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_collector_already_off_stays_off():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled() and gc.get_freeze_count() == 0


def test_the_garbage_of_a_render_is_collected():
    class Node:
        pass

    with collector_paused():
        for _ in range(1000):  # cycles, which only the collector frees
            a, b = Node(), Node()
            a.other, b.other = b, a
        del a, b
        assert sum(type(o) is Node for o in gc.get_objects()) >= 2000
    assert not any(type(o) is Node for o in gc.get_objects())
