"""The rule catalogue: one module per rule, each a pure function of (timeline, day, settings).

``evaluate(timeline, day, settings)`` runs them all; ``explain(finding, reveal)``
writes a finding out for a reader, showing only the facts ``reveal`` allows.
"""

from __future__ import annotations

RULE_IDS = (
    "injury-in-non-mobile-infant",
    "child-protection-flag",
    "no-access-stepped",
    "was-not-brought",
    "econsult-infant",
    "seen-without-baby",
    "repeat-unscheduled-care",
    "icon-not-delivered",
    "nnu-discharge-without-parenting-assessment",
    "medication-stopped-in-pregnancy",
    "male-carer-unknown",
    "unlinked-household-adult",
    "unshared-parent-risk",
    "cumulative-vulnerability",
    "under-one-contact-gap",
)

from cradle.rules.engine import BY_ID, RULES, evaluate  # noqa: E402
from cradle.rules.finding import Fact, RuleFinding, day_number, show_all  # noqa: E402
from cradle.rules.settings import DEFAULT_SETTINGS, Settings, SettingsError  # noqa: E402


def explain(finding: RuleFinding, reveal=show_all, day_label=day_number) -> str:
    """A plain-language sentence for the finding, written for one reader."""
    return BY_ID[finding.rule].explain(finding, reveal, day_label)


__all__ = [
    "BY_ID",
    "DEFAULT_SETTINGS",
    "RULES",
    "RULE_IDS",
    "Fact",
    "RuleFinding",
    "Settings",
    "SettingsError",
    "evaluate",
    "explain",
]
