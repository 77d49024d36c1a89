"""The HTTP API under load: contacts submitted by 50 concurrent clients, beside a bare insert.

    .venv/bin/python bench/bench_api_load.py [--clients N] [--seconds S] [--families N]
                                             [--workers N] [--threads N] [--profile N] [--smoke]

On PostgreSQL (``scripts/postgres.sh``), in a fresh database (``cradle_bench_api``, made,
migrated and dropped at the end): a system token (``cradle.feeds.tokens``) and
``--families`` families (a baby and a mother each, sent through the feeds' own writer)
are made first. A production-style server is started in a separate process on loopback:
gunicorn (``cradle.site.wsgi``, gthread: a worker a core, threads for every client, DEBUG off,
with ``bench/api_load_settings.py``, whose URLconf is Cradle's plus the bare endpoint).
Then locust, headless, from another process (``bench/locustfile_api.py``): ``--clients``
clients each submitting contacts, every one with its own source id, about the families
(``POST /api/contacts``: token checked, checked, written with the calls that arrive beside
it in one transaction, ``cradle.feeds.group``: its raw bytes kept, its record with its
version, its audit entry, its family queued; the family evaluated after the answer by the
server's background evaluator, ``cradle.records.background``). Afterwards every submission answered
200 is looked for in the database by its source key, the time the background evaluators
take to empty the queue is measured, and every family's live alerts are compared with a
fresh evaluation (none may differ). The same is measured against ``POST
/bench/bare-contact`` (``bench/api_load_urls.py``: the body parsed and one INSERT), the
baseline.

Each endpoint is run twice: paced at ``--pace`` submissions a second per client (50
clients at 6/s: the 300/s target offered; judged: the rate reached, p95 under 100 ms,
no error, every submission present), then unpaced (each client sends its next as soon as
the last is answered: what the server can take). ``--profile N`` also sends N
submissions in this process through Django's test client under cProfile and splits
their time between the token check, keeping the raw bytes, writing the record and the
audit entry, then evaluates the families they queued, as the background evaluator does;
then times a call written in a group of one and in a group of ten (``group.write``).

``--smoke``: 5 clients for 5 s, paced only, judging nothing; when PostgreSQL cannot be
started it runs on a SQLite file instead, saying so (not under ``CI=true``).
Loopback only; the server is stopped in a ``finally``.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import math
import os
import platform
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
VENV = ROOT / ".venv" / "bin"
AGENCY = "health_visiting"
API_PATH = "/api/contacts"
BARE_PATH = "/bench/bare-contact"
TARGET_RATE = 300.0  # submissions a second, with 50 clients
TARGET_P95_MS = 100.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database(smoke: bool, folder: Path) -> tuple[str | None, str | None, str]:
    """The benchmark database's URL (None: SQLite), the server's own URL and a description."""
    try:
        url = subprocess.run(
            ["bash", str(ROOT / "scripts" / "postgres.sh")],
            capture_output=True,
            text=True,
            check=True,
            timeout=180,
        ).stdout.strip()
    except (subprocess.SubprocessError, OSError) as exc:
        if smoke and os.environ.get("CI") != "true":
            print("bench_api_load: PostgreSQL is not available here: the smoke runs on SQLite")
            os.environ["CRADLE_SQLITE_PATH"] = str(folder / "bench.sqlite3")
            return None, None, "SQLite (PostgreSQL unavailable; smoke only)"
        raise SystemExit(
            "bench_api_load: PostgreSQL could not be started (scripts/postgres.sh)"
        ) from exc
    # The smoke runs in make test, maybe in two checkouts at once: a database of its own.
    name = f"cradle_bench_api_smoke_{os.getpid()}" if smoke else "cradle_bench_api"
    version = _admin(
        url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )
    bench_url = urlunparse(urlparse(url)._replace(path=f"/{name}"))
    return bench_url, url, f"PostgreSQL {version.split()[0]}"


def _admin(url: str, *statements: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)
        return conn.execute("SHOW server_version").fetchone()[0]


def _drop(url: str | None, admin_url: str | None) -> None:
    if url and admin_url:
        name = urlparse(url).path.lstrip("/")
        _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- set-up, in this process -------------------------------------------------------------------


def _setup(families: int, prefixes: list[str]) -> str:
    """Migrate, make the token, and send each run's families (a baby and a mother each)."""
    from django.core.management import call_command
    from django.utils import timezone

    from cradle.feeds import records as rec
    from cradle.feeds import tokens
    from cradle.feeds.ingest import Item, apply_batch
    from cradle.feeds.store import keep_bytes

    call_command("migrate", verbosity=0)
    _row, token = tokens.add("bench-load", AGENCY)
    today = timezone.localdate()
    for prefix in prefixes:
        items = []
        for i in range(families):
            baby = {
                "source_id": f"{prefix}b{i}",
                "role": "child",
                "sex": "female",
                "born_on": str(today - timedelta(days=200 + i % 100)),
            }
            mother = {"source_id": f"{prefix}m{i}", "role": "mother", "child": f"{prefix}b{i}"}
            for n, record in ((2 * i, baby), (2 * i + 1, mother)):
                raw = json.dumps(record).encode()
                items.append(Item(f"row {n}", rec.PERSON, raw, record, [], "bench", {}))
        message, _ = keep_bytes(
            b"\n".join(it.raw for it in items), source_system="bench-load", agency=AGENCY,
            channel="file",
        )  # fmt: skip
        result = apply_batch(items, agency=AGENCY, message=message, today=today)
        assert result.created == 2 * families and not result.quarantined, result
    return token


