"""Every case file in the repository replays and meets its expectations, through the CLI too."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cradle.cli import main
from cradle.scenarios import load_case, parse_case
from cradle.scenarios.replay import replay

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = sorted((ROOT / "cases").glob("*.yaml"))
SHARED = ROOT.parent / "shared" / "scenarios" / "calderdale-2022.yaml"


def test_there_are_enough_case_files():
    assert len(CASE_FILES) >= 6  # Calderdale, four published reviews, a well family


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_file_meets_its_expectations(path):
    case = load_case(path)
    assert case.expectations, "every case file states what should happen"
    missed = [r.detail for r in replay(case).check() if not r.passed]
    assert missed == []


def test_the_repo_copy_of_calderdale_is_the_shared_one():
    if SHARED.exists():
        assert SHARED.read_text() == (ROOT / "cases" / "calderdale-2022.yaml").read_text()


def test_calderdale_lead_time_and_first_warning():
    result = replay(load_case(ROOT / "cases" / "calderdale-2022.yaml"))
    first = result.first_warning()
    assert first is not None and first.day < 45
    assert result.lead_time == 45 - first.day


def test_well_family_raises_nothing_all_year():
    result = replay(load_case(ROOT / "cases" / "well-family.yaml"))
    assert result.raised == []
    assert result.last_day >= 364


def test_check_exits_non_zero_listing_each_missed_expectation(tmp_path, capsys):
    doc = yaml.safe_load((ROOT / "cases" / "calderdale-2022.yaml").read_text())
    doc["expect"].append({"rule": "child-protection-flag", "by_day": 45})
    doc["expect"].append({"rule": "injury-in-non-mobile-infant", "by_day": 40})
    bad = tmp_path / "bad-expectations.yaml"
    bad.write_text(yaml.safe_dump(doc))
    assert main(["replay", str(bad), "--check", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "MISS expect[12]: child-protection-flag fires for baby by day 45: it never fired" in out
    assert "MISS expect[13]: injury-in-non-mobile-infant fires for baby by day 40: it fired only on day 45" in out
    assert "12 of 14 expectations met" in out


def test_replay_prints_the_table_and_lead_time(capsys):
    assert main(["replay", str(ROOT / "cases" / "calderdale-2022.yaml")]) == 0
    out = capsys.readouterr().out
    assert "raised    no-access-stepped" in out
    assert "3rd consecutive failed health visiting contact: no access on day -42, -21, 23" in out
    assert "lead time" in out


def test_replay_json(tmp_path):
    out = tmp_path / "result.json"
    assert main(["replay", str(ROOT / "cases" / "calderdale-2022.yaml"), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["marking"] == "OFFICIAL-SENSITIVE"
    assert data["case"]["id"] == "calderdale-2022"
    assert all(x["passed"] for x in data["expectations"])
    raised = [c for c in data["changes"] if c["change"] == "raised"]
    assert {c["rule"] for c in raised} >= {"no-access-stepped", "injury-in-non-mobile-infant"}
    assert all(c["due_date"] and c["settings_hash"] == data["settings_hash"] for c in raised)


def test_a_bad_case_file_is_refused_with_its_reason(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: cradle-scenario/1\nid: x\n")
    assert main(["replay", str(bad)]) == 2
    assert "bad.yaml: the file: missing required key 'title'" in capsys.readouterr().err


def test_settings_file_changes_the_replay(tmp_path, capsys):
    settings = tmp_path / "s.toml"
    settings.write_text("contact_gap_days = 30\n")
    assert main(["replay", str(ROOT / "cases" / "calderdale-2022.yaml"), "--check", "--quiet", "--settings", str(settings)]) == 1
    assert "MISS expect[9]: under-one-contact-gap" in capsys.readouterr().out


def test_the_cradle_command_is_installed():
    exe = Path(sys.executable).parent / "cradle"
    proc = subprocess.run([str(exe), "replay", str(ROOT / "cases" / "well-family.yaml"), "--check", "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "15 of 15 expectations met" in proc.stdout


def test_the_engine_handles_a_case_it_has_never_seen():
    doc = {
        "format": "cradle-scenario/1",
        "id": "unseen",
        "title": "t",
        "source": "s",
        "birth_date": "2020-02-29",
        "people": [{"id": "b", "role": "child", "sex": "unknown"}, {"id": "m", "role": "mother", "sex": "female"}],
        "events": [{"day": 3, "agency": "health_visiting", "kind": "new_birth_visit", "subjects": ["b"], "outcome": "access_refused"}],
        "expect": [{"rule": "no-access-stepped", "by_day": 3}],
    }
    case = parse_case(yaml.safe_dump(doc))
    assert all(r.passed for r in replay(case).check())
