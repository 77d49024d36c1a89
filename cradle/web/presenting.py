"""Turning stored rows back into what the core renders: an alert's explanation
is written from its structured facts when it is shown, for the reader."""

from __future__ import annotations

from datetime import date, timedelta

from cradle.domain import Agency, Recipient, Sensitivity, Severity
from cradle.records import models as m
from cradle.rules import explain
from cradle.rules.finding import Fact, RuleFinding, show_all


def finding_of(alert: m.Alert) -> RuleFinding:
    facts = tuple(
        Fact(
            f["what"],
            f["label"],
            f.get("day"),
            f.get("event"),
            Agency(f["agency"]) if f.get("agency") else None,
            f.get("person"),
            Sensitivity(f.get("sensitivity", "general")),
        )
        for f in alert.facts
    )
    return RuleFinding(
        alert.rule,
        alert.rule_version,
        f"p{alert.child_id}",
        Severity(alert.severity),
        alert.step,
        alert.scope,
        tuple(alert.evidence),
        facts,
        alert.action,
        tuple(Recipient(r) for r in alert.for_whom),
        0,
        alert.source,
        alert.settings_hash,
        Agency(alert.agency) if alert.agency else None,
    )


def explanation(alert: m.Alert, origin: date, reveal=show_all) -> str:
    """The alert's sentence, with days written as dates."""

    def day_label(day: int) -> str:
        return (origin + timedelta(days=day)).strftime("%-d %b %Y")

    return explain(finding_of(alert), reveal, day_label)
