"""The CSV reader streams: memory does not grow with the file, even when a broken quote
would swallow the rest of it."""

from __future__ import annotations

import tracemalloc

from cradle.feeds import csvfeed


def _peak(path) -> tuple[int, int, list[str]]:
    import csv

    csv.field_size_limit(csvfeed.FIELD_LIMIT)
    tracemalloc.start()
    rows, problems = 0, []
    with open(path, "rb") as f:
        for _start, _raw, _row, problem, _consumed in csvfeed._rows(f):
            rows += 1
            if problem:
                problems.append(problem)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows, peak, problems


def test_reading_a_large_file_holds_one_row_at_a_time(tmp_path):
    path = tmp_path / "big.csv"
    line = b"c%d,home_visit,2026-11-20,attended,b1;m1,b1,bruise,a short note about the visit\n"
    with open(path, "wb") as f:
        f.write(b"source_id,kind,occurred_on,outcome,subjects,seen,findings,note\n")
        for i in range(120_000):
            f.write(line % i)
    assert path.stat().st_size > 9_000_000
    rows, peak, problems = _peak(path)
    assert rows == 120_001 and not problems
    assert peak < 2_000_000, f"peak {peak} bytes while reading a {path.stat().st_size}-byte file"


def test_an_unclosed_quote_cannot_swallow_the_file(tmp_path):
    path = tmp_path / "quote.csv"
    with open(path, "wb") as f:
        f.write(b"source_id,kind,occurred_on,outcome,subjects,seen,findings,note\n")
        f.write(b'c0,home_visit,2026-11-20,attended,b1,,,"an unclosed quote\n')
        for i in range(50_000):
            f.write(b"c%d,home_visit,2026-11-20,attended,b1,,,note\n" % i)
    rows, peak, problems = _peak(path)
    assert rows > 48_000  # after the broken row (held whole, up to the field limit) reading goes on
    assert problems and "quoting" in problems[0] and "limit of 65536 characters" in problems[0]
    assert peak < 3 * csvfeed.FIELD_LIMIT + 1_000_000