def _present(path: str, acked: list[str]) -> int:
    """How many of the acknowledged submissions are in the database, by source key."""
    from cradle.feeds import records as rec
    from cradle.feeds.ingest import source_key
    from cradle.feeds.models import SourceRecord
    from cradle.records.models import Contact

    found = 0
    for start in range(0, len(acked), 1000):
        chunk = acked[start : start + 1000]
        if path == BARE_PATH:
            found += Contact.objects.filter(source_key__in=[f"bare:{s}" for s in chunk]).count()
        else:
            keys = [source_key(AGENCY, s) for s in chunk]
            contacts = Contact.objects.filter(source_key__in=keys).count()
            records = SourceRecord.objects.filter(
                agency=AGENCY, kind=rec.CONTACT, source_id__in=chunk, contact__isnull=False
            ).count()
            found += min(contacts, records)
    return found


def _drained(limit: float = 180.0) -> tuple[float, int]:
    """Seconds from now until the background evaluators have emptied the queue of families
    the run's submissions left (``DueEvaluation``), and how many are left at ``limit``."""
    from cradle.records.models import DueEvaluation

    started = time.monotonic()
    while (left := DueEvaluation.objects.count()) and time.monotonic() - started < limit:
        time.sleep(0.1)
    return time.monotonic() - started, left


def _as_fresh() -> int:
    """How many families' live alerts differ from what evaluating them afresh, now, gives
    (0: the background evaluation missed no submission)."""
    from django.db import transaction
    from django.utils import timezone

    from cradle.records.evaluation import reevaluate_many
    from cradle.records.models import Alert, Family

    def live() -> dict:
        rows: dict = {}
        for family, rule, child, scope in Alert.objects.filter(status__in=Alert.LIVE).values_list(
            "family_id", "rule", "child_id", "scope"
        ):
            rows.setdefault(family, set()).add((rule, child, scope))
        return rows

    before = live()
    with transaction.atomic():
        reevaluate_many(list(Family.objects.all()), timezone.localdate())
        after = live()
        transaction.set_rollback(True)  # measured, not changed
    return sum(1 for f in set(before) | set(after) if before.get(f) != after.get(f))


# -- the server and the load, in separate processes --------------------------------------------


def _server(port: int, env: dict, workers: int, threads: int, log: Path) -> subprocess.Popen:
    cmd = [
        str(VENV / "gunicorn"),
        "cradle.site.wsgi",
        "--bind", f"127.0.0.1:{port}",
        "--pythonpath", f"{BENCH},{ROOT}",
        "--worker-class", "gthread",
        "--workers", str(workers),
        "--threads", str(threads),
        "--backlog", "256",
        "--timeout", "60",
        "--error-logfile", str(log),
        "--log-level", "warning",
        "--capture-output",  # Django's own errors (a server error's traceback) to the log
    ]  # fmt: skip
    # No access log: the alerts paths carry a child's NHS number (docs/feeds.md).
    return subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _post(url: str, body: dict, token: str) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _wait_ready(server: subprocess.Popen, base: str, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}):\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{base}/api/openapi.json", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer within {seconds:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(server: subprocess.Popen | None) -> None:
    if server is None or server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)  # gunicorn's graceful stop, its workers with it
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # its own session: only what it started
        server.wait(timeout=10)


