"""`make demo`'s command, set up without serving: the case files, a small synthetic
population, the logins printed, and its people linked across agencies as a feed's are
(so that `cradle feeds check` finds nobody waiting to be linked)."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_sets_up_prints_its_logins_and_links_its_people(tmp_path):
    db = tmp_path / "demo.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRADLE_", "DJANGO_"))}
    env.update(
        CRADLE_SQLITE_PATH=str(db),
        CRADLE_DEBUG="true",
        CRADLE_AUDIT_ANCHOR=str(tmp_path / "anchor.json"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "cradle.cli", "demo", "--no-serve", "--population", "3"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    logins = [line.split() for line in done.stdout.splitlines() if "password:" in line]
    assert {"hv", "lead", "reviewer"} <= {words[0] for words in logins}
    assert "linkage run 1:" in done.stdout
    with sqlite3.connect(db) as connection:
        identities, due = connection.execute(
            "SELECT count(*), coalesce(sum(linkage_due > 0), 0) FROM records_identity"
        ).fetchone()
    assert identities > 0 and due == 0
