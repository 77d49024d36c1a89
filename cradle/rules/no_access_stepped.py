"""no-access-stepped: the stepped approach to home visits that fail.

Consecutive failures by one visiting agency climb three steps; a contact by
that agency where the baby (before birth, the mother) is seen resets its count.
Any failure while the baby has a child protection plan or an open urgent
alert goes straight to step 3; later failures join the open step-3 alert.
"""

from __future__ import annotations

from cradle.domain import Agency, Channel, Event, EventKind, Outcome, Recipient, Severity
from cradle.rules import base, injury_in_non_mobile_infant
from cradle.rules.context import View
from cradle.rules.finding import Fact, RuleFinding
from cradle.rules.words import FAILED_OUTCOMES, INJURY_FINDINGS, REMOTE_CHANNELS, VISITING_AGENCIES

ID = "no-access-stepped"
VERSION = 1
PAUSABLE = True
SOURCE = (
    "Stepped approach to ineffective home visits (health visiting procedures); "
    "unseen-child procedures; Calderdale 2022 rec. 1"
)
K = EventKind
NOT_CONTACTS = frozenset(
    {
        K.REFERRAL,
        K.ICON_DELIVERED,
        K.STRATEGY_DISCUSSION,
        K.CHILD_PROTECTION_PLAN_START,
        K.CHILD_PROTECTION_PLAN_END,
        K.SAFEGUARDING_REFERRAL,
        K.REGISTRATION,
        K.PLACED_AWAY_FROM_PARENTS,
        K.RETURNED_TO_PARENTS,
        K.MOVED_OUT_OF_AREA,
        K.STILLBIRTH,
        K.DEATH,
        K.POLICE_CALLOUT,
    }
)
STEPS = {
    1: (Severity.PROMPT, (Recipient.PRACTITIONER,), "Rearrange the visit; phone and write to the family (never a calling card alone)."),
    2: (
        Severity.ESCALATE,
        (Recipient.TEAM_LEADER,),
        "Inform the team leader; check with the GP and midwife whether they have seen the family or whether it has moved.",
    ),
    3: (
        Severity.URGENT,
        (Recipient.SAFEGUARDING_LEAD,),
        "Safeguarding lead review and multi-agency discussion; consider a referral to children's social care or a police welfare check.",
    ),
}


def failure_label(view: View, child: str, e: Event) -> str | None:
    """How a contact failed, or None if it did not."""
    if e.outcome is Outcome.ATTENDED and e.channel is not Channel.HOME_VISIT:
        return None
    if e.outcome in FAILED_OUTCOMES:
        return e.outcome.label
    if e.outcome == Outcome.ATTENDED and e.channel == Channel.HOME_VISIT:
        target = view.baby_or_mother(child, e)
        if not view.saw(e, target):
            return "baby not seen at a home visit" if target == child else "mother not seen at a home visit"
    return None


def _labelled(view: View, child: str) -> list[tuple[Event, str | None, bool]]:
    """Each visiting contact: (event, how it failed or None, whether it saw the baby)."""
    return view.memo(_label_all, child)


def _label_all(view: View, child: str) -> list[tuple[Event, str | None, bool]]:
    # failure_label and View.saw, inlined: this runs for every contact of every family.
    born = view.born_day(child)
    mother = view.mother(child) or child
    attended, home = Outcome.ATTENDED, Channel.HOME_VISIT
    out = []
    paused = bool(view.pauses(child))
    for e in view.about(child):
        outcome = e.outcome
        if outcome is None or e.agency not in VISITING_AGENCIES or e.kind in NOT_CONTACTS:
            continue
        if paused and view.in_pause(child, e.day):
            continue
        if outcome in FAILED_OUTCOMES:
            out.append((e, outcome.label, False))
        elif outcome is attended:
            target = child if born is not None and e.day >= born else mother
            seen = target in e.seen and e.channel not in REMOTE_CHANNELS
            if e.channel is home and not seen:
                label = "baby not seen at a home visit" if target == child else "mother not seen at a home visit"
                out.append((e, label, False))
            else:
                out.append((e, None, seen))
        else:
            out.append((e, None, False))
    return out


def failures(view: View, child: str) -> list[Event]:
    """Every failed visiting contact about the baby so far (for other rules)."""
    return [e for e, label, _ in _labelled(view, child) if label]


