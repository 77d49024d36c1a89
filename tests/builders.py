"""Small case files for tests, written as the format writes them.

``family(events=[...])`` gives a case with a baby (born day 0), a mother and a
father, with the usual relationships recorded by every agency that works with
them, unless a test says otherwise.
"""

from __future__ import annotations

import copy

import yaml

from cradle.rules import evaluate
from cradle.rules.settings import DEFAULT_SETTINGS
from cradle.scenarios import Case, parse_case

ALL = ["midwifery", "health_visiting", "gp", "maternity"]

PEOPLE = [
    {
        "id": "baby",
        "role": "child",
        "sex": "female",
        "born_day": 0,
        "identity": {"given": "Test", "family": "Baby", "address": "1 Test Row", "postcode": "ZZ1 1ZZ"},
    },
    {
        "id": "mum",
        "role": "mother",
        "sex": "female",
        "born_day": -10000,
        "identity": {"given": "Test", "family": "Mother", "address": "1 Test Row", "postcode": "ZZ1 1ZZ"},
        "known_to": ["gp"],
    },
    {
        "id": "dad",
        "role": "father",
        "sex": "male",
        "born_day": -11000,
        "identity": {"given": "Test", "family": "Father", "address": "1 Test Row", "postcode": "ZZ1 1ZZ"},
        "known_to": ["gp"],
    },
]
RELATIONSHIPS = [
    {"person": "mum", "kind": "mother_of", "other": "baby", "recorded_by": ALL},
    {"person": "dad", "kind": "father_of", "other": "baby", "recorded_by": ALL},
    {"person": "dad", "kind": "partner_of", "other": "mum", "recorded_by": ALL},
]


def ev(day: int, agency: str, kind: str, subjects=("baby",), **kw) -> dict:
    """One event; ``seen`` defaults to the subjects for an attended in-person contact."""
    e = {"day": day, "agency": agency, "kind": kind, "subjects": list(subjects)}
    outcome = kw.pop("outcome", "attended")
    if outcome is not None:
        e["outcome"] = outcome
    channel = kw.pop("channel", "clinic")
    if channel is not None:
        e["channel"] = channel
    if "seen" in kw:
        e["seen"] = list(kw.pop("seen"))
    elif outcome == "attended" and channel not in ("online", "phone", "video"):
        e["seen"] = list(subjects)
    for key, value in kw.items():
        e[key] = list(value) if isinstance(value, tuple) else value
    return e


def visit(day: int, outcome: str = "attended", agency: str = "health_visiting", kind: str = "home_visit", subjects=("baby", "mum"), **kw) -> dict:
    return ev(day, agency, kind, subjects, outcome=outcome, channel="home_visit", **kw)


def family(
    events=(),
    people=None,
    relationships=None,
    extra_people=(),
    extra_relationships=(),
    booking: int | None = -200,
    due_day: int | None = None,
    expect=None,
    index_child: str | None = None,
) -> Case:
    doc = {
        "format": "cradle-scenario/1",
        "id": "test-family",
        "title": "A test family",
        "source": "made up for a test",
        "birth_date": "2024-01-08",
        "people": copy.deepcopy(people if people is not None else PEOPLE) + list(extra_people),
        "relationships": copy.deepcopy(relationships if relationships is not None else RELATIONSHIPS)
        + list(extra_relationships),
        "events": [],
    }
    if due_day is not None:
        doc["due_day"] = due_day
    if index_child is not None:
        doc["index_child"] = index_child
    if booking is not None:
        doc["events"].append(ev(booking, "midwifery", "antenatal_booking", ["mum"]))
    doc["events"] += list(events)
    if expect is not None:
        doc["expect"] = expect
    return parse_case(yaml.safe_dump(doc, sort_keys=False), "test-family.yaml")


def findings(case: Case, rule: str, day: int, settings=DEFAULT_SETTINGS, child: str = "baby"):
    return [f for f in evaluate(case.timeline, day, settings) if f.rule == rule and f.child == child]


def fires(case: Case, rule: str, day: int, settings=DEFAULT_SETTINGS, child: str = "baby") -> bool:
    return bool(findings(case, rule, day, settings, child))


def step(case: Case, rule: str, day: int, settings=DEFAULT_SETTINGS, scope: str | None = None) -> int:
    """The highest step the rule holds at (0 when it does not fire)."""
    return max(
        (f.step or 1 for f in findings(case, rule, day, settings) if scope is None or f.scope == scope),
        default=0,
    )
