"""Agency systems' tokens: made once, shown once, kept only as a hash, revocable."""

from __future__ import annotations

import hashlib
import secrets

from django.db import connections, router
from django.utils import timezone

from cradle.feeds.models import SystemToken

PREFIX = "cradle_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def add(name: str, agency: str) -> tuple[SystemToken, str]:
    """A new token for a system (its plain text is returned once and never kept)."""
    plain = PREFIX + secrets.token_urlsafe(32)
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
