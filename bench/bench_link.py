"""Record linkage throughput: Cradle's ``link`` beside a minimal plain-Splink script.

    .venv/bin/python bench/bench_link.py [--records 1000000] [--smoke]

The records are the synthetic population (cradle.linkage.synthetic) tiled to the
size asked for: each copy gets its own NHS numbers (valid, drawn afresh), a
mark inside its given and family names and before its postcode, a house-number prefix and
dates of birth shifted by a week, so blocks stay the size they would be in a
real population instead of growing with the number of copies. Both runs score the same records with the same
saved model (the shipped default) and the same settings (blocking, comparisons,
threshold 0.5):

- cradle: ``cradle.linkage.link.link`` (the NHS-number pairs, Splink's predict,
  then the pairs classed as links or review with their weight breakdown);
- splink: DuckDBAPI, Linker, ``inference.predict(threshold_match_probability=0.5)``
  and the result as a pandas frame, nothing else.

The ratio cradle/splink is Cradle's overhead on Splink. Training is not timed
(it runs once per model, not per run). Peak memory is the process's largest
resident set (each run in a fresh process).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _valid_numbers(rng, n: int) -> list[str]:
    out = []
    while len(out) < n:
        body = f"{rng.randrange(10**8, 10**9):09d}"
        total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
        check = 11 - total % 11
        check = 0 if check == 11 else check
        if check != 10:
            out.append(body + str(check))
    return out


def records(n: int):
    """n records: the synthetic population tiled (see the module docstring)."""
    import random
    from datetime import date, timedelta

    import pandas as pd

    from cradle.linkage.frame import RAW_COLUMNS, prepare
    from cradle.linkage.synthetic import population

    base, _ = population(people=3000, seed=6)
    raw = base[[*RAW_COLUMNS]].copy()
    copies = -(-n // len(raw))
    rng = random.Random(6)
    parts = []
    for k in range(copies):
        part = raw.copy()
        suffix = "" if k == 0 else "".join(chr(97 + (k // 26**i) % 26) for i in range(2))
        part["source_id"] = part["source_id"] + f"-{k}"

        # The copy's mark goes after a name's first letter and before the postcode:
        # names stay as varied as a real population's (first letters as common as
        # they are), and no exact name or postcode is shared between copies.
        def mark(v, s=suffix):
            if not v or v.startswith(("Baby", "Unborn")):
                return v
            return f"{v[0]}{s}{v[1:]}"

        part["given_name"] = part["given_name"].map(mark)
        part["family_name"] = part["family_name"].map(mark)
        part["postcode"] = part["postcode"].map(lambda v, s=suffix: f"{s}{v}" if v else v)
        part["address"] = part["address"].map(lambda v, k=k: f"{k} {v}" if v else v)
        numbers = iter(_valid_numbers(rng, len(part)))
        part["nhs_number"] = [next(numbers) if v else v for v in part["nhs_number"]]
        shift = timedelta(days=7 * k)
        part["dob"] = part["dob"].map(lambda v, s=shift: (v - s) if isinstance(v, date) else v)
        parts.append(part)
    return prepare(pd.concat(parts, ignore_index=True).iloc[:n])


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(kind: str, n: int) -> dict:
    from cradle.linkage.frame import model_frame
    from cradle.linkage.link import link, make_db_api
    from cradle.linkage.model import default_model, quiet_splink

    quiet_splink()
    frame = records(n)
    model = default_model()
    started = time.perf_counter()
    if kind == "cradle":
        result = link([frame], "dedupe_only", model=model)
        pairs = len(result.links) + len(result.review)
    else:
        from splink import Linker

        db_api = make_db_api("duckdb")
        linker = Linker(
            db_api.register(model_frame(frame)), model.for_link_type("dedupe_only"), log_level=None
        )
        scored = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never")
        pairs = len(scored.as_pandas_dataframe())
    seconds = time.perf_counter() - started
    return {
        "kind": kind,
        "records": len(frame),
        "pairs": pairs,
        "seconds": seconds,
        "peak_mb": _peak_mb(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--smoke", action="store_true", help="20,000 records, to check it runs")
    parser.add_argument("--one", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]))))
        return 0
    sizes = [20_000] if args.smoke else args.records
    print(
        f"{'records':>9}  {'run':7} {'seconds':>8}  {'records/s':>10}  {'pairs':>9}  {'peak MB':>8}"
    )
    for n in sizes:
        found = {}
        for kind in ("splink", "cradle"):
            out = subprocess.run(
                [sys.executable, __file__, "--one", kind, str(n)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            found[kind] = r
            print(
                f"{r['records']:>9,}  {kind:7} {r['seconds']:>8.1f}  "
                f"{r['records'] / r['seconds']:>10,.0f}  {r['pairs']:>9,}  {r['peak_mb']:>8,.0f}",
                flush=True,
            )
        ratio = found["cradle"]["seconds"] / found["splink"]["seconds"]
        print(f"{'':>9}  overhead cradle/splink: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
