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
from cradle.feeds.ingest import Item, Result, apply_batch_again, quarantine_message
from cradle.feeds.models import Message

LAYOUTS = {"people": rec.PERSON, "relationships": rec.RELATIONSHIP, "contacts": rec.CONTACT}
FIELD_LIMIT = 64 * 1024  # characters: a longer field is held (so is a quote never closed)
BATCH = 5000


def layout_of(header: list[str]) -> tuple[str, list[dict]]:
    """Which layout the header is (its kind of record), or why it is none: what is wrong
    with it, by the names of the layout's columns (``header_problems``)."""
    names = [h.strip() for h in header]
    if len(set(names)) == len(names):
        for kind in LAYOUTS.values():
            fields = set(rec.FIELDS[kind])
            if set(names) <= fields and set(rec.REQUIRED[kind]) <= set(names):
                return kind, []
    return "", [rec.reason("header", p) for p in header_problems(names)]


_COLUMNS = {name for fields in rec.FIELDS.values() for name in fields}
_SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}


def header_problems(names: list[str]) -> list[str]:
    """Why a header (its names, stripped) is none of the layouts, in words a sender can
    act on. A header's own names are quoted back only when they are plain lower-case
    words (``records._WORD``) in a header mostly of a layout's columns: a first line that
    is not a header at all (a file sent without one) is a row of someone's record."""
    if not any(names):
        return [
            "the first line is blank: it must be the header, naming the columns (docs/feeds.md)"
        ]
    if any("\x00" in n for n in names):
        return [
            "the header has NUL characters: the file looks like UTF-16 text; "
            "save it as UTF-8 CSV (docs/feeds.md)"
        ]
    for sep, what in _SEPARATORS.items():
        pieces = {p.strip().lower() for n in names for p in n.split(sep)}
        if any(sep in n for n in names) and pieces & _COLUMNS:
            return [
                f"the header looks separated by {what}, not commas: "
                "save the file as comma-separated CSV (docs/feeds.md)"
            ]
    lower = [n.lower() for n in names]
    known = [n for n in lower if n in _COLUMNS]
    if not known:
        return [
            "no column is a column of any layout (people, relationships, contacts): "
            "the first line must be the header, naming the columns (docs/feeds.md)"
        ]
    twice = sorted({n for n in lower if n and lower.count(n) > 1})
    if twice:
        named = [n for n in twice if n in _COLUMNS]
        return [f"the column {named[0]} is named twice" if named else "a column is named twice"]
    # The layout these columns are nearest to: most columns of it, fewest required missing.
    kind = max(
        LAYOUTS.values(),
        key=lambda k: (
            sum(n in rec.FIELDS[k] for n in lower),
            -sum(r not in lower for r in rec.REQUIRED[k]),
        ),
    )
    layout = next(k for k, v in LAYOUTS.items() if v == kind)
    problems = [
        "the columns are none of the layouts (people, relationships, contacts); "
        f"nearest is {layout} (docs/feeds.md)"
    ]
    cased = [n.lower() for n in names if n != n.lower() and n.lower() in rec.FIELDS[kind]]
    if cased:
        problems.append(
            f"column names are lower case: write {_listed(cased)} in lower case "
            "(the header has capitals)"
        )
    missing = [r for r in rec.REQUIRED[kind] if r not in lower]
    if missing:
        problems.append(
            f"the {layout} layout's required column{'s' if len(missing) > 1 else ''} "
            f"{_listed(missing)} {'are' if len(missing) > 1 else 'is'} missing"
        )
    unknown = [n for n in names if n and n.lower() not in rec.FIELDS[kind]]
    if unknown:
        quote = 2 * len(known) >= len(names)
        shown = [f"'{n}'" for n in unknown if quote and rec._WORD.match(n)]
        others = len(unknown) - len(shown)
        if others:
            more = " other" if shown else ""
            shown.append(f"{others}{more} column{'s' if others > 1 else ''}")
        problems.append(
            f"not columns of the {layout} layout: {_listed(shown)}"
            + ("" if quote else " (their names not repeated: is the first line the header?)")
        )
    blank = names.count("")
    if blank:
        problems.append(f"{blank} column{'s have' if blank > 1 else ' has'} no name")
    return problems


def _listed(words: list[str], most: int = 6) -> str:
    if len(words) > most:
        words = [*words[:most], f"{len(words) - most} more"]
    return ", ".join(words)


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
            if "field limit" in str(exc):
                problem = _too_long(lines.current)
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


def _unreadable_header(raw: bytes, problem: str) -> str:
    """Why the header could not be read, with what the file looks like instead."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return (
            "the file is not UTF-8 text: it starts with a UTF-16 byte-order mark "
            "(it looks like UTF-16): save it as UTF-8 CSV"
        )
    if problem.startswith("the row is not valid UTF-8"):
        return "the header is not valid UTF-8 text: save the file as UTF-8 CSV"
    return problem.replace("the row's", "the header's").replace("the row", "the header")


def _too_long(lines: list[str]) -> str:
    """Why a row has a field over the limit: a quote never closed (an odd number of
    quotes: it ran on, line after line) or a field that is just that long."""
    why = f"a field is longer than the limit of {FIELD_LIMIT} characters"
    if sum(line.count('"') for line in lines) % 2:
        return f"{why}: the row's quoting is broken (a quote is never closed)"
    return why


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
    why = ""
    if header is None:
        why = "the file is empty"
    elif header[2] is None:
        why = _unreadable_header(header[1], header[3])
    elif not any(name.strip() for name in header[2]) and all(
        row is not None and not any(field.strip() for field in row) for _s, _r, row, *_ in rows
    ):
        why = "the file has no header (only blank lines)"
    if why:
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
            apply_batch_again(
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
    layout = next((k for k, v in LAYOUTS.items() if v == kind), kind)
    item = Item(locator, kind, raw, None, record_type=f"csv:{layout}", context=context)
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
    layout = next((k for k, v in LAYOUTS.items() if v == kind), kind)
    for n, row in enumerate(found):
        one = Item(
            locator if len(found) == 1 else f"{locator} {n + 1}",
            kind,
            raw,
            {k: v for k, v in zip(names, row, strict=True) if v.strip() != ""},
            record_type=f"csv:{layout}",  # as the file's rows are: corrected again the same way
            context=context,
        )
        out.append(one)
    return out