def sequences(
    view: View, child: str, fast: bool = True
) -> dict[Agency, tuple[int, list[Event], int | None, bool]]:
    """Each visiting agency's current run of failures: (step, failures, last seen day, urgent).

    ``fast`` takes the one-agency shortcut where it applies (tests compare both ways)."""
    labelled = _labelled(view, child)
    failing = {e.agency for e, label, _ in labelled if label}
    if not failing:
        return {}
    if fast and len(failing) == 1:
        return _one_agency(view, child, failing.pop(), labelled)
    # An agency that never failed changes no agency's count.
    labelled = [x for x in labelled if x[0].agency in failing]
    state: dict[Agency, list] = {}  # agency -> [count, failures, step, last_seen, urgent]
    last_reset: dict[Agency, int] = {}
    thresholds = view.settings.stepped_failures
    has_injury = bool(INJURY_FINDINGS.intersection(view.words))
    for e, label, reset in labelled:
        if label:
            s = state.setdefault(e.agency, [0, [], 0, last_reset.get(e.agency), False])
            s[0] += 1
            s[1].append(e)
            urgent = (
                view.on_plan(child, e.day)
                or any(o[2] == 3 for a, o in state.items() if a != e.agency)
                or (has_injury and injury_in_non_mobile_infant.open_on(view, child, e.day))
            )
            step = max([k for k, t in enumerate(thresholds, start=1) if s[0] >= t], default=0)
            if urgent:
                s[4] = True
            s[2] = max(s[2], 3 if s[4] else step)
        elif reset:
            state.pop(e.agency, None)
            last_reset[e.agency] = e.day
    return {a: (s[2], s[1], s[3], s[4]) for a, s in state.items()}


def _one_agency(view: View, child: str, agency: Agency, labelled) -> dict:
    """The common case, one agency with failures: only its run since its last reset
    matters (no other agency can be at step 3), so read back to that reset."""
    run: list[Event] = []
    last_seen = None
    for e, label, reset in reversed(labelled):
        if e.agency is not agency:
            continue
        if label:
            run.append(e)
        elif reset:
            last_seen = e.day
            break
    if not run:
        return {}
    run.reverse()
    thresholds = view.settings.stepped_failures
    has_injury = bool(INJURY_FINDINGS.intersection(view.words))
    urgent = False
    step = 0
    for count, e in enumerate(run, start=1):
        if view.on_plan(child, e.day) or (has_injury and injury_in_non_mobile_infant.open_on(view, child, e.day)):
            urgent = True
        reached = max([k for k, t in enumerate(thresholds, start=1) if count >= t], default=0)
        step = max(step, 3 if urgent else reached)
    return {agency: (step, run, last_seen, urgent)}


def evaluate(view: View, child: str) -> list[RuleFinding]:
    out = []
    for agency, (step, fails, last_seen, urgent) in sequences(view, child).items():
        if step == 0:
            continue
        severity, whom, action = STEPS[step]
        facts = [base.event_fact(e, failure_label(view, child, e) or "failed") for e in fails]
        since = f"day {last_seen}" if last_seen is not None else "booking"
        facts.append(Fact(what="not_seen_since", label=f"not seen by {agency.label} since {since}", agency=agency))
        if urgent:
            facts.append(Fact(what="urgent_context", label="a failure while the baby has a child protection plan or an open urgent alert"))
        out.append(
            base.make(
                view,
                _module(),
                child,
                severity=severity,
                step=step,
                scope=agency.value,
                agency=agency,
                evidence=[e.id for e in fails],
                facts=facts,
                action=action,
                for_whom=whom,
                due=view.settings.rearrange_days if step == 1 else (2 if step == 2 else 0),
            )
        )
    return out


def explain(finding: RuleFinding, reveal, day_label) -> str:
    fails = [f for f in finding.facts if f.event]
    agency = finding.agency.label if finding.agency else "the visiting service"
    n = len(fails)
    head = f"{base.ordinal(n)} consecutive failed {agency} contact" if n > 1 else f"Failed {agency} contact"
    if any(f.what == "urgent_context" for f in finding.facts):
        head += " while the baby has a child protection plan or an open urgent alert"
    since = next((f for f in finding.facts if f.what == "not_seen_since"), None)
    tail = ""
    if since is not None:
        when = since.label.rsplit(" since ", 1)[1]
        tail = f"; nobody from {agency} has seen the mother or baby since {day_label(int(when[4:])) if when.startswith('day ') else when}"
    return f"{head}: {base.render(fails, reveal, day_label)}{tail}"


def _module():
    import sys

    return sys.modules[__name__]
