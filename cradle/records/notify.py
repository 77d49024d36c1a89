"""Who an alert's task goes to, the email that tells them, and the daily escalation
of alerts nobody has acknowledged by their due date.

An alert names its recipients as words (``for_whom``: "health_visitor",
"practitioner", ...); ``recipients`` turns them into people through the teams
that hold the family. Every email is recorded as a ``Notification`` before it
is sent, in the same transaction, so none is sent twice; ``escalate`` claims
each alert with an UPDATE that only one run can win (as the sweep claims a
family), so two runs at once never escalate an alert twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from smtplib import SMTPRecipientsRefused

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

from cradle.access import audit
from cradle.access.models import Allocation, Membership, Team
from cradle.domain.calendar import add_working_days
from cradle.records import models as m

log = logging.getLogger(__name__)

RAISED = "raised"
TO_TEAM_LEADER = "escalated_team_leader"
TO_SAFEGUARDING_LEAD = "escalated_safeguarding_lead"

# Escalation: level -> (the word for who it goes to, the notification's reason, how it reads).
LEVELS = {
    1: ("team_leader", TO_TEAM_LEADER, "team leader"),
    2: ("safeguarding_lead", TO_SAFEGUARDING_LEAD, "safeguarding lead"),
}
# A team leader has this many working days after the first escalation to act
# before the alert goes on to the safeguarding leads.
SECOND_ESCALATION_WORKING_DAYS = 2

# Recipient words that are a role in the family's teams.
ROLE_WORDS = {
    "health_visitor": "health_visitor",
    "midwife": "midwife",
    "gp": "gp",
    "social_worker": "social_worker",
    "team_leader": "team_leader",
    "safeguarding_lead": "safeguarding_lead",
    "neonatal_unit": "neonatal_nurse",
}
PRACTITIONER_WORDS = {"practitioner", "recording_practitioner"}


# --- who -----------------------------------------------------------------------------------


def _duty_workers(team_ids: Iterable[int]) -> set[int]:
    team_ids = list(team_ids)
    if not team_ids:  # no team: nobody (and no query)
        return set()
    return set(
        Membership.objects.filter(
            team_id__in=team_ids, is_duty_worker=True, user__is_active=True
        ).values_list("user_id", flat=True)
    )


def _with_role(role: str, team_ids: Iterable[int]) -> set[int]:
    team_ids = list(team_ids)
    if not team_ids:
        return set()
    return set(
        Membership.objects.filter(
            team_id__in=team_ids, role=role, user__is_active=True
        ).values_list("user_id", flat=True)
    )


def _memo(held: dict, key, make):
    """What ``make()`` gives, read once for all the alerts resolved with ``held``: a
    bulk import resolves the same teams for many families."""
    if key not in held:
        found = make()
        held[key] = frozenset(found) if isinstance(found, set) else found
    return held[key]


def _users(pks: set[int]) -> list:
    if not pks:
        return []
    return list(get_user_model().objects.filter(pk__in=pks, is_active=True).order_by("pk"))


def _resolve(
    alert: m.Alert, words: Iterable[str], *, unallocated_by_role: bool, held: dict | None = None
) -> list:
    """The active users the ``words`` stand for, for this alert's family, ordered by pk.

    A word that finds nobody falls back to the duty workers of the family's teams,
    so that an alert never goes to nobody while a team holds the family.

    ``held``: the teams holding each family and each agency's teams, read once for
    several alerts (``notify_raised_many``); read here when not given.
    """
    held = {} if held is None else held
    key = ("family", alert.family_id)
    if key not in held:
        allocations = Allocation.objects.filter(family_id=alert.family_id)
        held[key] = list(allocations.select_related("team", "practitioner"))
    allocations = held[key]
    if not allocations:
        # Nobody holds the family: the duty desk of the alert's agency. (Escalations
        # go to that agency's team leaders or safeguarding leads instead.)
        key = ("agency", alert.agency)
        if key not in held:
            held[key] = (
                list(Team.objects.filter(agency=alert.agency).values_list("pk", flat=True))
                if alert.agency
                else []
            )
        teams = held[key]
        if not unallocated_by_role:
            return list(
                _memo(held, ("users-duty", frozenset(teams)), lambda: _users(_duty_workers(teams)))
            )
        team_ids, agencies = set(teams), {alert.agency} if alert.agency else set()
    else:
        team_ids = {a.team_id for a in allocations}
        agencies = {a.team.agency for a in allocations}

    found: set[int] = set()
    for word in words:
        who: set[int] = set()
        if word in PRACTITIONER_WORDS:
            for a in allocations:
                if a.team.agency != alert.agency:
                    continue
                if a.practitioner is not None and a.practitioner.is_active:
                    who.add(a.practitioner.pk)
                else:
                    who |= _memo(held, ("duty", a.team_id), lambda a=a: _duty_workers([a.team_id]))
        elif word == "safeguarding_lead":
            # Leads sit in a team of their own: any lead of an agency that holds the family.
            who = _memo(
                held,
                ("leads", frozenset(agencies)),
                lambda: _with_role(
                    "safeguarding_lead",
                    Team.objects.filter(agency__in=agencies).values_list("pk", flat=True),
                ),
            )
        elif word in ROLE_WORDS:
            who = _memo(
                held,
                ("role", word, frozenset(team_ids)),
                lambda word=word: _with_role(ROLE_WORDS[word], team_ids),
            )
        if not who:  # an unknown word, or a known one that found nobody
            who = _memo(held, ("duty", frozenset(team_ids)), lambda: _duty_workers(team_ids))
        found |= who
    return list(_memo(held, ("users", frozenset(found)), lambda: _users(found)))


def recipients(alert: m.Alert) -> list:
    """Who the alert's task goes to (active users only, ordered by pk)."""
    return _resolve(alert, alert.for_whom, unallocated_by_role=False)


