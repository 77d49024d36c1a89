"""Alert episodes: turning each day's findings into alerts that are raised once.

Pure and reusable: replay drives it day by day, and the database layer keeps
the same semantics (rules.md, "Alert episodes"):

- an alert is identified by (rule, child, step, scope) and the day its
  condition began; while the condition holds it is one alert, and new
  evidence is added to it;
- it resolves when its condition clears; a stepped rule raises a new alert at
  each new step (the lower step resolves, "stepped up");
- an alert that was dismissed or actioned stays closed for its episode; new
  evidence then raises a new alert that cites the earlier decision;
- the same evidence never raises twice: a condition that returns with nothing
  new reopens the alert it had, rather than raising another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cradle.rules.finding import RuleFinding

OPEN = "open"
RESOLVED = "resolved"
DISMISSED = "dismissed"
ACTIONED = "actioned"


@dataclass
class Alert:
    id: int
    finding: RuleFinding
    began_day: int
    raised_day: int
    evidence: set[str] = field(default_factory=set)
    status: str = OPEN
    resolved_day: int | None = None
    resolution: str = ""
    due: date | None = None
    follows: int | None = None  # the earlier alert whose decision this one follows
    decision: str = ""

    @property
    def key(self) -> tuple:
        return self.finding.key

    @property
    def rule(self) -> str:
        return self.finding.rule

    @property
    def child(self) -> str:
        return self.finding.child

    @property
    def step(self) -> int | None:
        return self.finding.step

    @property
    def severity(self):
        return self.finding.severity


@dataclass(frozen=True, slots=True)
class Change:
    day: int
    kind: str  # raised | updated | resolved | reopened
    alert: Alert
    finding: RuleFinding  # the finding as it stood at the change
    note: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to do to the alerts so that they match today's findings.

    ``kind`` is ``resolve`` (an open alert whose condition cleared; ``note`` says
    why), ``close_episode`` (a decided alert whose condition cleared: its episode
    is over), ``update`` (new evidence for an open alert), ``raise`` (a new
    alert; ``alert`` is the decided one it follows, if any) or ``reopen``.
    """

    kind: str
    key: tuple
    alert: object | None = None
    finding: RuleFinding | None = None
    note: str = ""


def reconcile(findings, open_alerts: dict, decided: dict, past: dict) -> list[Step]:
    """The episode semantics as a pure function, for replay and for the database alike.

    ``open_alerts`` and ``decided`` map a finding key to the alert holding it
    (open, or closed by a person's decision while its condition still holds);
    ``past`` maps a key to resolved alerts, newest last. Alerts need only an
    ``evidence`` set of ids.
    """
    current: dict[tuple, RuleFinding] = {}
    for f in findings:
        current[f.key] = f
    stepped = {(k[0], k[1], k[3]): (k[2] or 0) for k in current}
    steps: list[Step] = []
    for key, alert in open_alerts.items():
        if key not in current:
            higher = stepped.get((key[0], key[1], key[3]), 0) > (key[2] or 0)
            steps.append(Step("resolve", key, alert, note="stepped up" if higher else "condition cleared"))
    for key, alert in decided.items():
        if key not in current:
            steps.append(Step("close_episode", key, alert))
    for key, f in current.items():
        evidence = set(f.evidence)
        if key in open_alerts:
            alert = open_alerts[key]
            new = evidence - alert.evidence
            steps.append(Step("update", key, alert, f, "new evidence" if new else ""))
            continue
        if key in decided:
            earlier = decided[key]
            if evidence - earlier.evidence:
                steps.append(Step("raise", key, earlier, f, "new evidence after a decision"))
            continue
        again = next((a for a in reversed(past.get(key, [])) if evidence and evidence <= a.evidence), None)
        if again is not None:
            steps.append(Step("reopen", key, again, f, "same evidence as before"))
            continue
        steps.append(Step("raise", key, None, f))
    return steps


class EpisodeTracker:
    """Alert episodes in memory (replay); the database applies the same ``reconcile``."""

    def __init__(self, origin: date | None = None):
        self.origin = origin
        self.alerts: list[Alert] = []
        self._open: dict[tuple, Alert] = {}
        self._decided: dict[tuple, Alert] = {}
        self._past: dict[tuple, list[Alert]] = {}

    @property
    def open_alerts(self) -> list[Alert]:
        return list(self._open.values())

    def advance(self, day: int, findings: list[RuleFinding]) -> list[Change]:
        """Apply the findings that hold at the end of ``day``; return what changed."""
        changes: list[Change] = []
        for step in reconcile(findings, self._open, self._decided, self._past):
            alert = step.alert
            if step.kind == "resolve":
                alert.status, alert.resolved_day, alert.resolution = RESOLVED, day, step.note
                del self._open[step.key]
                self._past.setdefault(step.key, []).append(alert)
                changes.append(Change(day, "resolved", alert, alert.finding, step.note))
            elif step.kind == "close_episode":
                del self._decided[step.key]
            elif step.kind == "update":
                alert.finding = step.finding
                new = set(step.finding.evidence) - alert.evidence
                if new:
                    alert.evidence |= new
                    changes.append(Change(day, "updated", alert, step.finding, "new evidence"))
            elif step.kind == "reopen":
                alert.status, alert.resolved_day, alert.resolution = OPEN, None, ""
                alert.finding = step.finding
                self._past[step.key].remove(alert)
                self._open[step.key] = alert
                changes.append(Change(day, "reopened", alert, step.finding, step.note))
            elif step.kind == "raise":
                new_alert = self._raise(day, step.finding, follows=alert)
                note = ""
                if alert is not None:
                    del self._decided[step.key]
                    note = f"new evidence after alert {alert.id} was {alert.status}"
                changes.append(Change(day, "raised", new_alert, step.finding, note))
        return changes

    def _raise(self, day: int, f: RuleFinding, follows: Alert | None = None) -> Alert:
        due = None
        if self.origin is not None:
            from datetime import timedelta

            due = f.due_date(self.origin + timedelta(days=day))
        alert = Alert(
            id=len(self.alerts) + 1,
            finding=f,
            began_day=day,
            raised_day=day,
            evidence=set(f.evidence),
            due=due,
            follows=follows.id if follows else None,
        )
        self.alerts.append(alert)
        self._open[f.key] = alert
        return alert

    def decide(self, alert_id: int, decision: str, day: int, reason: str = "") -> Alert:
        """Close an open alert by a person's decision (dismissed needs a reason)."""
        if decision not in (DISMISSED, ACTIONED):
            raise ValueError(f"unknown decision {decision!r}")
        if decision == DISMISSED and not reason.strip():
            raise ValueError("a dismissal needs a reason")
        alert = next((a for a in self._open.values() if a.id == alert_id), None)
        if alert is None:
            raise KeyError(f"no open alert {alert_id}")
        alert.status, alert.decision, alert.resolved_day = decision, reason, day
        del self._open[alert.key]
        self._decided[alert.key] = alert
        return alert
