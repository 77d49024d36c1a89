"""Is anything stuck? The checks behind ``cradle feeds check``, for a scheduler or a
monitoring system to run every few minutes (exit status 1 when a check fails).

A feed's records reach the rules only if the families they touch are evaluated, if what
was refused is dealt with, and if the systems keep sending: each is a way a baby is
missed with nothing in Cradle to show it (HAZ-S01). The checks say so in counts, ages
and system names, never anything about a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min, Q


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _age(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} days ago"


def checks(
    now: datetime,
    *,
    waiting: timedelta = timedelta(minutes=10),
    held: timedelta = timedelta(hours=24),
    quarantined: timedelta = timedelta(hours=24),
    silent: timedelta = timedelta(hours=24),
    unswept: timedelta = timedelta(hours=26),
    unlinked: timedelta = timedelta(hours=1),
) -> list[Check]:
    """Eight checks as of ``now``:

    - families queued for evaluation by the API (nobody's to hold) for over ``waiting``:
      the background evaluators are not emptying the queue;
    - families held for a file import for over ``held``: an import killed and not run
      again (the nightly sweep takes them, a day late);
    - open alerts whose first email is still owed from before today (a mail server down:
      nobody was told of them);
    - records held in quarantine for over ``quarantined``, not yet corrected;
    - each API system with a live token that has called nothing for over ``silent``;
    - each live token whose system's name is now refused (``tokens.system_problem``: one
      of Cradle's own actors, another agency's name, a ':'), given before the rule: its
      calls' audit entries could be read as another's;
    - families no sweep has evaluated for over ``unswept`` (a family newer than that is
      the next sweep's): the nightly sweep has stopped, and the rules that depend on the
      passage of time are silent (HAZ-S12);
    - identities made or changed over ``unlinked`` ago and not yet linked: `cradle link
      due` is not being run, and a father a feed sent with no NHS number stays apart
      from his family (HAZ-S02)."""
    from django.utils import timezone

    from cradle.access.models import AuditEntry
    from cradle.feeds import tokens
    from cradle.feeds.models import QuarantineItem, SystemToken
    from cradle.records.models import Alert, DueEvaluation, Family, Identity

    out = []
    for name, holder, limit, why in (
        (
            "evaluation",
            Q(held_for__isnull=True),
            waiting,
            "families an API submission queued, not evaluated",
        ),
        (
            "file evaluation",
            Q(held_for__isnull=False),
            held,
            "families a file import queued, not evaluated (run the file again, or `cradle sweep`)",
        ),
    ):
        due = DueEvaluation.objects.filter(holder).aggregate(n=Count("family"), since=Min("since"))
        late = DueEvaluation.objects.filter(holder, since__lt=now - limit).count()
        out.append(
            Check(
                name,
                late == 0,
                f"{due['n']} waiting (oldest {_age(now, due['since'])}); {late} over {_limit(limit)}: {why}"
                if due["n"]
                else "none waiting",
            )
        )
    owed = Alert.objects.filter(notify_pending=True, status=Alert.OPEN)
    count, late = owed.count(), owed.filter(raised_on__lt=timezone.localdate(now)).count()
    out.append(
        Check(
            "emails",
            late == 0,
            f"{count} alerts' first emails owed, {late} raised before today: is the mail "
            "server reachable? (`cradle escalate` sends what is owed)"
            if count
            else "no alert email owed",
        )
    )
    items = QuarantineItem.objects.waiting()
    count = items.aggregate(n=Count("id"), oldest=Min("since"))
    late = items.filter(since__lt=now - quarantined).count()
    out.append(
        Check(
            "quarantine",
            late == 0,
            f"{count['n']} held (oldest {_age(now, count['oldest'])}); {late} over "
            f"{_limit(quarantined)}: correct and resubmit them (/feeds/quarantine/)"
            if count["n"]
            else "nothing held",
        )
    )
    live = list(
        SystemToken.objects.filter(revoked_at__isnull=True).values_list("name", "created_at")
    )
    # Every call a system makes is audited (actor system:<name>), a read as well as a
    # submission: its last entry is its last call.
    last = {
        name: AuditEntry.objects.filter(actor=f"system:{name}").aggregate(at=Max("at"))["at"]
        for name, _made in live
    }
    quiet = sorted(
        name for name, made in live if (last.get(name) or made) < now - silent
    )  # a new token has its first ``silent`` to start sending
    out.append(
        Check(
            "systems",
            not quiet,
            f"{len(quiet)} of {_n(len(live), 'system')} made no call for over {_limit(silent)}: "
            + ", ".join(f"{n} (last {_age(now, last.get(n))})" for n in quiet)
            if quiet
            else f"{_n(len(live), 'system')}, each made a call within {_limit(silent)}",
        )
    )
    given = list(SystemToken.objects.values_list("name", "agency", "revoked_at"))  # one read
    agencies: dict[str, set[str]] = {}  # every name given, and whose
    for name, agency, _revoked in given:
        agencies.setdefault(name, set()).add(agency)
    misnamed = sorted(
        f"{name!r} ({problem})"
        for name, agency, revoked in given
        if revoked is None and (problem := tokens.system_problem(name, agency, agencies[name]))
    )
    out.append(
        Check(
            "system names",
            not misnamed,
            f"{_n(len(misnamed), 'live token')} under a name now refused: revoke each and "
            "give its system a token under another name: " + "; ".join(misnamed)
            if misnamed
            else "every live token's name is its own system's",
        )
    )
    before = now - unswept
    families = Family.objects.filter(created_at__lt=before)
    stale = families.filter(Q(swept_at__isnull=True) | Q(swept_at__lt=before)).count()
    swept = AuditEntry.objects.filter(actor="system:sweep", action="evaluate").aggregate(
        at=Max("at")
    )["at"]
    out.append(
        Check(
            "sweep",
            stale == 0,
            f"last sweep {_age(now, swept)}; {stale} of {families.count()} families not "
            f"swept within {_limit(unswept)}: is `cradle sweep` scheduled nightly?"
            if stale
            else f"last sweep {_age(now, swept)}; every family swept within {_limit(unswept)}",
        )
    )
    due = Identity.objects.filter(linkage_due__gt=0)
    count = due.aggregate(n=Count("id"), since=Min("linkage_due_since"))
    late = due.filter(linkage_due_since__lt=now - unlinked).count()
    out.append(
        Check(
            "linkage",
            late == 0,
            f"{count['n']} identities not yet linked (oldest {_age(now, count['since'])}); {late} "
            f"over {_limit(unlinked)}: is `cradle link due` scheduled every few minutes?"
            if count["n"]
            else "every identity linked as it stands",
        )
    )
    return out


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _limit(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} days" if minutes != 24 * 60 else "a day"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"
