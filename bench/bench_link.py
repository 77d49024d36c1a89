"""Record linkage throughput: Cradle's ``link`` beside a minimal plain-Splink script.

    .venv/bin/python bench/bench_link.py [--records 100000 1000000] [--new N] [--smoke]

The records are distinct synthetic people (``cradle.linkage.synthetic.population``:
families around a baby, each person held by a few agencies with the errors real
records carry, Faker's en_GB names and addresses, NHS numbers from the synthetic
range), generated once per size into ``var/bench/`` (not timed). Both runs score
the same records with the same saved model (the shipped default) and the same
settings (blocking, comparisons, threshold 0.5, DuckDB set up by
``cradle.linkage.link.make_db_api``, its memory capped by ``CRADLE_LINK_MEMORY``):

- cradle: ``cradle.linkage.link.link`` (the NHS-number pairs, Splink's predict,
  the pairs read out, classed as links or review, the review pairs' comparison
  levels and weights kept for the waterfall);
- splink: DuckDBAPI, Linker, ``inference.predict(threshold_match_probability=0.5)``
  and the pairs read out (ids, probability, weight) as a pandas frame, nothing else.

With ``--new N``, a third: ``due``, ``link`` of the same records with N of them (a
random sample) new since the rest were linked, as ``cradle link due`` runs it (only the
pairs with one of them scored), beside the whole run.

The ratio cradle/splink is Cradle's overhead on Splink. Training is not timed
(it runs once per model, not per run). Peak memory is the process's largest
resident set (each run in a fresh process). Targets (issue 6), judged at a
million records: under 90 s, under 4 GB, at most 1.2 times plain Splink, judged on
the medians of ``--repeat`` alternated runs (this machine's speed drifts by some 10%
between runs). ``--smoke`` (20,000 records) judges nothing.
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


CACHE = ROOT / "var" / "bench"
TARGET_RECORDS, TARGET_SECONDS, TARGET_MB, TARGET_RATIO = 1_000_000, 90, 4096, 1.2


def records(n: int):
    """n records of distinct synthetic people (``cradle.linkage.synthetic``: families
    around a baby, each person held by a few agencies with the errors real records
    carry), generated once per size and kept in ``var/bench/`` (not timed)."""
    import pandas as pd

    from cradle.linkage.synthetic import population

    path = CACHE / f"link-{n}.parquet"
    if path.exists():
        frame = pd.read_parquet(path)
        # Parquet gives a list column back as arrays; the model's frame holds lists.
        frame["family_parts"] = frame["family_parts"].map(lambda v: None if v is None else list(v))
        return frame
    people = max(100, int(n / 2.6))
    while True:
        frame, _ = population(people=people, seed=6)
        if len(frame) >= n:
            break
        people = int(people * 1.1 * n / len(frame))
    frame = frame.iloc[:n].reset_index(drop=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.to_parquet(tmp)
    tmp.replace(path)
    return frame


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(kind: str, n: int, new: int = 0) -> dict:
    from cradle.linkage.frame import model_frame
    from cradle.linkage.link import link, make_db_api
    from cradle.linkage.model import default_model, quiet_splink

    quiet_splink()
    frame = records(n)
    model = default_model()
    started = time.perf_counter()
    steps = {}
    if kind in ("cradle", "due"):
        fresh = set(frame["unique_id"].sample(new, random_state=1)) if kind == "due" else None
        result = link([frame], "dedupe_only", model=model, new=fresh)
        pairs = len(result.links) + len(result.review)
        steps = {k: round(v, 1) for k, v in result.steps.items()}
    else:
        from splink import Linker

        db_api = make_db_api("duckdb")
        linker = Linker(
            db_api.register(model_frame(frame)), model.for_link_type("dedupe_only"), log_level=None
        )
        scored = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never")
        pairs = len(
            scored.query_sql(
                "SELECT unique_id_l, unique_id_r, match_probability, match_weight FROM {this}"
            ).as_pandas_dataframe()
        )
    seconds = time.perf_counter() - started
    return {
        "kind": kind,
        "records": len(frame),
        "pairs": pairs,
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "steps": steps,
    }


def _median_run(runs: list[dict]) -> dict:
    """The run of median time (the lower middle of an even number)."""
    return sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--smoke", action="store_true", help="20,000 records, to check it runs")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each, alternated; the medians compared"
    )
    parser.add_argument(
        "--new", type=int, default=0, metavar="N", help="also link N new records against the rest"
    )
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]), int(args.one[2]))))
        return 0
    sizes = [20_000] if args.smoke else args.records
    print(
        f"{'records':>9}  {'run':7} {'seconds':>8}  {'records/s':>10}  {'pairs':>9}  {'peak MB':>8}"
    )
    failed = False
    for n in sizes:
        kinds = ("splink", "cradle", "due") if args.new else ("splink", "cradle")
        runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
        # Alternated, each in a fresh process: this machine's speed drifts by some 10%
        # from one minute to the next, so one run of each says little about their ratio.
        for _ in range(args.repeat):
            for kind in kinds:
                out = subprocess.run(
                    [sys.executable, __file__, "--one", kind, str(n), str(args.new)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                r = json.loads(out.strip().splitlines()[-1])
                runs[kind].append(r)
                steps = "  " + json.dumps(r["steps"]) if r["steps"] else ""
                print(
                    f"{r['records']:>9,}  {kind:7} {r['seconds']:>8.1f}  "
                    f"{r['records'] / r['seconds']:>10,.0f}  {r['pairs']:>9,}  "
                    f"{r['peak_mb']:>8,.0f}{steps}",
                    flush=True,
                )
        found = {kind: _median_run(found) for kind, found in runs.items()}
        ratio = found["cradle"]["seconds"] / found["splink"]["seconds"]
        what = f"medians of {args.repeat}: " if args.repeat > 1 else ""
        print(
            f"{'':>9}  {what}splink {found['splink']['seconds']:.1f} s, cradle "
            f"{found['cradle']['seconds']:.1f} s; overhead cradle/splink: {ratio:.2f}x"
        )
        if args.new:
            print(
                f"{'':>9}  {args.new:,} new records linked against the rest: "
                f"{found['due']['seconds']:.1f} s, the whole run's time "
                f"x{found['due']['seconds'] / found['cradle']['seconds']:.2f}"
            )
        if n == TARGET_RECORDS and not args.smoke:
            c = found["cradle"]
            peak = max(r["peak_mb"] for r in runs["cradle"])
            checks = {
                f"under {TARGET_SECONDS} s": c["seconds"] < TARGET_SECONDS,
                f"under {TARGET_MB:,} MB (the largest peak)": peak < TARGET_MB,
                f"at most {TARGET_RATIO}x plain Splink": ratio <= TARGET_RATIO,
            }
            for name, ok in checks.items():
                print(f"{'':>9}  {name}: {'met' if ok else 'MISSED'}")
                failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