# --- the email -----------------------------------------------------------------------------


def _message(alert: m.Alert, reason: str) -> tuple[str, str]:
    # No personal data, ever: no names, NHS numbers, dates of birth, addresses, notes,
    # findings, facts or the alert's explanation. Email leaves the record's access
    # control and its read audit: it sits on mail servers and phones, is forwarded,
    # shows on lock screens and can go to the wrong address. So it says only that
    # something needs attention (the rule, severity and due date) and where to look;
    # the link needs a login, behind which the access policy decides and the audit
    # records who read the family (data minimisation, UK GDPR art. 5(1)(c); Caldicott).
    why = {
        RAISED: "A new alert needs your attention.",
        TO_TEAM_LEADER: "An alert was not acknowledged by its due date and is escalated to you as team leader.",
        TO_SAFEGUARDING_LEAD: "An alert escalated to a team leader is still not acknowledged "
        "and is escalated to you as safeguarding lead.",
    }[reason]
    subject = f"Cradle: {alert.severity} alert {alert.rule}, due {alert.due_on.isoformat()}"
    body = (
        f"{why}\n\n"
        f"Rule: {alert.rule}\n"
        f"Severity: {alert.severity}\n"
        f"Due: {alert.due_on.isoformat()}\n"
        f"Open: /families/{alert.family_id}/\n\n"
        "Sign in to Cradle to see the record. This email holds no personal details by design.\n"
    )
    return subject, body


def _notify(alert: m.Alert, user, reason: str) -> bool:
    """Record and send one email, in the caller's transaction; False if already sent.

    The row is written first: if sending fails the transaction rolls it back and a
    later run tries again; if another run is sending the same email, the unique
    (alert, to, reason) makes this one wait for it and then skip.
    """
    if not user.email:
        log.warning(
            "alert %s: user %s has no email address; not notified (%s)", alert.pk, user.pk, reason
        )
        return False
    _, created = m.Notification.objects.get_or_create(alert=alert, to=user, reason=reason)
    if not created:
        return False
    subject, body = _message(alert, reason)
    send_mail(subject, body, None, [user.email], fail_silently=False)
    return True