def _locust(
    base: str, path: str, token: str, clients: int, seconds: int, pace: float,
    prefix: str, families: int, folder: Path,
) -> dict:  # fmt: skip
    tag = f"{'bare' if path == BARE_PATH else 'api'}-{'paced' if pace else 'unpaced'}"
    record_file, stem = folder / f"{tag}-record.json", folder / tag
    env = dict(
        os.environ,
        BENCH_API_PATH=path,
        BENCH_API_TOKEN=token,
        BENCH_API_FAMILIES=str(families),
        BENCH_API_PREFIX=prefix,
        BENCH_API_PACE=str(pace),
        BENCH_API_RECORD=str(record_file),
    )
    cmd = [
        str(VENV / "locust"), "-f", str(BENCH / "locustfile_api.py"), "--headless",
        "-u", str(clients), "-r", str(clients), "-t", f"{seconds}s", "--host", base,
        "--csv", str(stem), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING",
    ]  # fmt: skip
    with open(folder / f"{tag}-locust.log", "w") as out:
        done = subprocess.run(
            cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            timeout=seconds + 120,
        )  # fmt: skip
    if done.returncode not in (0, 1) or not record_file.exists():
        log = _tail(folder / f"{tag}-locust.log")
        raise SystemExit(f"locust failed ({done.returncode}):\n{log}")
    record = json.loads(record_file.read_text())
    timings = record["requests"]
    times = sorted(ms for _start, ms, _ok in timings)
    ends = [start + ms / 1000 for start, ms, _ok in timings]
    span = max(ends) - min(start for start, _ms, _ok in timings) if timings else 1.0
    failures = {}
    if Path(f"{stem}_failures.csv").exists():
        with open(f"{stem}_failures.csv", newline="") as f:
            failures = {r["Error"]: int(r["Occurrences"]) for r in csv.DictReader(f)}
    return {
        "tag": tag,
        "path": path,
        "pace": pace,
        "requests": len(timings),
        "errors": sum(1 for _start, _ms, ok in timings if not ok),
        "failures": failures,
        "rate": len(timings) / span,
        "median": _rank(times, 50),
        "p95": _rank(times, 95),
        "p99": _rank(times, 99),
        "acked": record["acked"],
    }


def _rank(values: list[float], p: float) -> float:
    """The p-th percentile by nearest rank."""
    if not values:
        return float("nan")
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


# -- the profile, in this process ---------------------------------------------------------------


PARTS = (  # (label, module file suffix, function): cumulative time of each, per submission
    ("whole view (ninja, the API's code)", "ninja/operation.py", "run"),
    ("token check (tokens.authenticate)", "feeds/tokens.py", "authenticate"),
    ("the call's group written (group._together)", "feeds/group.py", "_together"),
    ("  of which the raw bytes kept (store.keep_many)", "feeds/store.py", "keep_many"),
    ("  of which the record written (apply_batch)", "feeds/ingest.py", "apply_batch"),
    ("  of which the audit entry (audit.record_many)", "access/audit.py", "record_many"),
    ("  of which the family queued (queue_families)", "records/evaluation.py", "queue_families"),
    (
        "after the answer: the queue evaluated (evaluate_due)",
        "records/evaluation.py",
        "evaluate_due",
    ),
    ("  of which the timeline read (timelines_for)", "records/timeline.py", "timelines_for"),
    ("  of which the rules (cradle.rules.evaluate)", "rules/engine.py", "evaluate"),
    (
        "  of which the audit facts (partnership refresh_many)",
        "partnership/facts.py",
        "refresh_many",
    ),
    ("  of which notifying raised alerts", "records/notify.py", "notify_raised_many"),
)


