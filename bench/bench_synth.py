"""Synthetic population throughput: generating a population file and sweeping it as of one day.

    .venv/bin/python bench/bench_synth.py [--families 10000 100000] [--processes N] [--smoke]

For each size, in a fresh process each (so that peak memory is the phase's own):

- generate: ``cradle synth`` to a Parquet file (families drawn, written in row groups);
- sweep: ``cradle sweep FILE --as-of DATE`` (every rule for every family, findings written out);
- year (on a sample): the simulated year ``cradle burden`` runs, per family.

Baselines, measured in the same run: bench_rules.py's quick generator (rows only: no
names, addresses, NHS numbers or file), and evaluating the same families already in
memory on one core (the rules alone, no file, no processes). Peak memory is the
largest resident set of the parent plus, for the workers, the largest worker's times
the number of workers (resource.getrusage gives the largest child, not the sum), an
upper bound on all the processes together.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AS_OF = date(2025, 12, 31)  # the end of the year of births: every baby under one


def _rss_mb() -> tuple[float, float]:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return self_kb / 1024, child_kb / 1024


def phase(name: str, n: int, processes: int, path: str, seed: int) -> dict:
    """One measured phase, run in this (fresh) process."""
    from cradle.rules import evaluate
    from cradle.synth.generator import families
    from cradle.synth.parquet import write_population
    from cradle.synth.sweep import sweep_as_of, year_of
    from cradle.synth.timeline import to_timeline

    t0 = time.perf_counter()
    extra: dict = {}
    if name == "generate":
        write_population(path, n, seed, processes=processes)
        secs = time.perf_counter() - t0
        extra["bytes"] = os.path.getsize(path)
        extra["events"] = _events(path)
    elif name == "sweep":
        report = sweep_as_of(
            path, AS_OF, processes=processes, out=path.replace(".parquet", "-alerts.parquet")
        )
        extra["findings"] = sum(report.findings.values())
        extra["active"] = report.active
    elif name == "year":
        from cradle.rules import DEFAULT_SETTINGS

        fams = list(families(n, seed))
        t0 = time.perf_counter()
        extra["alerts"] = sum(len(year_of(f, DEFAULT_SETTINGS)) for f in fams)
    elif name == "baseline-generate":
        sys.path.insert(0, str(ROOT / "bench"))
        from bench_rules import family_rows

        rng = random.Random(seed)
        t0 = time.perf_counter()
        for fid in range(n):
            family_rows(rng, fid, 365)
    elif name == "baseline-evaluate":
        fams = list(families(n, seed))
        tls = [(to_timeline(f), (AS_OF - f["origin"]).days) for f in fams]
        del fams
        t0 = time.perf_counter()
        for tl, day in tls:
            evaluate(tl, day)
    if name != "generate":
        secs = time.perf_counter() - t0
    own, child = _rss_mb()
    return {"phase": name, "n": n, "seconds": secs, "self_mb": own, "child_mb": child, **extra}


def _events(path: str) -> int:
    """Events in the file, from the Parquet metadata (the leaf values of events.day)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    col = next(j for j in range(meta.num_columns) if meta.row_group(0).column(j).path_in_schema.startswith("events.")
               and meta.row_group(0).column(j).path_in_schema.endswith(".day"))  # fmt: skip
    return sum(meta.row_group(i).column(col).num_values for i in range(meta.num_row_groups))


