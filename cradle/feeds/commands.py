"""``cradle import FILE`` and ``cradle feeds token|quarantine ...``."""

from __future__ import annotations

import sys
from datetime import date


def register(sub) -> None:
    from cradle.domain import Agency

    agencies = [a.value for a in Agency]
    p = sub.add_parser(
        "import", help="import agency files: FHIR JSON (a Bundle) or CSV (docs/feeds.md)"
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument(
        "--agency", required=True, choices=agencies, help="the agency whose records these are"
    )
    p.add_argument("--system", help="the sending system's name (default: the agency)")
    p.add_argument(
        "--as-of", type=date.fromisoformat, metavar="DATE", help="the day received (default today)"
    )
    p.add_argument("--batch", type=int, default=5000, help="rows of the file per transaction (CSV)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--no-link",
        dest="link",
        action="store_false",
        help="leave the people the files bring in to the next `cradle link due` "
        "(by default they are linked to the people Cradle holds when the files end)",
    )
    p.set_defaults(run=run_import)

    p = sub.add_parser("feeds", help="agency feeds: system tokens and the quarantine")
    feeds = p.add_subparsers(dest="feeds_command", required=True)
    t = feeds.add_parser("token", help="agency systems' API tokens")
    tokens = t.add_subparsers(dest="token_command", required=True)
    a = tokens.add_parser("add", help="make a token for a system (printed once)")
    a.add_argument("name")
    a.add_argument("--agency", required=True, choices=agencies)
    a.set_defaults(run=run_token_add)
    r = tokens.add_parser("revoke", help="revoke a system's token")
    r.add_argument("name")
    r.set_defaults(run=run_token_revoke)
    tokens.add_parser("list", help="the systems and their tokens' state").set_defaults(
        run=run_token_list
    )

    q = feeds.add_parser("quarantine", help="records that could not be taken")
    qs = q.add_subparsers(dest="quarantine_command", required=True)
    ql = qs.add_parser("list", help="what is held, with the reasons")
    ql.add_argument(
        "--all", action="store_true", help="also items accepted after correction or dismissed"
    )
    ql.set_defaults(run=run_quarantine_list)
    qw = qs.add_parser("show", help="one item's raw content and reasons")
    qw.add_argument("id", type=int)
    qw.set_defaults(run=run_quarantine_show)
    qr = qs.add_parser(
        "resubmit", help="send a corrected record for an item (a file, '-' for stdin)"
    )
    qr.add_argument("id", type=int)
    qr.add_argument("file")
    qr.add_argument("--as-of", type=date.fromisoformat, metavar="DATE")
    qr.set_defaults(run=run_quarantine_resubmit)
    qd = qs.add_parser(
        "dismiss",
        help="set items aside, saying why (no longer waiting; kept): "
        "by id, or every item of a message",
    )
    qd.add_argument("id", type=int, nargs="*")
    qd.add_argument("--message", type=int, metavar="N", help="every item held from message N")
    qd.add_argument("--reason", required=True, help="why (kept with the items)")
    qd.set_defaults(run=run_quarantine_dismiss)

    c = feeds.add_parser(
        "check",
        help="is anything stuck? families not evaluated, records held, systems silent, "
        "no sweep "
        "(exit status 1 if so: for a scheduler or monitoring)",
    )
    c.add_argument(
        "--waiting-minutes",
        type=int,
        default=10,
        metavar="N",
        help="an API submission's family not evaluated after N minutes (default 10)",
    )
    c.add_argument(
        "--held-hours",
        type=int,
        default=24,
        metavar="N",
        help="a file's families not evaluated after N hours (default 24)",
    )
    c.add_argument(
        "--quarantine-hours",
        type=int,
        default=24,
        metavar="N",
        help="a record held in quarantine for N hours (default 24)",
    )
    c.add_argument(
        "--silent-hours",
        type=int,
        default=24,
        metavar="N",
        help="an API system that has made no call for N hours (default 24)",
    )
    c.add_argument(
        "--sweep-hours",
        type=int,
        default=26,
        metavar="N",
        help="a family no sweep has evaluated for N hours (default 26: a nightly sweep)",
    )
    c.add_argument(
        "--link-minutes",
        type=int,
        default=60,
        metavar="N",
        help="an identity made or changed N minutes ago and not yet linked (default 60)",
    )
    c.set_defaults(run=run_check)


def _setup() -> None:
    from django.core.management import call_command

    from cradle.cli import _django

    _django()
    call_command("migrate", verbosity=0)


def run_import(args) -> int:
    from pathlib import Path

    _setup()
    from django.utils import timezone

    from cradle.domain.collector import settle
    from cradle.feeds.fhir import load_models
    from cradle.feeds.ingest import WRITE_CONFLICTS, transient
    from cradle.feeds.jobs import import_file, sniff
    from cradle.feeds.models import QuarantineItem

    for what, wrong in (
        ("no such file", [f for f in args.files if not Path(f).exists()]),
        ("not a file", [f for f in args.files if Path(f).exists() and not Path(f).is_file()]),
    ):
        if wrong:
            print(f"cradle import: {what}: {', '.join(wrong)}; nothing read", file=sys.stderr)
            return 2
    if args.as_of and args.as_of > timezone.localdate():
        print(
            f"cradle import: --as-of {args.as_of} is after today: a file is not received in "
            "the future (what it says happened would pass as done); nothing read",
            file=sys.stderr,
        )
        return 2
    if args.batch < 1:
        print("cradle import: --batch must be 1 or more; nothing read", file=sys.stderr)
        return 2
    from cradle.feeds import tokens

    # The system is the import's audit actor (system:<name>): never Cradle's own, nor
    # another agency's system.
    system = args.system or args.agency
    problem = tokens.system_problem(system, args.agency)
    if problem:
        print(f"cradle import: --system: {problem}; nothing read", file=sys.stderr)
        return 2
    today = args.as_of or timezone.localdate()
    if any(sniff(Path(f)) == "fhir" for f in args.files):
        load_models()
        settle()  # the models with the rest of what this process keeps to its end
    status = 0
    for path in args.files:
        try:
            job = import_file(
                path,
                agency=args.agency,
                system=system,
                today=today,
                batch=args.batch,
                progress=not args.quiet,
            )
        except WRITE_CONFLICTS as exc:
            if not transient(exc):
                raise
            # Others kept writing the same records as it was taken again and again: what
            # it wrote is committed batch by batch, its bytes kept; run again, it goes on.
            print(
                f"{Path(path).name}: not finished: other imports or calls were writing the same "
                "records at once; run it again (it goes on from where it stopped)",
                file=sys.stderr,
            )
            status = 1
            continue
        print(f"{Path(path).name}: {job.summary()}")
        if job.message.status == job.message.DONE and not job.new_message and not job.result.held:
            # Imported to the end before: not read again (nor as of another day); what it
            # left held is still waiting.
            held = QuarantineItem.objects.filter(message=job.message).exclude(
                status__in=QuarantineItem.SETTLED
            )
            waiting = held.count()
            print(
                f"  already imported (message {job.message.pk}): not read again"
                + (f"; {waiting} record(s) from it still held" if waiting else "")
            )
            if waiting:
                status = 1
                _print_held_items(held[:20], waiting)
        if job.result.quarantined:
            status = 1
            print("  held in quarantine (`cradle feeds quarantine list`):")
            _print_held(job.result)
    if args.link:
        link_arrivals(progress=not args.quiet)
    return status


def link_arrivals(
    progress: bool, by: str = "cradle import", taken: str = "the files are taken"
) -> None:
    """The people the files (or the demo) brought in, matched by name, birth and address
    to the people Cradle holds (by NHS number they were matched as they came). The files
    are taken whatever happens here: what cannot be linked now stays due for `cradle link
    due`."""
    from cradle.linkage.commands import DEFAULT_MODEL
    from cradle.linkage.settings import thresholds_from_environment
    from cradle.links.jobs import LinkageBusy, link_due

    try:
        report = link_due(
            model_path=DEFAULT_MODEL, thresholds=thresholds_from_environment(), progress=progress
        )
    except LinkageBusy:
        print("linkage: another run is under way; the people brought in wait for the next")
        return
    except Exception as exc:  # the files are in: say so, and what is left
        # The kind of failure only: a message could quote a record.
        print(
            f"{by}: {taken}, but linking the people brought in failed "
            f"({type(exc).__name__}); `cradle link due` links them",
            file=sys.stderr,
        )
        return
    if report is not None:
        print(report.summary())


def _print_held(result, shown: int = 20) -> None:
    """The first ``shown`` records held, with their reasons, and how many more."""
    _print_held_items(result.quarantined[:shown], result.held)


def _print_held_items(items, count: int) -> None:
    shown = 0
    for item in items:
        shown += 1
        reasons = "; ".join(f"{r['field']}: {r['problem']}" for r in item.reasons)
        print(f"  #{item.pk} {item.locator}: {reasons}")
    if count > shown:
        print(f"  ... and {count - shown} more")


def run_token_add(args) -> int:
    _setup()
    from django.db import IntegrityError

    from cradle.access import audit
    from cradle.feeds import tokens

    problem = tokens.system_problem(args.name, args.agency)
    if problem:
        print(f"cradle feeds: {problem}", file=sys.stderr)
        return 2
    try:
        row, plain = tokens.add(args.name, args.agency)
    except IntegrityError:
        print(
            f"cradle feeds: a system named {args.name!r} already has a live token "
            "(revoke it first: `cradle feeds token revoke`)",
            file=sys.stderr,
        )
        return 2
    audit.record(
        actor="system:feeds", action="token-add", what=f"system token {row.name} ({row.agency})"
    )
    print(
        f"token for {row.name} ({row.agency}), shown this once; give it to the system's operator:"
    )
    print(plain)
    return 0


def run_token_revoke(args) -> int:
    _setup()
    from cradle.access import audit
    from cradle.feeds import tokens

    row = tokens.revoke(args.name)
    if row is None:
        print(f"cradle feeds: no live token named {args.name!r}", file=sys.stderr)
        return 2
    audit.record(actor="system:feeds", action="token-revoke", what=f"system token {row.name}")
    print(f"revoked {row.name}")
    return 0


def run_token_list(args) -> int:
    _setup()
    from cradle.feeds.models import SystemToken

    for row in SystemToken.objects.order_by("name", "id"):
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "live"
        print(f"{row.name:<30} {row.agency:<25} created {row.created_at:%Y-%m-%d}  {state}")
    return 0


def run_quarantine_list(args) -> int:
    _setup()
    from cradle.feeds.models import QuarantineItem

    items = QuarantineItem.objects.select_related("message").order_by("id")
    if not args.all:
        items = items.exclude(status__in=QuarantineItem.SETTLED)
    count = 0
    for item in items.iterator():
        count += 1
        reasons = "; ".join(f"{r['field']}: {r['problem']}" for r in item.reasons)
        print(
            f"#{item.pk} {item.status:<11} {item.message.source_system} message {item.message_id} "
            f"{item.locator} [{item.record_type}] {reasons}"
        )
    print(f"{count} item(s)")
    return 0


def run_quarantine_show(args) -> int:
    _setup()
    from cradle.feeds.models import QuarantineItem

    item = QuarantineItem.objects.filter(pk=args.id).first()
    if item is None:
        print(f"cradle feeds: no quarantine item {args.id}", file=sys.stderr)
        return 2
    from cradle.access import audit

    audit.record(actor="system:feeds", action="read", what=f"quarantine item {item.pk}")
    print(
        f"#{item.pk} {item.status} from {item.message.source_system}, message {item.message_id}, {item.locator}"
    )
    for r in item.reasons:
        print(f"  {r['field']}: {r['problem']}")
    if item.context.get("header"):
        print("header: " + ",".join(item.context["header"]))
    sys.stdout.write(bytes(item.content).decode("utf-8", "replace"))
    print()
    return 0


def run_quarantine_resubmit(args) -> int:
    from pathlib import Path

    _setup()
    from django.utils import timezone

    from cradle.feeds.jobs import NotResubmitted, resubmit
    from cradle.feeds.models import QuarantineItem

    item = QuarantineItem.objects.filter(pk=args.id).first()
    if item is None:
        print(f"cradle feeds: no quarantine item {args.id}", file=sys.stderr)
        return 2
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"cradle feeds: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.as_of and args.as_of > timezone.localdate():
        print(
            f"cradle feeds: --as-of {args.as_of} is after today; nothing written", file=sys.stderr
        )
        return 2
    try:
        job = resubmit(
            item, data, by="system:feeds-resubmit", today=args.as_of or timezone.localdate()
        )
    except NotResubmitted as exc:
        print(f"cradle feeds: {exc}; no record written", file=sys.stderr)
        return 2
    print(job.summary())
    if job.result.quarantined:
        print("  still refused, held again:")
        _print_held(job.result)
    return 0 if not job.result.quarantined else 1


def run_quarantine_dismiss(args) -> int:
    _setup()
    from cradle.feeds.jobs import NotResubmitted, dismiss
    from cradle.feeds.models import QuarantineItem

    if not args.id and args.message is None:
        print("cradle feeds: name the items, or --message N", file=sys.stderr)
        return 2
    items = list(QuarantineItem.objects.filter(pk__in=args.id)) if args.id else []
    missing = sorted(set(args.id) - {i.pk for i in items})
    if missing:
        print(f"cradle feeds: no quarantine item {missing[0]}; nothing dismissed", file=sys.stderr)
        return 2
    if args.message is not None:
        items += list(QuarantineItem.objects.filter(message_id=args.message))
        if not any(i.message_id == args.message for i in items):
            print(f"cradle feeds: nothing held from message {args.message}", file=sys.stderr)
            return 2
    import getpass

    try:  # who ran it, as the shell knows them (the log names the person, not only the tool)
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    try:
        n = dismiss(items, note=args.reason, by=f"system:feeds-dismiss:{who}"[:100])
    except NotResubmitted as exc:
        print(f"cradle feeds: {exc}", file=sys.stderr)
        return 2
    print(f"{n} item(s) dismissed")
    return 0


def run_check(args) -> int:
    from datetime import timedelta

    _setup()
    from django.utils import timezone

    from cradle.feeds.health import checks

    found = checks(
        timezone.now(),
        waiting=timedelta(minutes=args.waiting_minutes),
        held=timedelta(hours=args.held_hours),
        quarantined=timedelta(hours=args.quarantine_hours),
        silent=timedelta(hours=args.silent_hours),
        unswept=timedelta(hours=args.sweep_hours),
        unlinked=timedelta(minutes=args.link_minutes),
    )
    for check in found:
        print(f"{'ok     ' if check.ok else 'PROBLEM'} {check.name}: {check.detail}")
    return 0 if all(c.ok for c in found) else 1
