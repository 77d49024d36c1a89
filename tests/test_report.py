"""The one-page HTML report: what the timeline picture and the tables show."""

from __future__ import annotations

import re
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest

from cradle.domain import Outcome
from cradle.scenarios import load_case, parse_case
from cradle.scenarios.replay import replay
from cradle.scenarios.report import render_html, write_html

ROOT = Path(__file__).resolve().parent.parent
CALDERDALE = ROOT / "cases" / "calderdale-2022.yaml"

SMALL = """
format: cradle-scenario/1
id: small
title: A small case <b>with markup</b>
source: Made up for a test & nothing else.
birth_date: 2024-01-10
people:
  - {id: baby, role: child, sex: female, born_day: 0}
  - {id: mum, role: mother, sex: female, born_day: -9000}
relationships:
  - {person: mum, kind: mother_of, other: baby, recorded_by: [health_visiting]}
events:
  - day: 0
    agency: maternity
    kind: birth
    subjects: [baby, mum]
    outcome: attended
    seen: [baby, mum]
    note: "Born well. <script>alert('x')</script>"
  - day: 12
    agency: health_visiting
    kind: new_birth_visit
    subjects: [baby, mum]
    outcome: attended
    channel: home_visit
    seen: [mum]
    note: Baby asleep upstairs, not seen.
harm: {day: 20, kind: neglect}
"""


@pytest.fixture(scope="module")
def calderdale():
    result = replay(load_case(CALDERDALE))
    return result, render_html(result)


def svg_of(page: str) -> str:
    match = re.search(r"<svg\b.*?</svg>", page, re.S)
    assert match, "no inline SVG"
    return match.group(0)


def test_one_lane_per_agency(calderdale):
    result, page = calderdale
    labels = re.findall(r'<text class="lane-label"[^>]*>([^<]*)</text>', svg_of(page))
    agencies = {e.agency for e in result.case.timeline.events}
    assert sorted(labels) == sorted(escape(a.label) for a in agencies)
    assert 'class="lane-label alerts"' in page and "Cradle alerts" in page


def test_failed_contacts_are_crossed_and_named(calderdale):
    result, page = calderdale
    svg = svg_of(page)
    failed = [e for e in result.case.timeline.events if e.outcome == Outcome.NO_ACCESS]
    assert len(failed) == 3 and {e.agency.value for e in failed} == {"health_visiting"}
    assert svg.count('class="mark failed"') == 3
    attended = [e for e in result.case.timeline.events if e.id not in {f.id for f in failed}]
    assert svg.count('class="mark attended"') == len(attended)
    # marked in the chronology in words, not only by colour
    assert page.count('<tr class="failed">') == 3
    assert page.count("✗ FAILED: no access") == 3


def test_alert_markers_match_raised_alerts(calderdale):
    result, page = calderdale
    svg = svg_of(page)
    markers = re.findall(r'class="alert-marker (prompt|escalate|urgent)"', svg)
    assert len(markers) == len(result.raised) == 16
    assert markers.count("urgent") == sum(c.finding.severity == "urgent" for c in result.raised)
    # the alerts table has one row per raised alert
    table = page.split("<h2>Alerts raised</h2>")[1].split("<h2>")[0]
    assert table.count('<tr class="alert ') == len(result.raised)


def test_harm_line_and_birth_marked(calderdale):
    result, page = calderdale
    svg = svg_of(page)
    harm = re.search(r'<line class="harm" data-day="(-?\d+)" x1="([\d.]+)"', svg)
    assert harm and int(harm.group(1)) == result.case.harm.day == 45
    birth = re.search(r'<line class="birth" x1="([\d.]+)"', svg)
    assert birth and float(birth.group(1)) < float(harm.group(2))  # birth before harm, left of it
    assert "harm (day 45)" in svg and "day 0 (birth)" in svg
    assert re.search(r"<title id=[^>]*>[^<]+</title>", svg) and "<desc id=" in svg


def test_header_and_marking(calderdale):
    result, page = calderdale
    assert page.count("OFFICIAL-SENSITIVE") == 2
    assert page.index("OFFICIAL-SENSITIVE") < page.index("<svg")
    assert page.rindex("OFFICIAL-SENSITIVE") > page.rindex("</table>")
    assert f"{result.lead_time} days" in page and "241 days" in page
    assert "day 45 (21 Apr 2022): non accidental injury" in page
    assert result.settings.hash in page
    assert page.count("✓ met") == len(result.check()) == 12


def test_self_contained(calderdale):
    _, page = calderdale
    lower = page.lower()
    assert "<script" not in lower and "<link" not in lower
    assert " src=" not in lower and " href=" not in lower and "@import" not in lower


def test_case_text_is_escaped():
    result = replay(parse_case(SMALL))
    page = render_html(result)
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<b>with markup</b>" not in page and "&lt;b&gt;with markup&lt;/b&gt;" in page
    assert "test &amp; nothing" in page
    # an attended home visit where the baby was not seen is a failed contact
    assert svg_of(page).count('class="mark failed"') == 1
    assert "✗ FAILED: baby not seen at a home visit" in page


def test_only_contacts_with_the_family_count_as_failed():
    # Norfolk: a police call-out at the home after the death saw the parents, not the baby;
    # it is not a failed contact (the no-access rule does not count police call-outs).
    page = render_html(replay(load_case(ROOT / "cases" / "norfolk-ab2-2019.yaml")))
    assert 'class="mark failed"' not in page and "FAILED" not in page


def test_write_html_creates_directories(tmp_path):
    out = tmp_path / "a" / "b" / "report.html"
    write_html(replay(parse_case(SMALL)), out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_cli_writes_the_report(tmp_path):
    out = tmp_path / "reports" / "calderdale.html"
    cradle = Path(sys.executable).parent / "cradle"
    run = subprocess.run(
        [str(cradle), "replay", str(CALDERDALE), "--html", str(out), "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert f"report written to {out}" in run.stdout
    page = out.read_text(encoding="utf-8")
    assert "OFFICIAL-SENSITIVE" in page and page.count('class="mark failed"') == 3
