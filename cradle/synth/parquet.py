"""A population in a Parquet file: one row per family, its people, relationships and
events as nested lists, written and read in row groups so that memory stays bounded.

The nested layout reads naturally in DuckDB (``SELECT unnest(events) ...``). Reading
back into Python goes column by column: each string column is dictionary-encoded by
Arrow (the vocabulary has a few dozen words), so a batch of families costs a few
Python operations per value rather than a dictionary per struct.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cradle.synth.generator import BIRTHS_FROM, families
from cradle.synth.rates import Rates, load_rates

FORMAT = "cradle-population/1"
STR, I32 = pa.string(), pa.int32()
STRS = pa.list_(STR)
PERSON = pa.struct(
    [("id", STR), ("role", STR), ("sex", STR), ("born_day", I32), ("due_day", I32), ("given", STR), ("family", STR),
     ("nhs_number", STR), ("address", STR), ("postcode", STR), ("known_to", STRS)]
)  # fmt: skip
RELATIONSHIP = pa.struct(
    [("person", STR), ("kind", STR), ("other", STR), ("recorded_by", STRS), ("from_day", I32)]
)
EVENT = pa.struct(
    [("day", I32), ("recorded_day", I32), ("agency", STR), ("kind", STR), ("subjects", STRS), ("outcome", STR),
     ("channel", STR), ("seen", STRS), ("findings", STRS), ("to_agency", STR), ("delivered_to", STRS),
     ("touchpoint", STR)]
)  # fmt: skip
SCHEMA = pa.schema(
    [("family", STR), ("number", pa.int64()), ("origin", pa.date32()), ("index_child", STR), ("booking_day", I32),
     ("harm_day", I32), ("harm_kind", STR), ("pattern", STR), ("quintile", pa.int8()), ("ethnic_group", STR),
     ("risks", STRS), ("people", pa.list_(PERSON)), ("relationships", pa.list_(RELATIONSHIP)),
     ("events", pa.list_(EVENT))]
)  # fmt: skip
FLAT = ("family", "number", "origin", "index_child", "booking_day", "harm_day", "harm_kind", "pattern", "quintile",
        "ethnic_group", "risks")  # fmt: skip
ROW_GROUP = 1000


def to_batch(fams: Iterable[dict]) -> pa.RecordBatch:
    """Families as one record batch (tuples map to the structs' fields in order)."""
    cols: dict[str, list] = {name: [] for name in SCHEMA.names}
    for f in fams:
        for name in SCHEMA.names:
            cols[name].append(f[name])
    return pa.RecordBatch.from_arrays(
        [pa.array(cols[f.name], type=f.type) for f in SCHEMA], schema=SCHEMA
    )


def _chunk(job: tuple) -> pa.RecordBatch:
    seed, start, n, rates, births_from = job
    return to_batch(families(n, seed, rates, start=start, births_from=births_from))


def write_population(
    path: str | Path,
    n: int,
    seed: int,
    *,
    rates: Rates | None = None,
    processes: int | None = 1,
    row_group: int = ROW_GROUP,
    births_from: date = BIRTHS_FROM,
    progress: bool = False,
) -> Path:
    """Generate ``n`` families into ``path``, one row group per ``row_group`` families.

    The bytes depend on (n, seed, rates, row_group) only: chunks are made in any
    process but written in order."""
    rates = rates or load_rates()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    jobs = [(seed, s, min(row_group, n - s), rates, births_from) for s in range(0, n, row_group)]
    meta = {
        "format": FORMAT,
        "seed": seed,
        "families": n,
        "births_from": births_from.isoformat(),
        "rates": rates.hash,
    }
    schema = SCHEMA.with_metadata({"cradle": json.dumps(meta, sort_keys=True)})
    bar = _bar(n, progress, "synth")
    tmp = path.with_suffix(path.suffix + ".part")
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for batch in _run(_chunk, jobs, processes):
            writer.write_batch(
                batch.replace_schema_metadata(schema.metadata), row_group_size=row_group
            )
            bar.update(batch.num_rows)
    os.replace(tmp, path)
    bar.close()
    return path


def _run(fn, jobs: list, processes: int | None) -> Iterator:
    """``fn`` over ``jobs`` in order, in worker processes.

    Forked on Linux, so workers start with the modules already imported (seconds saved per
    worker); the parent has done no Arrow computation when the pool starts, only opened a
    file or read its metadata, and each worker opens the file itself. Spawned elsewhere."""
    processes = default_processes() if processes is None else processes
    if processes <= 1 or len(jobs) <= 1:
        yield from map(fn, jobs)
        return
    ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ctx.Pool(min(processes, len(jobs))) as pool:
        yield from pool.imap(fn, jobs, chunksize=1)


def default_processes() -> int:
    # The machine may be shared: at most the cores there are, and never more than 8.
    return max(1, min(os.cpu_count() or 1, 8))


def _bar(total: int, show: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="family", desc=desc, disable=not show, mininterval=1.0)


def metadata(path: str | Path) -> dict:
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"cradle")
    if raw is None:
        raise ValueError(f"{path}: not a cradle population file (no 'cradle' metadata)")
    return json.loads(raw)


