"""The audit log: append-only, hash-chained, with a keyed anchor outside the database.

Each entry's hash is an HMAC (keyed with ``CRADLE_AUDIT_KEY``, by default one
derived from the secret key; never stored in the database) over its content and
the previous entry's hash, so an entry cannot be altered, inserted or removed
without the key. Removing the newest entries leaves a valid chain, so after each
commit the newest entry's number and hash are written, keyed, to an anchor file
outside the database (``CRADLE_AUDIT_ANCHOR``); ``verify`` checks the chain
against it. Entries are written in the caller's transaction.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cradle.access.models import AuditEntry, AuditHead
from cradle.records import bulk


def _key() -> bytes:
    explicit = os.environ.get("CRADLE_AUDIT_KEY")
    if explicit:
        return explicit.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"cradle audit chain", hashlib.sha256).digest()


def anchor_path() -> Path:
    """Where the anchor lives: ``CRADLE_AUDIT_ANCHOR``, else beside the SQLite file, else in var/."""
    explicit = os.environ.get("CRADLE_AUDIT_ANCHOR")
    if explicit:
        return Path(explicit)
    db = settings.DATABASES["default"]
    if (
        db["ENGINE"].endswith("sqlite3")
        and str(db["NAME"]) != ":memory:"
        and "mode=memory" not in str(db["NAME"])
    ):
        return Path(f"{db['NAME']}.audit-anchor.json")
    return Path(settings.BASE_DIR) / "var" / f"audit-anchor-{db.get('NAME') or 'default'}.json"


def _content(e: AuditEntry) -> str:
    return "|".join(
        str(x)
        for x in (
            e.seq,
            e.at.isoformat(),
            e.user_id or "",
            e.actor,
            e.action,
            e.family_id or "",
            e.what,
            e.ip,
            e.role,
            int(e.break_glass),
            e.prev_hash,
        )
    )


def entry_hash(e: AuditEntry, key: bytes | None = None) -> str:
    return hmac.new(key or _key(), _content(e).encode(), hashlib.sha256).hexdigest()


def record(
    *,
    actor: str,
    action: str,
    what: str,
    user=None,
    family=None,
    family_id: int | None = None,
    ip: str = "",
    role: str = "",
    break_glass: bool = False,
) -> AuditEntry:
    """Append one entry, in the current transaction (or its own); the family by object or
    by key. No savepoint of its own within a caller's transaction: an entry that cannot be
    written undoes the caller's transaction too."""
    return record_many(
        [
            dict(
                actor=actor,
                action=action,
                what=what,
                user=user,
                family_id=family.pk if family is not None else family_id,
                ip=ip,
                role=role,
                break_glass=break_glass,
            )
        ]
    )[0]


def record_many(entries: list[dict]) -> list[AuditEntry]:
    """Append entries in their order (each ``record``'s arguments, the family by
    ``family_id``) under one lock of the chain's head, in one INSERT, with one move of the
    anchor: the API's group commit audits each call of a group so (``cradle.feeds.group``)."""
    if not entries:
        return []
    with transaction.atomic(savepoint=False):
        seq, prev = _lock_head()
        key, at, made = _key(), timezone.now(), []
        for fields in entries:
            seq += 1
            entry = AuditEntry(
                seq=seq,
                at=at,
                user=fields.get("user"),
                actor=fields["actor"],
                action=fields["action"],
                family_id=fields.get("family_id"),
                what=fields["what"][:200],
                ip=fields.get("ip", ""),
                role=fields.get("role", ""),
                break_glass=fields.get("break_glass", False),
                prev_hash=prev,
            )
            entry.hash = prev = entry_hash(entry, key)
            made.append(entry)
        bulk.create(made)
        AuditHead.objects.filter(pk=1).update(seq=seq, hash=prev)
        # Robust: the entries are committed whatever befalls the anchor's file (a full
        # disk); its failure is logged, and `cradle audit verify` reports the anchor behind.
        transaction.on_commit(lambda: write_anchor(seq, prev), robust=True)
    return made


def _lock_head() -> tuple[int, str]:
    """The chain's newest number and hash, its head's row locked to the end of the
    transaction (made, the first time)."""
    head = list(AuditHead.objects.select_for_update().filter(pk=1).values_list("seq", "hash"))
    if not head:
        made, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        return made.seq, made.hash
    return head[0]


def _mac(seq: int, digest: str) -> str:
    return hmac.new(_key(), f"anchor|{seq}|{digest}".encode(), hashlib.sha256).hexdigest()


def write_anchor(seq: int, digest: str) -> None:
    """Move the anchor forward to entry ``seq`` (never back), atomically, under a lock."""
    path = anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_anchor()
        if current and current[0] >= seq:
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seq": seq, "hash": digest, "mac": _mac(seq, digest)}))
        os.replace(tmp, path)


def read_anchor() -> tuple[int, str] | None:
    path = anchor_path()
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    if not hmac.compare_digest(data.get("mac", ""), _mac(int(data["seq"]), data["hash"])):
        raise ValueError(f"{path}: the anchor's keyed hash does not match (the anchor was altered)")
    return int(data["seq"]), data["hash"]


@dataclass
class Verification:
    entries: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify() -> Verification:
    """Check every entry's hash and link, then the newest against the anchor.

    Reports the first entry altered, inserted or deleted, and entries removed
    from the end."""
    key = _key()
    report = Verification()
    previous_hash, expected_seq = "", 1
    hashes: dict[int, str] = {}
    for e in AuditEntry.objects.order_by("seq").iterator():
        report.entries += 1
        if e.seq != expected_seq:
            report.problems.append(
                f"entry {expected_seq} is missing (deleted): the next entry is {e.seq}"
            )
            return report
        if e.prev_hash != previous_hash:
            report.problems.append(
                f"entry {e.seq} does not follow entry {e.seq - 1} (inserted, or the one before it altered)"
            )
            return report
        if not hmac.compare_digest(e.hash, entry_hash(e, key)):
            report.problems.append(
                f"entry {e.seq} was altered or inserted (its content does not match its keyed hash)"
            )
            return report
        hashes[e.seq] = e.hash
        previous_hash, expected_seq = e.hash, expected_seq + 1
    try:
        anchor = read_anchor()
    except ValueError as exc:
        report.problems.append(str(exc))
        return report
    last = expected_seq - 1
    if anchor is None:
        if last:
            report.notes.append(
                f"no anchor at {anchor_path()}: removal of the newest entries cannot be checked"
            )
        return report
    seq, digest = anchor
    if seq > last:
        report.problems.append(
            f"entries {last + 1} to {seq} were removed from the end (the anchor records entry {seq})"
        )
    elif hashes.get(seq) != digest:
        report.problems.append(
            f"entry {seq} differs from the anchored entry (the log was rewritten)"
        )
    elif last > seq:
        report.notes.append(
            f"{last - seq} entries after the anchor (written since, or the anchor lags)"
        )
    return report
