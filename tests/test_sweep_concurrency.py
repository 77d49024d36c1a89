"""Two sweeps at once, as two real processes on one SQLite file: each family is
evaluated once, and no alert is raised twice (the claim is atomic in the database)."""

import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRADLE = str(Path(sys.executable).parent / "cradle")


def _env(db: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "CRADLE_DATABASE_URL"}
    env.update(CRADLE_DEBUG="true", CRADLE_SQLITE_PATH=str(db), DJANGO_SETTINGS_MODULE="cradle.site.settings")
    return env


def _alerts(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(
            "SELECT family_id, child_id, rule, step, scope, status, raised_on FROM records_alert ORDER BY 1, 2, 3, 4, 5, 7"
        ).fetchall()


def test_two_sweeps_at_once_raise_each_alert_once(tmp_path):
    once, twice = tmp_path / "once.sqlite3", tmp_path / "twice.sqlite3"
    cases = sorted(str(p) for p in (ROOT / "cases").glob("*.yaml"))
    subprocess.run([CRADLE, "load", *cases, "--today-is-day", "30"], env=_env(once), check=True, capture_output=True)
    with sqlite3.connect(once) as con:  # the embedded default: write-ahead logging, so readers never wait
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    shutil.copy(once, twice)
    with sqlite3.connect(once) as con:  # the day the load took as day 30 (not the wall clock)
        (origin,) = con.execute("SELECT origin FROM records_family WHERE reference = 'calderdale-2022'").fetchone()
    as_of = (date.fromisoformat(origin) + timedelta(days=39)).isoformat()
    sweep = [CRADLE, "sweep", "--as-of", as_of, "--processes", "2", "--quiet"]

    subprocess.run(sweep, env=_env(once), check=True, capture_output=True)
    both = [subprocess.Popen(sweep, env=_env(twice), stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in both]
    assert all(p.returncode == 0 for p in both), outputs

    swept = sum(int(out.split()[1]) for out in outputs)  # "swept N of M families: ..."
    assert swept == len(cases)  # every family once, between the two sweeps
    assert _alerts(twice) == _alerts(once)
    assert any(row[6] == as_of for row in _alerts(once))  # the sweep did raise something that day
