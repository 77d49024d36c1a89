"""A command run with a setting missing or wrong says which, in one line: no traceback
(which could quote a setting's value beside the code around it)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("command", "setting", "said"),
    [
        (["link", "due"], {}, "CRADLE_SECRET_KEY is required"),
        (["feeds", "check"], {}, "CRADLE_SECRET_KEY is required"),
        (["sweep"], {"CRADLE_DEBUG": "maybe"}, "CRADLE_DEBUG: expected true or false"),
    ],
)
def test_a_setting_missing_or_wrong_is_named_without_a_traceback(tmp_path, command, setting, said):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRADLE_", "DJANGO_"))}
    env.update(CRADLE_SQLITE_PATH=str(tmp_path / "db.sqlite3"), **setting)
    done = subprocess.run(
        [sys.executable, "-m", "cradle.cli", *command],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("cradle: ")
    assert said in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "db.sqlite3").exists()  # nothing was set up