def run_phase(name: str, n: int, processes: int, path: Path, seed: int, fresh: bool = True) -> dict:
    """A phase in a fresh process (its own peak memory), or here (the smoke run: quick)."""
    if not fresh:
        return phase(name, n, processes, str(path), seed)
    cmd = [sys.executable, __file__, "--phase", name, "--families", str(n), "--processes", str(processes),
           "--path", str(path), "--seed", str(seed)]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def _peak(r: dict, processes: int) -> float:
    workers = processes if r["child_mb"] > 0 and processes > 1 else 0
    return r["self_mb"] + workers * r["child_mb"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--year-sample", type=int, default=1000, help="families for the simulated-year rate"
    )
    ap.add_argument(
        "--baseline-sample", type=int, default=10_000, help="families for the baselines"
    )
    ap.add_argument("--smoke", action="store_true", help="a tiny run for CI (a few seconds)")
    ap.add_argument("--keep", action="store_true", help="keep the population files in out/")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(args.phase, args.families[0], args.processes, args.path, args.seed)))
        return 0
    if args.smoke:
        args.families, args.year_sample, args.baseline_sample = [400], 40, 400
    procs = args.processes
    fresh = not args.smoke
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    print(f"cradle synthetic population benchmark, {datetime.now():%Y-%m-%d %H:%M}")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, {platform.platform()}"
    )
    print(
        f"python {platform.python_version()}, seed {args.seed}, {procs} worker processes, sweep as of {AS_OF}"
    )
    if args.smoke:
        print(
            "smoke run: tiny, every phase in this process (peak memory is the run's, not the phase's)"
        )
    print()

    base_n = min(args.baseline_sample, max(args.families))
    bgen = run_phase("baseline-generate", base_n, 1, out / "unused", args.seed, fresh)
    beval = run_phase("baseline-evaluate", base_n, 1, out / "unused", args.seed, fresh)
    year = run_phase("year", args.year_sample, 1, out / "unused", args.seed, fresh)
    header = f"{'phase':<44}{'families':>10}{'seconds':>9}{'families/s':>12}{'vs baseline':>13}{'peak MB':>9}"
    print(header)
    print("-" * len(header))
    print(f"{'baseline: bench_rules rows, 1 core':<44}{base_n:>10,}{bgen['seconds']:>9.2f}"
          f"{base_n / bgen['seconds']:>12,.0f}{'1.00':>13}{bgen['self_mb']:>9.0f}")  # fmt: skip
    print(f"{'baseline: evaluate in memory, 1 core':<44}{base_n:>10,}{beval['seconds']:>9.2f}"
          f"{base_n / beval['seconds']:>12,.0f}{'1.00':>13}{beval['self_mb']:>9.0f}")  # fmt: skip
    rates, peaks = {}, []
    for n in sorted(args.families):
        path = out / f"bench-synth-{n}.parquet"
        gen = run_phase("generate", n, procs, path, args.seed, fresh)
        sweep = run_phase("sweep", n, procs, path, args.seed, fresh)
        g_rate, s_rate = n / gen["seconds"], n / sweep["seconds"]
        rates[n] = (g_rate, s_rate)
        peaks += [gen, sweep]
        print(f"{f'generate to Parquet, {procs} processes':<44}{n:>10,}{gen['seconds']:>9.2f}{g_rate:>12,.0f}"
              f"{g_rate / (base_n / bgen['seconds']):>13.2f}{_peak(gen, procs):>9.0f}")  # fmt: skip
        print(f"{f'sweep as of one day, {procs} processes':<44}{n:>10,}{sweep['seconds']:>9.2f}{s_rate:>12,.0f}"
              f"{s_rate / (base_n / beval['seconds']):>13.2f}{_peak(sweep, procs):>9.0f}")  # fmt: skip
        print(f"{'':<44}{gen['events']:,} events ({gen['events'] / n:.1f} a family), file "
              f"{gen['bytes'] / 2**20:,.1f} MiB; {sweep['findings']:,} findings on {sweep['active']:,} families")  # fmt: skip
        if not args.keep:
            for p in (path, out / f"bench-synth-{n}-alerts.parquet"):
                p.unlink(missing_ok=True)
    y_rate = args.year_sample / year["seconds"]
    print(f"{'simulated year (booking to 1st birthday), 1 core':<44}{args.year_sample:>10,}{year['seconds']:>9.2f}"
          f"{y_rate:>12,.1f}{y_rate / (base_n / beval['seconds']):>13.4f}{year['self_mb']:>9.0f}")  # fmt: skip
    sizes = sorted(args.families)
    for lo, hi in pairwise(sizes):
        print(f"\nscaling {lo:,} -> {hi:,} families (rate at {hi:,} / rate at {lo:,}): "
              f"generate {rates[hi][0] / rates[lo][0]:.2f}, sweep {rates[hi][1] / rates[lo][1]:.2f} (1.00 = linear)")  # fmt: skip
    big = sizes[-1]
    if big >= 100_000:
        g, s = rates[big]
        how = "measured" if big == 600_000 else f"projected from {big:,}"
        print(f"600,000 families ({how}): generate {600_000 / g / 60:.1f} min (target 15), "
              f"sweep {600_000 / s / 60:.1f} min (target 10), peak memory {max(_peak(r, procs) for r in peaks):,.0f} MB "
              f"(target 8 GB)")  # fmt: skip
    print(
        "\n'vs baseline': generation against bench_rules.py's quick generator (no names, addresses,"
    )
    print(
        "NHS numbers or file); the sweep against evaluating the same families in memory on one core."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
