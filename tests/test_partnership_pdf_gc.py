"""The chronology PDF pauses the garbage collector while WeasyPrint works
(``cradle.partnership.exports._collector_paused``): whatever happens, the process's
collector is left as it was found, and the render's garbage is collected."""

from __future__ import annotations

import gc

import pytest

from cradle.partnership import exports


@pytest.fixture(autouse=True)
def _collector_restored():
    yield
    gc.enable()
    gc.unfreeze()


def test_the_collector_is_paused_during_a_render_and_restored_after():
    seen = {}

    with exports._collector_paused():
        seen["enabled"] = gc.isenabled()
        seen["frozen"] = gc.get_freeze_count()
    assert seen["enabled"] is False and seen["frozen"] > 0
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_failed_render_restores_the_collector():
    with pytest.raises(RuntimeError), exports._collector_paused():
        raise RuntimeError("WeasyPrint failed")
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_collector_already_off_stays_off():
    gc.disable()
    with exports._collector_paused():
        pass
    assert not gc.isenabled() and gc.get_freeze_count() == 0


def test_the_garbage_of_a_render_is_collected():
    class Node:
        pass

    with exports._collector_paused():
        for _ in range(1000):  # cycles, which only the collector frees
            a, b = Node(), Node()
            a.other, b.other = b, a
        del a, b
        assert sum(type(o) is Node for o in gc.get_objects()) >= 2000
    assert not any(type(o) is Node for o in gc.get_objects())