def notify_raised(alert: m.Alert, today: date) -> list:
    """Email each recipient of a newly raised alert, once; the users emailed now."""
    return notify_raised_many([alert], today)[alert.pk]


def notify_raised_many(alerts: Iterable[m.Alert], today: date) -> dict[int, list]:
    """``notify_raised`` of each alert in turn (alert pk: the users emailed now), the
    teams holding each family (or, unallocated, its agencies' teams) read once for all
    its alerts rather than once an alert: for a family's alerts raised by one write."""
    alerts = list(alerts)
    held: dict = {}  # what _resolve reads of a family's teams, kept for its next alert
    families = sorted({a.family_id for a in alerts if a.status in m.Alert.LIVE})
    if len(families) > 1:  # several families' allocations in one query
        for pk in families:
            held[("family", pk)] = []
        for start in range(0, len(families), 500):
            for row in Allocation.objects.filter(
                family_id__in=families[start : start + 500]
            ).select_related("team", "practitioner"):
                held[("family", row.family_id)].append(row)
    out: dict[int, list] = {}
    told: list[int] = []  # every recipient told (or nobody to tell, or no longer live)
    down = False  # the mail server unreachable: the rest left owed, not each tried in turn
    for alert in alerts:
        if alert.status not in m.Alert.LIVE:
            out[alert.pk] = []
            if alert.notify_pending:
                told.append(alert.pk)  # resolved or withdrawn: nothing owed any more
            continue
        sent, failed = [], 0
        for user in _resolve(alert, alert.for_whom, unallocated_by_role=False, held=held):
            if down:
                failed += 1
                continue
            try:
                with transaction.atomic():
                    if _notify(alert, user, RAISED):
                        sent.append(user)
            except OSError as exc:  # smtplib's errors: no record kept, so a later run sends it
                failed += 1
                # One address refused: the others are still tried. Anything else (the
                # server down, a timeout): each further try would wait as long.
                down = not isinstance(exc, SMTPRecipientsRefused)
                log.error(
                    "alert %s: raised email to user %s not sent (%s); owed, sent by the next "
                    "cradle escalate",
                    alert.pk,
                    user.pk,
                    type(exc).__name__,
                )
        log.info(
            "alert %s raised on %s: %d notified, %d failed", alert.pk, today, len(sent), failed
        )
        out[alert.pk] = sent
        if not failed and alert.notify_pending:
            told.append(alert.pk)
    for start in range(0, len(told), 500):
        m.Alert.objects.filter(pk__in=told[start : start + 500]).update(notify_pending=False)
    return out


RESEND_DAYS = 7


def resend_raised(today: date) -> int:
    """Send the "raised" emails still owed (``Alert.notify_pending``: a mail server down
    when the alert was raised, or the process ended between the write's commit and its
    emails), skipping the recipients already told (``Notification``). Alerts raised while
    replaying history or loading a population were never to be told, and are not.

    Only while the alert is open and at most ``RESEND_DAYS`` old: once acknowledged someone
    has it in hand, and after a week it is escalated by its due date anyway; an alert
    still owed then is given up (and logged). Returns how many emails were sent."""
    owed = m.Alert.objects.filter(notify_pending=True)
    stale = owed.exclude(status=m.Alert.OPEN, raised_on__gte=today - timedelta(days=RESEND_DAYS))
    for pk in stale.values_list("pk", flat=True):
        log.warning("alert %s: raised email still owed, given up (no longer open or too old)", pk)
    stale.update(notify_pending=False)
    alerts = owed.filter(status=m.Alert.OPEN).order_by("family_id", "pk")
    return sum(len(users) for users in notify_raised_many(alerts, today).values())


# --- escalation ----------------------------------------------------------------------------


