"""Agency systems' tokens: made once, shown once, kept only as a hash, revocable."""

from __future__ import annotations

import hashlib
import secrets

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
    if not plain or len(plain) > 200:
        return None
    try:  # token_hash is unique: get(), which orders nothing
        return SystemToken.objects.get(token_hash=digest(plain), revoked_at__isnull=True)
    except SystemToken.DoesNotExist:
        return None