def _profile(n: int, token: str, prefix: str, families: int) -> None:
    """The submissions, then the evaluation of the families they queued (what the
    background evaluator does after the answers: ``evaluate_due``), each per submission."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from cradle.records.evaluation import evaluate_due

    settings.CRADLE_BACKGROUND_EVALUATION = False  # evaluated below, in this thread

    client = Client(HTTP_HOST="127.0.0.1")
    today = timezone.localdate()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def body(k: int) -> str:
        i = k % families
        return json.dumps({
            "source_id": f"{prefix}p{k}", "kind": "home_visit",
            "occurred_on": str(today - timedelta(days=1 + k % 60)),
            "outcome": "no_access" if k % 2 else "attended", "channel": "home_visit",
            "subjects": [f"{prefix}b{i}", f"{prefix}m{i}"],
            "seen": [] if k % 2 else [f"{prefix}b{i}", f"{prefix}m{i}"],
        })  # fmt: skip

    for k in range(5):  # warm
        client.post(API_PATH, body(k), content_type="application/json", **auth)
    evaluate_due(today)
    started = time.perf_counter()
    for k in range(5, 5 + n):
        client.post(API_PATH, body(k), content_type="application/json", **auth)
    plain_ms = (time.perf_counter() - started) * 1000 / n
    started = time.perf_counter()
    evaluated = evaluate_due(today)
    eval_ms = (time.perf_counter() - started) * 1000 / n
    queries = []
    with connection.execute_wrapper(lambda run, sql, *rest: queries.append(sql) or run(sql, *rest)):
        response = client.post(API_PATH, body(n + 5), content_type="application/json", **auth)
    assert response.status_code == 200, response.content[:200]
    profiler = cProfile.Profile()
    profiler.enable()
    for k in range(n + 6, 2 * n + 6):
        client.post(API_PATH, body(k), content_type="application/json", **auth)
    evaluate_due(today)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    print(
        f"profile: {n} submissions in this process (Django's test client, no server): "
        f"{plain_ms:.1f} ms each unprofiled, {len(queries)} queries each; then their "
        f"{evaluated} families evaluated from the queue, {eval_ms:.1f} ms a submission; "
        "under cProfile, per submission:"
    )
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in stats.values()) * 1000 / n
    print(f"  {'all (cProfile)':52s} {total:6.1f} ms")
    for label, suffix, func in PARTS:
        cum = sum(
            ct
            for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.items()
            if name == func and file.replace("\\", "/").endswith(suffix)
        )
        print(f"  {label:52s} {cum * 1000 / n:6.1f} ms")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as out:
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    print(f"  (the top 40 functions by cumulative time: {out.name})")
    _profile_groups(n, prefix, families)


def _profile_groups(n: int, prefix: str, families: int, size: int = 10) -> None:
    """What a call costs written in a group of ``size`` (as under load, when calls arrive
    while a group is written: ``cradle.feeds.group``), beside a group of one, each the
    group's writer called directly (no request, no token check)."""
    from django.db import connection
    from django.utils import timezone

    from cradle.feeds import group
    from cradle.feeds import records as rec
    from cradle.feeds.models import SystemToken

    system = SystemToken.objects.get(name="bench-load")
    today = timezone.localdate()
    made = iter(range(10**9))

    def call() -> group.Call:
        k = next(made)
        i = k % families
        record = {
            "source_id": f"{prefix}g{k}", "kind": "home_visit",
            "occurred_on": today - timedelta(days=1 + k % 60), "outcome": "attended",
            "channel": "home_visit", "subjects": [f"{prefix}b{i}", f"{prefix}m{i}"],
            "seen": [f"{prefix}b{i}", f"{prefix}m{i}"],
        }  # fmt: skip
        body = json.dumps(record, default=str).encode()
        return group.Call(system, body, "application/json", rec.CONTACT, record)

    for k in (1, size):
        group.write([call() for _ in range(k)])  # warm
        started = time.perf_counter()
        for _ in range(max(1, n // k)):
            group.write([call() for _ in range(k)])
        ms = (time.perf_counter() - started) * 1000 / (max(1, n // k) * k)
        queries: list[str] = []

        def counted(run, sql, *rest, queries=queries):
            queries.append(sql)
            return run(sql, *rest)

        with connection.execute_wrapper(counted):
            group.write([call() for _ in range(k)])
        print(
            f"  a call in a group of {k:2d}, written: {ms:5.2f} ms "
            f"({len(queries)} statements a group)"
        )


# -- main -----------------------------------------------------------------------------------------


def _verdict(run: dict, clients: int, judge: bool) -> str:
    if not judge:
        return ""
    misses = []
    if run["pace"] and run["rate"] < TARGET_RATE * 0.97:
        misses.append(f"rate {run['rate']:.0f}/s < {TARGET_RATE:.0f}/s")
    if run["p95"] >= TARGET_P95_MS:
        misses.append(f"p95 {run['p95']:.0f} ms >= {TARGET_P95_MS:.0f} ms")
    if run["errors"]:
        misses.append(f"{run['errors']} errors")
    if run["present"] != len(run["acked"]):
        misses.append(f"{len(run['acked']) - run['present']} missing")
    return "  target MET" if not misses else "  target NOT met: " + "; ".join(misses)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--pace", type=float, default=6.0, help="submissions/s per client")
    parser.add_argument("--families", type=int, default=50)
    cores = os.cpu_count() or 2
    # One process a core, threads enough for every client: a process's calls that arrive
    # while a group is written go together (cradle.feeds.group, docs/feeds.md).
    parser.add_argument("--workers", type=int, default=cores)
    parser.add_argument("--threads", type=int, default=0, help="default: clients / workers")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--smoke", action="store_true", help="5 clients, 5 s, judging nothing")
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep gunicorn's and locust's logs, and say where"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.clients, args.seconds, args.families, args.workers = 5, 5, 5, 2
        args.pace = 2.0
    args.threads = args.threads or math.ceil(args.clients / args.workers)
    folder = Path(tempfile.mkdtemp(prefix="cradle-bench-api-"))
    admin_url = url = None
    server = None
    started = datetime.now(UTC)
    try:
        url, admin_url, engine = _database(args.smoke, folder)
        if url:
            os.environ["CRADLE_DATABASE_URL"] = url
        os.environ.update(
            CRADLE_SECRET_KEY="bench-only-not-secret",
            CRADLE_ALLOWED_HOSTS="127.0.0.1",
            CRADLE_DEBUG="false",
            CRADLE_AUDIT_ANCHOR=str(folder / "audit-anchor.json"),
            DJANGO_SETTINGS_MODULE="api_load_settings",
        )
        sys.path[:0] = [str(BENCH), str(ROOT)]
        import django

        django.setup()
        runs = [(API_PATH, args.pace), (BARE_PATH, args.pace)]
        if not args.smoke:
            runs += [(API_PATH, 0.0), (BARE_PATH, 0.0)]
        prefixes = [f"r{k}-" for k in range(len(runs))]
        if args.profile:
            prefixes.append("prof-")
        token = _setup(args.families, prefixes)
        print(
            f"bench_api_load: {args.clients} clients, {args.seconds} s a run, "
            f"{args.families} families a run; gunicorn gthread {args.workers} workers x "
            f"{args.threads} threads; {engine}"
        )
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Linux "
            f"{platform.release()}, Python {platform.python_version()}; load average "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; {started:%Y-%m-%d %H:%M} UTC"
        )
        if args.profile:
            _profile(args.profile, token, "prof-", args.families)
        from django.db import connections

        connections.close_all()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = folder / "gunicorn.log"
        server = _server(port, dict(os.environ), args.workers, args.threads, log)
        _wait_ready(server, base, log)
        for k in range(4 * args.workers):  # warm every worker's imports and connections
            for path in (API_PATH, BARE_PATH):
                warm = {"source_id": f"warm-{k}", "kind": "home_visit",
                        "occurred_on": str(started.date() - timedelta(days=1)),
                        "subjects": [f"r0-b{k % args.families}"]}  # fmt: skip
                status = _post(base + path, warm, token)
                assert status == 200, f"warm-up {path}: HTTP {status}\n{_tail(log)}"
        results = []
        for (path, pace), prefix in zip(runs, prefixes, strict=False):
            run = _locust(
                base, path, token, args.clients, args.seconds, pace, prefix, args.families,
                folder,
            )  # fmt: skip
            run["present"] = _present(path, run["acked"])
            if path == API_PATH:
                run["drain"], run["left"] = _drained()
                run["stale"] = _as_fresh()
            connections.close_all()
            results.append(run)
            what = "API   " if path == API_PATH else "bare  "
            how = f"paced {pace:g}/s a client" if pace else "unpaced"
            print(
                f"{what}{path:22s} {how:22s} {run['requests']:6d} requests  "
                f"{run['rate']:7.1f}/s  median {run['median']:5.0f} ms  p95 {run['p95']:5.0f} ms  "
                f"p99 {run['p99']:5.0f} ms  errors {run['errors']}  present "
                f"{run['present']}/{len(run['acked'])}"
                + _verdict(run, args.clients, not args.smoke and path == API_PATH and pace > 0)
            )
            for error, count in run["failures"].items():
                print(f"      {count} x {error}")
            if path == API_PATH:
                print(
                    f"      families queued by the run evaluated in the background: the queue "
                    f"empty {run['drain']:.1f} s after the run ({run['left']} left); families "
                    f"whose alerts differ from a fresh evaluation: {run['stale']}"
                )
        if any(r.get("left") or r.get("stale") for r in results):
            print("bench_api_load: families were left unevaluated or evaluated out of date")
            return 1
        missing = sum(len(r["acked"]) - r["present"] for r in results)
        if missing:
            print(f"bench_api_load: {missing} acknowledged submissions are NOT in the database")
            return 1
        if any(r["requests"] == 0 for r in results):
            print("bench_api_load: a run made no request")
            return 1
        return 0
    finally:
        _stop(server)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django not set up yet
            pass
        _drop(url, admin_url)
        if args.keep_logs:
            print(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)  # locust's files, the logs, the anchor


if __name__ == "__main__":
    sys.exit(main())
