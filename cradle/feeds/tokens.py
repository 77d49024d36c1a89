"""Agency systems' tokens: made once, shown once, kept only as a hash, revocable."""

from __future__ import annotations

import hashlib
import secrets

from django.db import connections, router, transaction
from django.utils import timezone

from cradle.feeds.models import SystemToken

PREFIX = "cradle_"
# A system's name is its audit actor, ``system:<name>``, in a column of 100 characters
# (and its messages' ``source_system``, of 100).
MAX_NAME = 100 - len("system:")


# Cradle's own actors (``system:<name>``, held to the code by tests/db/test_feeds_api.py):
# no agency system may be named as one, or its calls would read as Cradle's.
RESERVED = frozenset(
    {
        "escalate",
        "feeds",
        "feeds-dismiss",
        "feeds-resubmit",
        "linkage",
        "load",
        "load-population",
        "review-actions",
        "safety-officer",
        "sweep",
        "users",
    }
)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def name_problem(name: str) -> str:
    """Why ``name`` cannot name a system ("" if it can): it names the system on every page,
    list and audit entry, so it is printable, not blank, and fits where it is kept."""
    if not name.strip():
        return "a system's name cannot be blank"
    if len(name) > MAX_NAME:
        return f"a system's name is at most {MAX_NAME} characters"
    if not name.isprintable():
        return "a system's name must be printable characters (no control characters)"
    if name != name.strip():
        return "a system's name cannot begin or end with white space"
    if ":" in name:  # actors are system:<name>, and Cradle's own system:<name>:<user>
        return "a system's name cannot contain ':'"
    if name in RESERVED:
        return f"{name!r} names one of Cradle's own actors (system:{name}): choose another name"
    return ""


def agency_problem(name: str, agency: str, agencies: set[str] | None = None) -> str:
    """Why ``name`` cannot be given a token for ``agency`` ("" if it can): a name, once
    given, is one agency's for good. Its audit entries (``system:<name>``) and its messages
    (``source_system``) are read as that agency's, and a revoked system's name given to
    another agency would make its history read as the new one's. An agency's own name
    (``cradle import``'s system by default) is that agency's. ``agencies``: those with a
    token of this name, when read already (else looked up)."""
    from cradle.domain import Agency

    if name in Agency._value2member_map_ and name != agency:
        return f"{name!r} is the name of another agency: choose a name of this agency's system"
    if agencies is not None:
        other = min(agencies - {agency}, default=None)
    else:
        other = (
            SystemToken.objects.filter(name=name)
            .exclude(agency=agency)
            .values_list("agency", flat=True)
            .first()
        )
    if other is None:
        return ""
    return (
        f"the system name {name!r} is {other}'s (its tokens and audit entries are kept): "
        "choose another name for this agency's system"
    )


def system_problem(name: str, agency: str, agencies: set[str] | None = None) -> str:
    """Why ``name`` cannot name a system of ``agency`` ("" if it can): a token's, or
    ``cradle import --system``'s, whose audit actor it becomes (``agencies``: as for
    ``agency_problem``)."""
    return name_problem(name) or agency_problem(name, agency, agencies)


def add(name: str, agency: str) -> tuple[SystemToken, str]:
    """A new token for a system (its plain text is returned once and never kept): refused
    (``ValueError``) for a name that cannot be this agency's system's (``system_problem``);
    an
    ``IntegrityError`` if the system has a live token already. A system whose tokens are
    all revoked can be given a new one: the revoked ones are kept."""
    problem = system_problem(name, agency)
    if problem:
        raise ValueError(problem)
    plain = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():  # refused, undone alone: a caller's transaction goes on
        row = SystemToken.objects.create(name=name, agency=agency, token_hash=digest(plain))
    return row, plain


def revoke(name: str) -> SystemToken | None:
    row = SystemToken.objects.filter(name=name, revoked_at__isnull=True).first()
    if row is not None:
        row.revoked_at = timezone.now()
        row.save(update_fields=["revoked_at"])
    return row


def authenticate(plain: str) -> SystemToken | None:
    """The live token with this text, or None. Checked in the database on every call, so a
    revocation holds from the next call; one plain statement, the token's id, name and
    agency only (the other fields are read if asked for): this runs on every API call."""
    if not plain or len(plain) > 200:
        return None
    model = SystemToken
    connection = connections[router.db_for_read(model)]
    q = connection.ops.quote_name
    # In the model's order of fields, as from_db reads them.
    fields = [f for f in model._meta.concrete_fields if f.attname in ("id", "name", "agency")]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(q(f.column) for f in fields)} FROM {q(model._meta.db_table)} "
            f"WHERE {q('token_hash')} = %s AND {q('revoked_at')} IS NULL",
            [digest(plain)],
        )
        row = cursor.fetchone()  # token_hash is unique
    return model.from_db(connection.alias, [f.attname for f in fields], row) if row else None
