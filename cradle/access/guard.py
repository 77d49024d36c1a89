"""Who may open which page, declared on the view itself, so that it can be checked.

Every view in the URL configuration carries a ``Rule`` (``@page(...)``); the permission
matrix test walks the URL configuration and fails on a view without one. The rule says
which roles may open the page at all (everyone else gets "not found", never
"forbidden") and whether it is about one family, in which case the permission policy
(``cradle.access.policy.family_for``) decides, also with "not found".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import NamedTuple

from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from cradle.access.models import Membership, Role

# The practitioners: they see the families they have a legitimate relationship with.
PRACTITIONERS = frozenset(
    {
        Role.HEALTH_VISITOR,
        Role.MIDWIFE,
        Role.NEONATAL_NURSE,
        Role.GP,
        Role.EMERGENCY_CLINICIAN,
        Role.PERINATAL_MENTAL_HEALTH,
        Role.ADULT_MENTAL_HEALTH,
        Role.SOCIAL_WORKER,
        Role.POLICE,
        Role.SAFEGUARDING_LEAD,
        Role.TEAM_LEADER,
    }
)
LEADS = frozenset({Role.SAFEGUARDING_LEAD})
EVERYONE = frozenset(Role)


class Rule(NamedTuple):
    roles: frozenset[str]  # who may open it at all
    scope: str  # "" (a list or form), "family" or "person": the policy decides, per record
    methods: tuple[str, ...]  # what the page answers; other methods get 405
    purpose: str


def roles_of(user) -> set[str]:
    return set(Membership.objects.filter(user=user).values_list("role", flat=True))


def page(
    *,
    roles: Iterable[str] = PRACTITIONERS,
    scope: str = "",
    methods: Iterable[str] = ("GET",),
    purpose: str = "",
) -> Callable:
    """Declare and enforce who may open the view: signed-in (with two factors, which the
    middleware sees to), in one of ``roles``, else "not found"."""
    rule = Rule(frozenset(str(r) for r in roles), scope, tuple(methods), purpose)

    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.is_active or not (roles_of(request.user) & rule.roles):
                raise Http404("No such page")
            if request.method not in rule.methods and not (
                request.method == "HEAD" and "GET" in rule.methods
            ):
                from django.http import HttpResponseNotAllowed

                return HttpResponseNotAllowed(rule.methods)
            return view(request, *args, **kwargs)

        guarded.access_rule = rule
        return guarded

    return decorate


# The ``cradle`` commands, and how each is held to the policy. A command that reads people
# from the database runs as a system job audited with one entry per job, or only on demo
# logins; the permission matrix test fails on a command missing here.
COMMANDS: dict[str, str] = {
    "replay": "reads case files only, never the database",
    "load": "system job: one audit entry per file loaded",
    "sweep": "system job: one audit entry per sweep (a population file: synthetic data, no database)",
    "escalate": "system job: one audit entry per run",
    "demo": "demo only: loads the synthetic case files and makes demo logins",
    "audit": "reads the audit log's hashes, no person's record",
    "manage": "Django's own commands, for the operator of the server (migrate, createcachetable)",
    "users": "user administration: no person's record; each change audited",
    "demo-code": "demo logins only: prints a demo authenticator's current code",
    "synth": "writes a synthetic population file; reads no database",
    "burden": "reads a synthetic population file; no database",
    "load-population": "system job: one audit entry per population file loaded",
    "link": "system job: one audit entry per linkage run with its scope",
    "import": "system job: one audit entry per file imported, with its agency and what came of it",
    "feeds": "system tokens (each change audited) and the quarantine (resubmissions audited)",
    "review-actions": "system job: flags overdue review actions by email (no personal data); one audit entry per run",
    "safety-officer": "user administration: names a clinical safety officer; audited",
}
