"""CSV files from systems that can only export files: one column layout per kind of
record (docs/feeds.md), read as a stream so that a file of millions of rows imports in
bounded memory, written in batches (one transaction each, queueing the families they
touch), the families then evaluated once each when the file ends (at most one
re-evaluation per family per batch, and usually far fewer: a family with a contact in
every batch is evaluated once, not once a batch, and never on half of a file).

Bytes are decoded explicitly (UTF-8, a byte-order mark allowed); a row that is not valid
UTF-8, has the wrong number of fields or broken quoting goes to quarantine with its own
bytes, exactly as they were in the file, and the rest of the file goes on.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from collections.abc import Iterator
from datetime import date
from typing import BinaryIO

from cradle.feeds import records as rec
from cradle.feeds.ingest import Item, Result, apply_batch, quarantine_message
from cradle.feeds.models import Message

LAYOUTS = {"people": rec.PERSON, "relationships": rec.RELATIONSHIP, "contacts": rec.CONTACT}
FIELD_LIMIT = 64 * 1024  # a field longer than this is a broken quote swallowing the file
BATCH = 5000


def layout_of(header: list[str]) -> tuple[str, list[dict]]:
    """Which layout the header is (its kind of record), or why it is none."""
    names = [h.strip() for h in header]
    if len(set(names)) != len(names):
        return "", [{"field": "header", "problem": "a column is named twice"}]
    for kind in LAYOUTS.values():
        fields = set(rec.FIELDS[kind])
        if set(names) <= fields and set(rec.REQUIRED[kind]) <= set(names):
            return kind, []
    return "", [
        {
            "field": "header",
            "problem": "the columns are none of the layouts (people, relationships, contacts): "
            "see docs/feeds.md",
        }
    ]


class _Lines:
    """The file's lines as text for the csv module, remembering the raw text of the row
    being read (to quarantine it byte for byte)."""

    def __init__(self, stream: BinaryIO):
        self.text = io.TextIOWrapper(
            stream, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        self.current: list[str] = []
        self.bytes = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.text:
            self.current.append(line)
            yield line

    def take(self) -> bytes:
        raw = "".join(self.current).encode("utf-8", "surrogateescape")
        self.current = []
        self.bytes += len(raw)
        return raw


def _rows(stream: BinaryIO):
    """(line number, raw bytes, fields or None, problem) for each row, the header first."""
    lines = _Lines(stream)
    reader = csv.reader(iter(lines), strict=True)
    line = 1
    while True:
        try:
            row = next(reader)
            problem = ""
        except StopIteration:
            return
        except csv.Error as exc:
            row, problem = None, f"the row's quoting is broken ({str(exc)[:80]})"
        raw = lines.take()
        start, line = line, reader.line_num + 1
        if row is None and line - start > 1:  # a quote left open took the lines after it
            problem += (
                f"; a quote left open ran lines {start} to {line - 1} together, held as one:"
                " resubmit them all, corrected, one row a line"
            )
        if row is not None and any(_undecodable(f) for f in row):
            row, problem = None, "the row is not valid UTF-8 text"
        yield start, raw, row, problem, lines.bytes


_SURROGATE = re.compile("[\udc80-\udcff]")  # a byte that was not UTF-8, kept by surrogateescape


def _undecodable(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def import_stream(
    stream: BinaryIO,
    *,
    message: Message,
    agency: str,
    today: date,
    batch: int = BATCH,
    bar=None,
) -> Result:
    csv.field_size_limit(FIELD_LIMIT)
    markers = os.environ.get("CRADLE_FEEDS_PROGRESS_MARKERS") == "1"
    result = Result()
    rows = _rows(stream)
    header = next(rows, None)
    if header is None or header[2] is None:
        why = "the file is empty" if header is None else f"the header: {header[3]}"
        result.quarantined.append(
            quarantine_message(
                message,
                [{"field": "header", "problem": why}],
                record_type="csv",
                raw=header[1] if header else b"",
                context={"format": "csv-file"},
            )
        )
        return result
    names = [h.strip() for h in header[2]]
    kind, problems = layout_of(names)
    if problems:
        result.quarantined.append(
            quarantine_message(
                message, problems, record_type="csv", raw=header[1], context={"format": "csv-file"}
            )
        )
        return result
    layout = next(k for k, v in LAYOUTS.items() if v == kind)
    context = {"format": "csv", "header": names}
    # Batches are fixed runs of ``batch`` rows of the file (empty lines count), so that a run
    # resumed from ``message.rows_done`` cuts the file, and re-evaluates, exactly where an
    # uninterrupted run does.
    start_at = message.rows_done
    result.resumed_after = start_at
    pending: list[Item] = []
    done_bytes = len(header[1])
    index = 0
    state = {"batches": start_at // batch}

    def flush(consumed: int, upto: int) -> None:
        nonlocal pending, done_bytes
        result.add(
            apply_batch(
                pending,
                agency=agency,
                message=message,
                today=today,
                queue=True,
                hold=True,
                rows_done=upto,
            )
        )
        state["batches"] += 1
        if bar is not None:
            bar.update(consumed - done_bytes)
        done_bytes = consumed
        if markers:
            print(f"cradle-feeds: batch {state['batches']} committed", file=sys.stderr, flush=True)
        pending = []

    consumed = done_bytes
    for start, raw, row, problem, consumed in rows:
        index += 1
        if index <= start_at:
            continue  # written by an earlier run of this file
        if row is not None and not any(field.strip() for field in row):
            pass  # an empty line: nothing to take
        else:
            item = Item(
                f"line {start}", kind, raw, None, record_type=f"csv:{layout}", context=context
            )
            if row is None:
                item.problems = [{"field": "row", "problem": problem}]
            elif len(row) != len(names):
                item.problems = [
                    {
                        "field": "row",
                        "problem": f"{len(row)} fields where the header has {len(names)}",
                    }
                ]
            else:
                item.data = {n: v for n, v in zip(names, row, strict=True) if v.strip() != ""}
            pending.append(item)
        if index % batch == 0:
            flush(consumed, index)
    if index % batch and index > start_at:
        flush(consumed, index)
    # The families the file touched (and any a killed run of it left queued), once each, on
    # all of the file's records: never on half of them, as evaluating batch by batch would.
    evaluate_queued(
        today,
        message,
        chunk=min(batch, 500),
        markers=markers,
        progress=bar is not None and not bar.disable,
    )
    return result


def evaluate_queued(
    today: date, message, *, chunk: int, markers: bool = False, progress: bool = False
) -> int:
    """``evaluate_due`` of the families the file's batches queued and held for it (and
    any nobody holds), with a progress bar of families and the kill test's markers."""
    from tqdm import tqdm

    from cradle.records.evaluation import evaluate_due, waiting

    def mark(done: int) -> None:
        if markers:
            print(f"cradle-feeds: evaluated {done} families", file=sys.stderr, flush=True)

    total = waiting(message.pk).count() if progress else None
    with tqdm(
        total=total, unit=" families", desc="evaluate", disable=not progress, mininterval=1.0
    ) as bar:
        return evaluate_due(today, chunk=chunk, bar=bar, on_chunk=mark, held_for=message.pk)


def row_items(raw: bytes, context: dict, kind: str, locator: str, rows: int = 1) -> list[Item]:
    """A corrected row (re-submitted from quarantine), read with its file's header; or as
    many as ``rows``, the rows a broken quote ran together and held as one."""
    names = context.get("header") or []
    item = Item(locator, kind, raw, None, record_type=f"csv:{kind}", context=context)
    try:
        text = raw.decode("utf-8-sig")
        found = [r for r in csv.reader(io.StringIO(text, newline=""), strict=True) if r]
    except (UnicodeDecodeError, csv.Error):
        item.problems = [{"field": "row", "problem": "the row is not one valid UTF-8 CSV row"}]
        return [item]
    if not 1 <= len(found) <= rows or any(len(r) != len(names) for r in found):
        many = "one row" if rows == 1 else f"one to {rows} rows"
        item.problems = [{"field": "row", "problem": f"give {many} of {len(names)} fields"}]
        return [item]
    out = []
    for n, row in enumerate(found):
        one = Item(
            locator if len(found) == 1 else f"{locator} {n + 1}",
            kind,
            raw,
            {k: v for k, v in zip(names, row, strict=True) if v.strip() != ""},
            record_type=f"csv:{kind}",
            context=context,
        )
        out.append(one)
    return out
