"""Raw bytes first: a message or file is kept, exactly as it arrived, before it is read.

A message already kept (the same bytes from the same source) is not kept twice, so that
sending it again changes nothing. A file is hashed and kept in parts, streamed, so that
its size never decides the memory used.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.db import transaction

from cradle.feeds.models import Message, MessagePart
from cradle.records import bulk

PART = 1 << 20  # 1 MiB a part


def _existing(sha256: str, source_system: str) -> Message | None:
    return (
        Message.objects.filter(sha256=sha256, source_system=source_system, complete=True)
        .order_by("id")
        .first()
    )


def keep_bytes(
    data: bytes,
    *,
    source_system: str,
    agency: str,
    channel: str,
    content_type: str = "",
    filename: str = "",
) -> tuple[Message, bool]:
    """The message kept for these bytes, and whether it is new (``keep_many`` of one, in a
    transaction of its own when the caller has none)."""
    meta = {
        "source_system": source_system,
        "agency": agency,
        "channel": channel,
        "content_type": content_type,
        "filename": filename,
    }
    with transaction.atomic():
        ((msg, new),) = keep_many([(data, meta)])
    return msg, new


def keep_many(
    bodies: list[tuple[bytes, dict]], *, done: bool = False
) -> list[tuple[Message, bool]]:
    """The message kept for each body and whether it is new: the same bytes from the same
    source are one message (also within ``bodies``), kept complete with its parts, in the
    caller's transaction: a look-up and two INSERTs for the lot (``keep_bytes``, and the
    API's group commit, ``cradle.feeds.group``). Each body comes with ``keep_bytes``'s
    keyword arguments.
    With ``done``, the messages are marked done (the caller writes what they carry in
    this transaction): new ones made so, one already kept updated if it is not."""
    shas = [hashlib.sha256(data).hexdigest() for data, _meta in bodies]
    found: dict[tuple[str, str], Message] = {}
    for msg in Message.objects.filter(sha256__in=sorted(set(shas)), complete=True).order_by("id"):
        found.setdefault((msg.sha256, msg.source_system), msg)
    new: list[tuple[Message, bytes]] = []
    kept = []
    for (data, meta), sha in zip(bodies, shas, strict=True):
        key = (sha, meta["source_system"])
        if key not in found:
            found[key] = Message(
                source_system=meta["source_system"],
                agency=meta["agency"],
                channel=meta["channel"],
                content_type=meta.get("content_type", "")[:100],
                filename=meta.get("filename", "")[:255],
                sha256=sha,
                size=len(data),
                complete=True,  # with its parts, in the caller's transaction
                status=Message.DONE if done else Message.RECEIVED,
            )
            new.append((found[key], data))
            kept.append((found[key], True))
        else:
            kept.append((found[key], False))
    with transaction.atomic(savepoint=False):
        if done:
            undone = sorted({m.pk for m, is_new in kept if not is_new and m.status != Message.DONE})
            if undone:
                Message.objects.filter(pk__in=undone).update(status=Message.DONE)
        bulk.create([msg for msg, _data in new])
        bulk.insert_rows(
            MessagePart,
            ("message", "seq", "data"),
            [
                (msg.pk, seq, data[start : start + PART])
                for msg, data in new
                for seq, start in enumerate(range(0, max(len(data), 1), PART))
            ],
        )
    return kept


def keep_file(
    path: str | Path, *, source_system: str, agency: str, content_type: str = ""
) -> tuple[Message, bool]:
    """The message kept for this file (streamed twice: once to hash, once to keep)."""
    path = Path(path)
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(PART):
            digest.update(chunk)
            size += len(chunk)
    sha = digest.hexdigest()
    found = _existing(sha, source_system)
    if found is not None:
        return found, False
    with transaction.atomic():
        msg = Message.objects.create(
            source_system=source_system,
            agency=agency,
            channel="file",
            content_type=content_type[:100],
            filename=path.name[:255],
            sha256=sha,
            size=size,
        )
        with open(path, "rb") as f:
            seq = 0
            while chunk := f.read(PART):
                MessagePart.objects.create(message=msg, seq=seq, data=chunk)
                seq += 1
        msg.complete = True
        msg.save(update_fields=["complete"])
    return msg, True


def refuse(
    *, source_system: str, agency: str, channel: str, content_type: str, size: int, why: str
) -> Message:
    """A message refused unread (over the size limit): the refusal is kept, not the bytes."""
    return Message.objects.create(
        source_system=source_system,
        agency=agency,
        channel=channel,
        content_type=content_type[:100],
        sha256="",
        size=size,
        complete=False,
        status=Message.REFUSED,
        note=why[:200],
    )