@dataclass
class EscalationReport:
    as_of: date
    checked: int = 0  # open alerts past their due date
    to_team_leader: int = 0
    to_safeguarding_lead: int = 0
    emails: int = 0
    nobody: int = 0  # escalated, but nobody to tell
    lost: int = 0  # claimed by another run first
    failed: int = 0  # sending failed: left as it was, for the next run
    resent: int = 0  # "raised" emails that had failed, sent now

    @property
    def escalated(self) -> int:
        return self.to_team_leader + self.to_safeguarding_lead

    def summary(self) -> str:
        line = (
            f"escalation as of {self.as_of}: {self.checked} open alerts past due; "
            f"{self.to_team_leader} escalated to team leaders, {self.to_safeguarding_lead} to safeguarding leads; "
            f"{self.emails} emails sent"
        )
        if self.nobody:
            line += f"; {self.nobody} with nobody to tell"
        if self.failed:
            line += f"; {self.failed} failed (will be retried)"
        if self.resent:
            line += f"; {self.resent} alert emails that had failed sent again"
        return line


def next_level(alert: m.Alert, today: date) -> int | None:
    """The level an open alert should be escalated to today, or None.

    Level 1 the day after its due date (an urgent alert, due the day it is raised,
    the next day); level 2 once ``SECOND_ESCALATION_WORKING_DAYS`` working days
    after the first escalation have passed with the alert still open.
    """
    if alert.status != m.Alert.OPEN or alert.due_on >= today:
        return None
    if alert.escalation_level == 0:
        return 1
    if alert.escalation_level == 1:
        first = alert.escalated_on or alert.due_on
        if add_working_days(first, SECOND_ESCALATION_WORKING_DAYS) < today:
            return 2
    return None


def claim(alert_pk: int, old_level: int, today: date) -> bool:
    """Take the alert from ``old_level`` to the next; False if another run (or an
    acknowledgement) got there first."""
    won = m.Alert.objects.filter(
        pk=alert_pk, status=m.Alert.OPEN, escalation_level=old_level
    ).update(escalation_level=old_level + 1, escalated_on=today)
    return won == 1


def _escalate_one(alert: m.Alert, level: int, today: date, report: EscalationReport) -> None:
    word, reason, title = LEVELS[level]
    with transaction.atomic():
        if not claim(alert.pk, level - 1, today):
            report.lost += 1
            return
        alert.escalation_level, alert.escalated_on = level, today
        who = _resolve(alert, [word], unallocated_by_role=True)
        note = f"level {level}, to {title}: " + (
            ", ".join(u.get_username() for u in who) or "nobody found"
        )
        m.AlertChange.objects.create(alert=alert, change="escalated", on=today, note=note)
        sent = sum(_notify(alert, user, reason) for user in who)
    report.emails += sent
    if level == 1:
        report.to_team_leader += 1
    else:
        report.to_safeguarding_lead += 1
    if not who:
        report.nobody += 1
        log.warning("alert %s escalated to level %d but nobody was found to tell", alert.pk, level)


def escalate(today: date) -> EscalationReport:
    """Escalate every open alert left unacknowledged past its due date, one level at a time."""
    report = EscalationReport(as_of=today)
    candidates = m.Alert.objects.filter(
        status=m.Alert.OPEN, due_on__lt=today, escalation_level__lt=len(LEVELS)
    )
    for alert in candidates.order_by("pk"):
        report.checked += 1
        level = next_level(alert, today)
        if level is None:
            continue
        try:
            _escalate_one(alert, level, today, report)
        except OSError:  # smtplib's errors are OSErrors: the claim is rolled back, retried next run
            report.failed += 1
            log.exception("alert %s: escalation to level %d not sent", alert.pk, level)
    try:  # after the escalations: nothing here can stop them
        report.resent = resend_raised(today)
    except Exception as exc:
        log.error("raised emails still owed not sent (%s)", type(exc).__name__)
    audit.record(
        actor="system:escalate",
        action="update",
        what=f"escalate as of {today}: {report.to_team_leader} to team leaders, "
        f"{report.to_safeguarding_lead} to safeguarding leads",
    )
    return report
