"""``cradle synth``, ``cradle load-population`` and ``cradle burden`` (``cradle sweep FILE``
is routed here by cli.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import date


def register(sub) -> None:
    p = sub.add_parser(
        "synth", help="generate a synthetic population of families with babies (Parquet)"
    )
    p.add_argument("--families", type=int, required=True, metavar="N")
    p.add_argument("--seed", type=int, default=1, metavar="S")
    p.add_argument("--out", required=True, metavar="FILE.parquet")
    p.add_argument(
        "--rates", metavar="TOML", help="rates to draw from (default: cradle/synth/rates.toml)"
    )
    p.add_argument("--births-from", type=date.fromisoformat, default=None, metavar="DATE",
                   help="first day of the year of births (default 2025-01-01)")  # fmt: skip
    p.add_argument(
        "--processes", type=int, default=None, help="worker processes (default: one per core)"
    )
    p.add_argument("--row-group", type=int, default=1000, help="families per Parquet row group")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_synth)

    p = sub.add_parser(
        "load-population", help="load a population file into the database (idempotent)"
    )
    p.add_argument("population", metavar="FILE.parquet")
    p.add_argument("--batch", type=int, default=200, help="families per transaction")
    p.add_argument("--limit", type=int, default=None, help="load only the first N families")
    p.add_argument("--evaluate-as-of", type=date.fromisoformat, default=None, metavar="DATE",
                   help="also raise each loaded family's alerts as of this day (default: leave it to cradle sweep)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_load)

    p = sub.add_parser(
        "burden", help="alert burden and recall of a simulated year on a population file"
    )
    p.add_argument("population", metavar="POPULATION.parquet")
    p.add_argument("--settings", metavar="A.toml", help="thresholds (default: the defaults)")
    p.add_argument(
        "--compare", metavar="B.toml", help="a second settings file, measured side by side"
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="where the CSVs, charts and alerts go"
    )
    p.add_argument(
        "--processes", type=int, default=None, help="worker processes (default: one per core)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_burden)


def _synth(args: argparse.Namespace) -> int:
    import time

    from cradle.synth.generator import BIRTHS_FROM
    from cradle.synth.parquet import write_population
    from cradle.synth.rates import RatesError, load_rates

    if args.families < 1 or args.row_group < 1:
        print("cradle: --families and --row-group must be at least 1", file=sys.stderr)
        return 2
    try:
        rates = load_rates(args.rates) if args.rates else load_rates()
    except (OSError, RatesError) as exc:
        print(f"cradle: {exc}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    path = write_population(args.out, args.families, args.seed, rates=rates, processes=args.processes,
                            row_group=args.row_group, births_from=args.births_from or BIRTHS_FROM,
                            progress=not args.quiet)  # fmt: skip
    secs = time.perf_counter() - start
    print(f"{args.families:,} families (seed {args.seed}) written to {path} in {secs:.1f} s")
    return 0


def _load(args: argparse.Namespace) -> int:
    from cradle.cli import _django

    _django()
    from django.core.management import call_command

    from cradle.records.population import load_population

    call_command("migrate", verbosity=0)
    try:
        report = load_population(
            args.population, batch=args.batch, limit=args.limit, progress=not args.quiet
        )
    except (OSError, ValueError) as exc:
        print(f"cradle: {exc}", file=sys.stderr)
        return 2
    print(f"{report.families:,} families read: {report.created:,} loaded, {report.unchanged:,} already there "
          f"({report.contacts:,} contacts added)")  # fmt: skip
    return 0


def _burden(args: argparse.Namespace) -> int:
    from cradle.synth.burden import run

    return run(args)