def row_groups(path: str | Path) -> int:
    return pq.ParquetFile(path).num_row_groups


# -- reading -----------------------------------------------------------------------------


def _decode(arr: pa.Array) -> list:
    """A string array as a Python list, through Arrow's dictionary encoding."""
    if len(arr) == 0:
        return []
    enc = pc.dictionary_encode(arr)
    values = [*enc.dictionary.to_pylist(), None]
    idx = pc.fill_null(enc.indices, len(values) - 1).to_numpy(zero_copy_only=False).tolist()
    return [values[i] for i in idx]


def _ints(arr: pa.Array) -> list:
    return arr.to_pylist()


def _lists(arr: pa.ListArray) -> list[tuple]:
    """A list<string> array as tuples."""
    offsets = arr.offsets.to_numpy()
    base = int(offsets[0])
    values = _decode(arr.flatten())
    off = (offsets - base).tolist()
    return [tuple(values[off[i] : off[i + 1]]) for i in range(len(arr))]


def _structs(arr: pa.ListArray, kinds: dict[str, str]) -> tuple[list, list[int]]:
    """A list<struct> column as row tuples (field order) and the per-family offsets."""
    offsets = arr.offsets.to_numpy()
    off = (offsets - int(offsets[0])).tolist()
    inner: pa.StructArray = arr.flatten()
    children = inner.flatten()
    cols = []
    for field, child in zip(inner.type, children, strict=True):
        kind = kinds[field.name]
        cols.append(
            _decode(child) if kind == "s" else _lists(child) if kind == "l" else _ints(child)
        )
    return list(zip(*cols, strict=True)) if cols and len(inner) else [], off


_PEOPLE = {f.name: "s" for f in PERSON}
_PEOPLE.update(born_day="i", due_day="i", known_to="l")
_RELS = {"person": "s", "kind": "s", "other": "s", "recorded_by": "l", "from_day": "i"}
_EVENTS = {f.name: "s" for f in EVENT}
_EVENTS.update(day="i", recorded_day="i", subjects="l", seen="l", findings="l", delivered_to="l")


def batch_families(batch: pa.RecordBatch | pa.Table) -> list[dict]:
    """A batch's families as the generator's dictionaries (the same values, the same types)."""
    n = batch.num_rows
    flat = {}
    for name in FLAT:
        col = batch.column(name)
        if name == "risks":
            flat[name] = [list(t) for t in _lists(_combined(col))]
        elif pa.types.is_string(col.type):
            flat[name] = _decode(_combined(col))
        else:
            flat[name] = col.to_pylist()
    people, p_off = _structs(_combined(batch.column("people")), _PEOPLE)
    rels, r_off = _structs(_combined(batch.column("relationships")), _RELS)
    events, e_off = _structs(_combined(batch.column("events")), _EVENTS)
    out = []
    for i in range(n):
        fam = {name: flat[name][i] for name in FLAT}
        fam["people"] = people[p_off[i] : p_off[i + 1]]
        fam["relationships"] = rels[r_off[i] : r_off[i + 1]]
        fam["events"] = events[e_off[i] : e_off[i + 1]]
        out.append(fam)
    return out


def _combined(col):
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def read_row_group(path: str | Path, index: int) -> list[dict]:
    return batch_families(pq.ParquetFile(path).read_row_group(index))


def read_families(path: str | Path) -> Iterator[dict]:
    """Every family in the file, one row group in memory at a time."""
    f = pq.ParquetFile(path)
    for i in range(f.num_row_groups):
        yield from batch_families(f.read_row_group(i))
