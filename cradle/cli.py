"""The ``cradle`` command."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from cradle.rules.settings import DEFAULT_SETTINGS, Settings, SettingsError
from cradle.scenarios import CaseFileError, load_case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cradle", description="Cradle: safeguarding prompts for babies under one."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("replay", help="replay a case file day by day against the rules")
    p.add_argument("case", nargs="+", help="case file(s) (cradle-scenario/1)")
    p.add_argument(
        "--check",
        action="store_true",
        help="test the file's expectations; exit 1 listing each one missed",
    )
    p.add_argument(
        "--json", metavar="OUT", help="write the result as JSON to OUT ('-' for standard output)"
    )
    p.add_argument("--html", metavar="OUT", help="write a one-page report with a timeline picture")
    p.add_argument("--settings", metavar="TOML", help="thresholds to use instead of the defaults")
    p.add_argument("--quiet", action="store_true", help="print only the summary and the check")

    p = sub.add_parser("load", help="load case files into the database (idempotent)")
    p.add_argument("case", nargs="+", help="case file(s) (cradle-scenario/1)")
    p.add_argument(
        "--today-is-day",
        type=int,
        metavar="N",
        help="shift the case's dates so that today is its day N, and load only what was recorded by then",
    )

    p = sub.add_parser(
        "sweep",
        help="re-evaluate every family as of a day (rules that depend on time), in the database or in a population file",
    )
    p.add_argument(
        "population",
        nargs="?",
        help="a population file from `cradle synth` (default: the families in the database)",
    )
    p.add_argument(
        "--as-of",
        metavar="DATE",
        type=date.fromisoformat,
        help="the day (YYYY-MM-DD); default today",
    )
    p.add_argument(
        "--processes", type=int, default=None, help="worker processes (default: one per core)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--out", metavar="ALERTS.parquet", help="population sweeps: write the alerts to this file"
    )
    p.add_argument(
        "--year",
        action="store_true",
        help="population sweeps: simulate each family's year, booking to first birthday",
    )
    p.add_argument(
        "--settings",
        metavar="TOML",
        help="population sweeps: thresholds to use instead of the defaults",
    )

    p = sub.add_parser(
        "escalate", help="escalate open alerts left unacknowledged past their due date"
    )
    p.add_argument(
        "--as-of",
        metavar="DATE",
        type=date.fromisoformat,
        help="the day (YYYY-MM-DD); default today",
    )

    p = sub.add_parser("demo", help="load the case files, make demo logins, and start the web app")
    p.add_argument("--no-serve", action="store_true", help="set up only; do not start the server")
    p.add_argument(
        "--population",
        type=int,
        default=200,
        metavar="N",
        help="also load N synthetic families (cradle synth) held by the health visiting team (default 200; 0 for none)",
    )
    p.add_argument("--port", type=int, default=8000)

    p = sub.add_parser("audit", help="the audit log")
    p.add_argument("action", choices=["verify"], help="verify: check the hash chain and the anchor")

    p = sub.add_parser("manage", help="run a Django management command (migrate, runserver, ...)")
    p.add_argument("args", nargs=argparse.REMAINDER)

    for module in _command_modules():
        module.register(sub)

    args = parser.parse_args(argv)
    if getattr(args, "run", None) is not None:
        return args.run(args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "load":
        return _load(args)
    if args.command == "audit":
        _django()
        from cradle.access.audit import anchor_path, verify

        result = verify()
        for note in result.notes:
            print(f"note: {note}")
        for problem in result.problems:
            print(f"PROBLEM: {problem}")
        state = "intact" if result.ok else "NOT intact"
        print(f"audit log {state}: {result.entries} entries checked against {anchor_path()}")
        return 0 if result.ok else 1
    if args.command == "demo":
        return _demo(args)
    if args.command == "sweep" and args.population:
        from cradle.synth.sweep import run as sweep_population

        return sweep_population(args)
    if args.command == "sweep":
        _django()
        from django.core.management import call_command
        from django.utils import timezone

        from cradle.records.sweep import sweep

        call_command("migrate", verbosity=0)
        report = sweep(args.as_of or timezone.localdate(), args.processes, progress=not args.quiet)
        print(
            f"swept {report.evaluated} of {report.families} families: "
            f"{report.raised} alerts raised, {report.resolved} resolved"
        )
        return 0
    if args.command == "escalate":
        _django()
        from django.core.management import call_command
        from django.utils import timezone

        from cradle.records.notify import escalate

        call_command("migrate", verbosity=0)
        print(escalate(args.as_of or timezone.localdate()).summary())
        return 0
    if args.command == "manage":
        _django()
        from django.core.management import execute_from_command_line

        execute_from_command_line(["cradle manage", *args.args])
        return 0
    return 2


def _command_modules():
    """Each ``cradle.<package>.commands`` module adds its subcommands with ``register(subparsers)``.

    A subcommand sets ``run`` (a function of the parsed arguments returning the exit status) with
    ``set_defaults``; the module imports its heavy dependencies inside ``run``, so that ``cradle
    --help`` stays quick.
    """
    import importlib
    import importlib.util
    import pkgutil

    import cradle

    for info in sorted(pkgutil.iter_modules(cradle.__path__), key=lambda m: m.name):
        if info.ispkg and importlib.util.find_spec(f"cradle.{info.name}.commands") is not None:
            yield importlib.import_module(f"cradle.{info.name}.commands")


def _django() -> None:
    import os

    import django

    from cradle.site.env import ConfigError

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cradle.site.settings")
    try:
        django.setup()
    except ConfigError as exc:  # a setting missing or wrong: say which, not a traceback
        raise SystemExit(f"cradle: {exc}") from None
    import atexit

    from django.db import connections

    from cradle.domain.collector import settle

    atexit.register(connections.close_all)  # frozen by settle(), never finalised else
    settle()


def _demo(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("CRADLE_DEBUG", "true")  # the demo: synthetic data, development server
    _django()
    from django.core.management import call_command
    from django.utils import timezone

    from cradle.web.demo import setup_demo

    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    logins = setup_demo(today)
    if args.population:
        from cradle.web.demo import load_demo_population

        loaded = load_demo_population(today, args.population)
        print(
            f"{loaded} synthetic families (cradle synth, seed 1) loaded as recorded by today, held by the health visiting team."
        )
    # Their people matched across agencies as a feed's are (`cradle link due`), so that the
    # demo's review queue and `cradle feeds check` are as they would be in use.
    from cradle.feeds.commands import link_arrivals

    link_arrivals(progress=True, by="cradle demo", taken="the demo is loaded")
    print(
        "\nCradle demo: the repository's case files, each as of its day 40. Demo logins (this run only):"
    )
    for login in logins:
        print(
            f"  {login.username:<10} {login.role:<22} password: {login.password:<14} authenticator secret: {login.secret}"
        )
    print(
        "\nSign-in asks for a code as well: add a secret to an authenticator app, or run"
        "\n  .venv/bin/cradle demo-code USERNAME\nfor the current code (demo logins only)."
    )
    if args.no_serve:
        return 0
    print(f"\nOpen http://127.0.0.1:{args.port}/ and sign in. Ctrl-C stops the server.\n")
    call_command("runserver", f"127.0.0.1:{args.port}", use_reloader=False)
    return 0


def _load(args: argparse.Namespace) -> int:
    _django()
    from django.core.management import call_command
    from django.utils import timezone

    from cradle.records.loading import load_case as load_into_db

    # Every file is checked before anything is written: a bad file changes nothing.
    cases = []
    for path in args.case:
        try:
            cases.append(load_case(path))
        except CaseFileError as exc:
            print(f"cradle: {exc}", file=sys.stderr)
            return 2
    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    for case in cases:
        report = load_into_db(case, today, args.today_is_day)
        state = (
            "loaded" if report.created else ("updated" if report.contacts_added else "unchanged")
        )
        print(
            f"{case.id}: {state} ({report.contacts_added} contacts added; {report.alerts_open} open alerts)"
        )
    return 0


def _replay(args: argparse.Namespace) -> int:
    from cradle.scenarios.replay import replay

    try:
        settings = Settings.from_toml(args.settings) if args.settings else DEFAULT_SETTINGS
    except SettingsError as exc:
        print(f"cradle: {exc}", file=sys.stderr)
        return 2
    if len(args.case) > 1 and (args.json not in (None, "-") or args.html):
        print("cradle: --json OUT and --html OUT take one case file at a time", file=sys.stderr)
        return 2
    status = 0
    documents = []
    for path in args.case:
        try:
            case = load_case(path)
        except CaseFileError as exc:
            print(f"cradle: {exc}", file=sys.stderr)
            status = 2
            continue
        result = replay(case, settings)
        to_stdout = args.json == "-"
        out = sys.stderr if to_stdout else sys.stdout
        if not args.quiet:
            _print_table(result, out)
        _print_summary(result, out)
        if args.check:
            missed = _print_check(result, out)
            if missed:
                status = max(status, 1)
        if args.json:
            documents.append(_as_json(result))
        if args.html:
            from cradle.scenarios.report import write_html

            write_html(result, Path(args.html))
            print(f"report written to {args.html}", file=out)
    if args.json:
        text = json.dumps(documents[0] if len(documents) == 1 else documents, indent=2, default=str)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    return status


def _print_table(result, out) -> None:
    case = result.case
    print(f"{case.title}\n{case.source}\n", file=out)
    header = f"{'day':>5}  {'date':10}  {'change':8}  {'rule':42}  {'step':4}  {'severity':8}  explanation"
    print(header, file=out)
    print("-" * len(header), file=out)
    for c in result.changes:
        if c.kind not in ("raised", "resolved", "reopened"):
            continue
        when = case.timeline.date_of(c.day).isoformat()
        step = str(c.finding.step) if c.finding.step else ""
        child = f"[{c.alert.child}] " if c.alert.child != case.index_child else ""
        text = c.finding.explain() if c.kind != "resolved" else c.note
        print(
            f"{c.day:>5}  {when}  {c.kind:8}  {c.alert.rule:42}  {step:4}  {c.finding.severity.value:8}  {child}{text}",
            file=out,
        )
    print(file=out)


def _print_summary(result, out) -> None:
    case = result.case
    raised = len(result.raised)
    print(
        f"{case.id}: {raised} alert(s) raised over days {result.first_day} to {result.last_day}",
        file=out,
    )
    if case.harm:
        first = result.first_warning()
        if first is None:
            print(
                f"harm ({case.harm.kind.value}) on day {case.harm.day}: no escalate or urgent alert before it",
                file=out,
            )
        else:
            print(
                f"harm ({case.harm.kind.value}) on day {case.harm.day}: first escalate/urgent alert on day {first.day} "
                f"({first.alert.rule}), lead time {result.lead_time} days",
                file=out,
            )


def _print_check(result, out) -> int:
    results = result.check()
    missed = [r for r in results if not r.passed]
    for r in results:
        mark = "ok  " if r.passed else "MISS"
        print(f"  {mark} {r.expectation.entry}: {r.detail}", file=out)
    print(
        f"{result.case.id}: {len(results) - len(missed)} of {len(results)} expectations met",
        file=out,
    )
    return len(missed)


def _as_json(result) -> dict:
    case = result.case
    tl = case.timeline

    def finding(c):
        f = c.finding
        return {
            "day": c.day,
            "date": tl.date_of(c.day).isoformat(),
            "change": c.kind,
            "note": c.note,
            "alert": c.alert.id,
            "rule": f.rule,
            "rule_version": f.version,
            "child": f.child,
            "step": f.step,
            "scope": f.scope,
            "severity": f.severity.value,
            "explanation": f.explain(),
            "evidence": list(f.evidence),
            "action": f.action,
            "for_whom": [r.value for r in f.for_whom],
            "due_working_days": f.due_working_days,
            "due_date": c.alert.due.isoformat() if c.alert.due and c.kind == "raised" else None,
            "source": f.source,
            "settings_hash": f.settings_hash,
        }

    return {
        "marking": "OFFICIAL-SENSITIVE",
        "case": {
            "id": case.id,
            "title": case.title,
            "source": case.source,
            "path": str(case.path or ""),
        },
        "settings": result.settings.as_dict(),
        "settings_hash": result.settings.hash,
        "first_day": result.first_day,
        "last_day": result.last_day,
        "changes": [finding(c) for c in result.changes],
        "harm": {"day": case.harm.day, "kind": case.harm.kind.value} if case.harm else None,
        "lead_time_days": result.lead_time,
        "expectations": [
            {
                "entry": r.expectation.entry,
                "expectation": r.expectation.describe(),
                "passed": r.passed,
                "detail": r.detail,
            }
            for r in result.check()
        ],
    }


if __name__ == "__main__":
    sys.exit(main())
