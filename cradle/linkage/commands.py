"""``cradle link``: train, run and evaluate the record linkage."""

from __future__ import annotations

import argparse
import sys
import time

DEFAULT_MODEL = "var/linkage/model.json"


def register(subparsers) -> None:
    p = subparsers.add_parser("link", help="record linkage: the same person across agencies")
    sub = p.add_subparsers(dest="link_action", required=True)

    e = sub.add_parser("evaluate", help="precision, recall and F1 on data with known truth")
    e.add_argument(
        "--dataset",
        choices=["febrl4", "febrl3", "synthetic", "all"],
        default="all",
        help="FEBRL4 (link A to B), FEBRL3 (deduplicate), the synthetic population, or all",
    )
    e.add_argument("--people", type=int, default=1500, help="synthetic population size")
    e.add_argument("--seed", type=int, default=6, help="synthetic population seed")
    e.add_argument("--backend", choices=["duckdb", "spark"], default="duckdb")
    _thresholds(e)
    e.set_defaults(run=_evaluate)

    t = sub.add_parser("train", help="train a model on the database's identities and save it")
    t.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"where to save it (default {DEFAULT_MODEL})"
    )
    t.add_argument(
        "--synthetic",
        action="store_true",
        help="train on the synthetic population instead (how the shipped default model is made)",
    )
    t.set_defaults(run=_train)

    r = sub.add_parser(
        "run", help="link the database's identities: links above the high threshold, a review queue"
    )
    r.add_argument(
        "--model", default=DEFAULT_MODEL, help="the saved model (trained first if missing)"
    )
    r.add_argument("--backend", choices=["duckdb", "spark"], default="duckdb")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    _thresholds(r)
    r.set_defaults(run=_run)

    d = sub.add_parser(
        "due",
        help="link the identities made or changed since they were last linked (a feed's new "
        "people) against all: run it every few minutes, as the sweep runs nightly",
    )
    d.add_argument(
        "--model", default=DEFAULT_MODEL, help="the saved model (the shipped one if missing)"
    )
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    _thresholds(d)
    d.set_defaults(run=_run)


def _thresholds(p: argparse.ArgumentParser) -> None:
    p.add_argument("--link-threshold", type=float, default=None, help="link at or above (0.99)")
    p.add_argument("--review-threshold", type=float, default=None, help="review at or above (0.5)")


def thresholds_from(args):
    """The command line's thresholds, else the settings (CRADLE_LINK_THRESHOLD, CRADLE_REVIEW_THRESHOLD)."""
    from cradle.linkage.link import Thresholds
    from cradle.linkage.settings import thresholds_from_environment

    configured = thresholds_from_environment()
    return Thresholds(
        link=args.link_threshold if args.link_threshold is not None else configured.link,
        review=args.review_threshold if args.review_threshold is not None else configured.review,
    )


def _evaluate(args) -> int:
    from cradle.linkage.datasets import DATASETS, synthetic
    from cradle.linkage.evaluate import evaluate

    try:
        thresholds = thresholds_from(args)
    except ValueError as exc:
        print(f"cradle link: {exc}", file=sys.stderr)
        return 2
    names = list(DATASETS) if args.dataset == "all" else [args.dataset]
    print(
        f"thresholds: link at {thresholds.link}, review at {thresholds.review} (set without labels)"
    )
    for name in names:
        started = time.perf_counter()
        dataset = (
            synthetic(people=args.people, seed=args.seed)
            if name == "synthetic"
            else DATASETS[name]()
        )
        loaded = time.perf_counter() - started
        result = evaluate(dataset, thresholds=thresholds, backend=args.backend, progress=True)
        print(result.line() + f"  (data {loaded:.1f}s)", flush=True)
    return 0


def _django():
    from cradle.cli import _django as set_up

    set_up()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _train(args) -> int:
    if args.synthetic:
        from cradle.linkage.datasets import synthetic
        from cradle.linkage.link import fit

        data = synthetic()
        model = fit(data.frames, data.link_type)
        model.save(args.model)
        _saved(model, args.model)
        return 0
    _django()
    from cradle.links.jobs import train_model

    model = train_model(args.model)
    _saved(model, args.model)
    return 0


def _saved(model, path) -> None:
    print(f"model {model.hash} (version {model.version}) saved to {path}")
    if model.left_out:
        from cradle.linkage.model import MAX_BLOCK

        print(
            f"{model.left_out} records left out of training: each in a block of more than "
            f"{MAX_BLOCK:,} sharing a blocking key (placeholder details?)"
        )


def _run(args) -> int:
    """`cradle link run` (every identity) and `cradle link due` (those new or changed)."""
    try:
        thresholds = thresholds_from(args)
    except ValueError as exc:
        print(f"cradle link: {exc}", file=sys.stderr)
        return 2
    _django()
    from cradle.links.jobs import LinkageBusy, link_due, run_linkage

    due = args.link_action == "due"
    options = {"model_path": args.model, "thresholds": thresholds, "progress": not args.quiet}
    try:
        report = link_due(**options) if due else run_linkage(backend=args.backend, **options)
    except LinkageBusy as exc:
        if due:  # a cron's runs overlapping: the next takes what is due
            print(f"linkage: {exc}; the identities due wait for the next run")
            return 0
        print(f"cradle link: {exc}; nothing done", file=sys.stderr)
        return 1
    if report is None:
        print("linkage: no identity new or changed since it was last linked")
    else:
        print(report.summary())
    return 0
