"""A CSV import killed with SIGKILL and run again ends exactly as an uninterrupted import.

Real processes: ``cradle import`` runs in a subprocess on a SQLite file of its own; the
test waits for the import's progress marker after batch N (several N), kills it at once
(so the kill lands in the middle of the next batch's transaction), runs the same import
again, and compares every row that matters, by source keys and content, with a clean
import of the same files. These runs use SQLite files whatever the suite's database
(a process of its own cannot share the test database's transaction); the code under
test is the same on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

AS_OF = date(2026, 11, 26)
FAMILIES = 24
BATCH = 50
ROOT = Path(__file__).resolve().parents[2]


def _nhs(seed: int) -> str:
    """A valid NHS number from the never-issued 999 range (synthetic)."""
    while True:
        body = f"999{seed:06d}"
        total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            return body + str(check)
        seed += 1


def _write_files(folder: Path) -> tuple[Path, Path]:
    people = folder / "people.csv"
    contacts = folder / "contacts.csv"
    with open(people, "w", newline="", encoding="utf-8") as f:
        f.write("source_id,role,sex,nhs_number,given_name,family_name,born_on,child\n")
        for i in range(FAMILIES):
            born = AS_OF - timedelta(days=20 + i)
            f.write(f"b{i},child,female,{_nhs(i * 7)},Baby{i},Testfam{i},{born},\n")
            f.write(f"m{i},mother,female,,Mum{i},Testfam{i},1995-01-01,b{i}\n")
    kinds = ["home_visit", "clinic_contact", "gp_appointment", "phone_contact"]
    outcomes = ["attended", "no_access", "attended", "was_not_brought"]
    with open(contacts, "w", newline="", encoding="utf-8") as f:
        f.write("source_id,kind,occurred_on,outcome,channel,subjects,seen,findings,note\n")
        n = 0
        for day in range(15, 0, -1):
            for i in range(FAMILIES):
                k = (i + day) % 4
                seen = f"b{i};m{i}" if outcomes[k] == "attended" else ""
                finding = (
                    "bruise"
                    if (i == 3 and day == 5)
                    else ("persistent_crying" if day % 7 == 0 else "")
                )
                f.write(
                    f"c{n},{kinds[k]},{AS_OF - timedelta(days=day)},{outcomes[k]},"
                    f'{"home_visit" if k == 0 else "clinic"},b{i};m{i},{seen},{finding},"note, {n}"\n'
                )
                n += 1
                if n % 97 == 0:
                    f.write(
                        f"bad{n},home_visit,{AS_OF + timedelta(days=3)},attended,,b{i},,,\n"
                    )  # in the future
                if n % 131 == 0:
                    f.write("\n")  # an empty line
        # Changed records under ids already sent: new versions, the old kept.
        for n in range(0, 40, 4):
            f.write(
                f"c{n},home_visit,{AS_OF - timedelta(days=1)},attended,home_visit,b0;m0,b0,,changed\n"
            )
    return people, contacts


def _env(db: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRADLE_", "DJANGO_"))}
    env.update(
        CRADLE_SQLITE_PATH=str(db),
        CRADLE_SECRET_KEY="test-only-resume",
        CRADLE_AUDIT_ANCHOR=str(db) + ".anchor.json",
        CRADLE_FEEDS_PROGRESS_MARKERS="1",
    )
    return env


def _cradle(*args: str) -> list[str]:
    return [sys.executable, "-m", "cradle.cli", *args]


def _import(db: Path, path: Path, size: int = BATCH) -> list[str]:
    return _cradle(
        "import", str(path), "--agency", "health_visiting", "--as-of", AS_OF.isoformat(),
        "--batch", str(size), "--quiet",
    )  # fmt: skip


def _run(db: Path, path: Path, size: int = BATCH) -> str:
    done = subprocess.run(
        _import(db, path, size), env=_env(db), cwd=ROOT, capture_output=True, timeout=300
    )
    assert done.returncode in (0, 1), done.stderr.decode()[-2000:]
    return done.stdout.decode()


def _killed_at(db: Path, path: Path, batch: int, size: int = BATCH, marker: str = "") -> None:
    """Start the import, kill it with SIGKILL as soon as batch ``batch`` is committed (or
    the progress ``marker`` is printed)."""
    proc = subprocess.Popen(
        _import(db, path, size),
        env=_env(db),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    marker = (marker or f"cradle-feeds: batch {batch} committed").encode()
    killed = False
    for line in proc.stderr:
        if line.strip() == marker:
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
    proc.wait(timeout=300)
    proc.stderr.close()
    assert killed and proc.returncode == -signal.SIGKILL, "the import ended before the kill point"


def _state(db: Path) -> dict:
    """Every row that matters, by source keys and content (never by primary keys)."""
    con = sqlite3.connect(db)
    q = lambda sql: sorted(tuple(r) for r in con.execute(sql))  # noqa: E731
    person = dict(con.execute("SELECT id, source_key FROM records_person"))
    contact = dict(con.execute("SELECT id, source_key FROM records_contact"))
    links = {}
    for table in ("subjects", "seen", "delivered_to"):
        rows = con.execute(f"SELECT contact_id, person_id FROM records_contact_{table}")
        links[table] = sorted((contact[c], person[p]) for c, p in rows)
    alerts = []
    for fam, child, rule, step, scope, sev, status, raised, evidence in con.execute(
        "SELECT f.reference, a.child_id, a.rule, a.step, a.scope, a.severity, a.status, a.raised_on, a.evidence "
        "FROM records_alert a JOIN records_family f ON f.id = a.family_id"
    ):
        ev = sorted(
            contact.get(int(e[1:]), e) if e.startswith("c") else e for e in json.loads(evidence)
        )
        scope = "".join(
            person.get(int(scope[1:]), scope) if scope[:1] == "p" and scope[1:].isdigit() else scope
        )
        alerts.append((fam, person[child], rule, step, scope, sev, status, raised, tuple(ev)))
    state = {
        "people": q(
            "SELECT source_key, sex, nhs_number, given_name, family_name, born_on FROM records_person"
        ),
        "families": q("SELECT reference, origin FROM records_family"),
        "members": sorted(
            (f, person[p], role)
            for f, p, role in con.execute(
                "SELECT f.reference, m.person_id, m.role FROM records_familymember m JOIN records_family f ON f.id = m.family_id"
            )
        ),
        "identities": sorted(
            (person[p], a, g)
            for p, a, g in con.execute("SELECT person_id, agency, given_name FROM records_identity")
        ),
        "contacts": q(
            "SELECT source_key, kind, occurred_on, recorded_on, outcome, channel, note FROM records_contact"
        ),
        "findings": sorted(
            (contact[c], w)
            for c, w in con.execute("SELECT contact_id, word FROM records_contactfinding")
        ),
        "links": links,
        "sources": q(
            "SELECT agency, kind, source_id, content_hash, version FROM feeds_sourcerecord"
        ),
        "versions": q(
            "SELECT r.source_id, v.version, v.content_hash FROM feeds_sourceversion v JOIN feeds_sourcerecord r ON r.id = v.record_id"
        ),
        "quarantine": q(
            "SELECT locator, record_type, hex(content), reasons, status FROM feeds_quarantineitem"
        ),
        "messages": q("SELECT sha256, size, complete, status FROM feeds_message"),
        "alerts": sorted(alerts, key=repr),
    }
    con.close()
    return state


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume")
    people, contacts = _write_files(folder)
    template = folder / "template.sqlite3"
    _run(template, people)  # migrated, with the people: every run below starts from a copy
    clean = folder / "clean.sqlite3"
    shutil.copy(template, clean)
    _run(clean, contacts)
    return {"folder": folder, "template": template, "contacts": contacts, "clean": _state(clean)}


def test_the_clean_import_is_what_the_file_says(files):
    state = files["clean"]
    lines = files["contacts"].read_text().splitlines()
    bad = [line for line in lines if line.startswith("bad")]
    assert len(state["quarantine"]) == len(bad) > 0
    assert len(state["contacts"]) == FAMILIES * 15
    assert sum(1 for s in state["sources"] if s[4] == 2) == 10  # ten changed records: version 2
    assert len(state["versions"]) == FAMILIES * 2 + FAMILIES * 15 + 10
    assert any(a[2] == "injury-in-non-mobile-infant" for a in state["alerts"])


@pytest.mark.parametrize("batch", [1, 3, 5])
def test_killed_after_batch_n_and_run_again_ends_as_an_uninterrupted_import(files, batch):
    db = files["folder"] / f"killed-{batch}.sqlite3"
    shutil.copy(files["template"], db)
    _killed_at(db, files["contacts"], batch)
    partial = _state(db)
    assert (
        0 < len(partial["contacts"]) < len(files["clean"]["contacts"])
    )  # it really stopped part way
    said = _run(db, files["contacts"])
    assert f"resumed after row {batch * BATCH}:" in said  # and says so
    resumed = _state(db)
    for key, rows in files["clean"].items():
        assert resumed[key] == rows, f"{key} differs after the kill at batch {batch}"


def test_killed_while_evaluating_and_run_again_ends_as_an_uninterrupted_import(files):
    """Batches of ten rows, the families then evaluated ten to a transaction: killed after
    the first ten, the rest are still queued, and the second run evaluates them. The end
    state is the clean import's, made in batches of fifty: a file's families are judged on
    the whole file, so the batch size changes nothing."""
    db = files["folder"] / "killed-evaluating.sqlite3"
    shutil.copy(files["template"], db)
    _killed_at(db, files["contacts"], 0, size=10, marker="cradle-feeds: evaluated 10 families")
    partial = _state(db)
    assert partial["contacts"] == files["clean"]["contacts"]  # every row written...
    assert partial["alerts"] != files["clean"]["alerts"]  # ...but not every family evaluated
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM records_dueevaluation").fetchone()[0] == FAMILIES - 10
    con.close()
    _run(db, files["contacts"], size=10)
    resumed = _state(db)
    for key, rows in files["clean"].items():
        assert resumed[key] == rows, f"{key} differs after the kill while evaluating"


def test_running_the_same_file_again_changes_nothing(files):
    db = files["folder"] / "twice.sqlite3"
    shutil.copy(files["template"], db)
    _run(db, files["contacts"])
    _run(db, files["contacts"])
    assert _state(db) == files["clean"]
