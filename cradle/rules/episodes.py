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


class EpisodeTracker:
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
        current: dict[tuple, RuleFinding] = {}
        for f in findings:
            current[f.key] = f
        stepped = {(k[0], k[1], k[3]): (k[2] or 0) for k in current}
        changes: list[Change] = []
        for key, alert in list(self._open.items()):
            if key not in current:
                higher = stepped.get((key[0], key[1], key[3]), 0) > (key[2] or 0)
                alert.status = RESOLVED
                alert.resolved_day = day
                alert.resolution = "stepped up" if higher else "condition cleared"
                del self._open[key]
                self._past.setdefault(key, []).append(alert)
                changes.append(Change(day, "resolved", alert, alert.finding, alert.resolution))
        for key in list(self._decided):
            if key not in current:
                del self._decided[key]  # the decided episode is over
        for key, f in current.items():
            evidence = set(f.evidence)
            if key in self._open:
                alert = self._open[key]
                new = evidence - alert.evidence
                alert.finding = f
                if new:
                    alert.evidence |= new
                    changes.append(Change(day, "updated", alert, f, "new evidence"))
                continue
            if key in self._decided:
                earlier = self._decided[key]
                if evidence - earlier.evidence:
                    alert = self._raise(day, f, follows=earlier)
                    del self._decided[key]
                    changes.append(Change(day, "raised", alert, f, f"new evidence after alert {earlier.id} was {earlier.status}"))
                continue
            again = next(
                (a for a in reversed(self._past.get(key, [])) if evidence and evidence <= a.evidence),
                None,
            )
            if again is not None:
                again.status, again.resolved_day, again.resolution = OPEN, None, ""
                again.finding = f
                self._past[key].remove(again)
                self._open[key] = again
                changes.append(Change(day, "reopened", again, f, "same evidence as before"))
                continue
            alert = self._raise(day, f)
            changes.append(Change(day, "raised", alert, f))
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
