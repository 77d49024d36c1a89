"""Whole messages and files: keep the raw bytes, read, write, audit once.

``cradle import FILE`` and the API call these; both audit one system-actor entry per
job or call, with its scope (which agency, which message, what came of it).
"""

from __future__ import annotations

import contextlib
import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.db import transaction

from cradle.access import audit
from cradle.domain import Agency
from cradle.feeds import fhir
from cradle.feeds import records as rec
from cradle.feeds.csvfeed import import_stream, row_items
from cradle.feeds.ingest import (
    Item,
    Result,
    apply_batch,
    mark_done,
    quarantine_message,
    run_again,
)
from cradle.feeds.models import Message, QuarantineItem
from cradle.feeds.store import keep_bytes, keep_file


@dataclass
class Job:
    message: Message
    result: Result
    new_message: bool

    def summary(self) -> str:
        r = self.result
        return (
            f"message {self.message.pk}: {r.created} created, {r.versioned} new versions, "
            f"{r.unchanged} unchanged, {r.held} quarantined"
        ) + (
            f" (resumed after row {r.resumed_after}: an earlier run stopped there, its rows kept)"
            if r.resumed_after
            else ""
        )


def sniff(path: Path) -> str:
    """``fhir`` or ``csv``: by the extension, else by the first byte that is not white space."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "fhir"
    if suffix in (".csv", ".txt"):
        return "csv"
    with open(path, "rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "fhir" if head[:1] in (b"{", b"[") else "csv"


def read_fhir(
    message: Message,
    data: bytes,
    *,
    agency: str,
    today: date,
    queue: bool = False,
    evaluate: bool = True,
    bar=None,
    lock: bool = False,
) -> Result:
    """A Bundle's records written (or quarantined), its families evaluated, or with
    ``queue`` queued for evaluation, or with neither left to the caller (``apply_batch``).
    ``bar``: a progress bar of the resources read, then saying what is being done.
    ``lock``: a file, which two imports may read at once: written under the message's
    lock, and read and written again, whole, when it met another import's records (its
    records are made from what was sent before: an Encounter's findings), outside a
    caller's transaction."""

    def read(attempt: int) -> Result:
        return _read_fhir(
            message,
            data,
            agency=agency,
            today=today,
            queue=queue,
            evaluate=evaluate,
            bar=bar if attempt == 0 else None,
            lock=lock,
        )

    return run_again(read) if lock else read(0)


def _read_fhir(message, data, *, agency, today, queue, evaluate, bar, lock) -> Result:
    bundle = fhir.read_bundle(data, today, agency=agency, lookups=fhir.db_lookups(agency), bar=bar)
    if bar is not None:
        bar.set_postfix_str("writing and evaluating")
    if bundle.problems:
        result = Result()
        result.quarantined.append(
            quarantine_message(message, bundle.problems, record_type="fhir:Bundle", raw=data)
        )
        return result
    return apply_batch(
        bundle.items,
        agency=agency,
        message=message,
        today=today,
        queue=queue,
        evaluate=evaluate,
        lock=lock,
    )


def import_file(
    path: str | Path,
    *,
    agency: str,
    system: str,
    today: date,
    batch: int = 5000,
    progress: bool = False,
    max_fhir_bytes: int = 50 * 1024 * 1024,
) -> Job:
    """One file, FHIR JSON (a Bundle) or CSV: kept, read, written in batches, audited once."""
    from tqdm import tqdm

    path = Path(path)
    kind = sniff(path)
    source = f"file:{system}"
    message, new = keep_file(
        path,
        source_system=source,
        agency=agency,
        content_type="application/fhir+json" if kind == "fhir" else "text/csv",
    )
    if message.status == Message.DONE:
        # This very file was imported to the end before: sending it again changes nothing.
        job = Job(message, Result(), False)
        audit.record(
            actor=f"system:{system}",
            action="import",
            what=f"{kind} file for {agency}: message {message.pk} already imported; nothing changed",
        )
        return job
    if kind == "fhir":
        if message.size > max_fhir_bytes:
            result = Result()
            result.quarantined.append(
                quarantine_message(
                    message,
                    [
                        {
                            "field": "message",
                            "problem": f"a FHIR file is read whole: over {max_fhir_bytes} bytes (split the Bundle)",
                        }
                    ],
                    record_type="fhir:Bundle",
                    raw=b"",
                )
            )
        else:
            data = path.read_bytes()
            tagged = fhir.bundle_agency(data)
            if tagged not in (None, agency):  # as the API refuses it: never filed as another's
                result = Result()
                result.quarantined.append(
                    quarantine_message(
                        message,
                        [
                            {
                                "field": "meta.tag",
                                "problem": "the Bundle says it is from "
                                + (
                                    tagged
                                    if tagged in Agency._value2member_map_
                                    else "another agency"
                                )
                                + f", not {agency}: import it as its own agency's (--agency)",
                            }
                        ],
                        record_type="fhir:Bundle",
                        raw=b"",
                    )
                )
            else:
                with tqdm(
                    unit=" resources", desc="import", disable=not progress, mininterval=1.0
                ) as bar:
                    result = read_fhir(
                        message, data, agency=agency, today=today, bar=bar, lock=True
                    )
    else:
        bar = tqdm(
            total=message.size,
            unit="B",
            unit_scale=True,
            desc="import",
            disable=not progress,
            mininterval=1.0,
        )
        with open(path, "rb") as f:
            result = import_stream(
                f, message=message, agency=agency, today=today, batch=batch, bar=bar
            )
        bar.close()
    mark_done(message)
    job = Job(message, result, new)
    audit.record(
        actor=f"system:{system}",
        action="import",
        what=f"{kind} file for {agency}: {job.summary()}; {len(result.families)} families",
    )
    return job


class NotResubmitted(ValueError):
    """A correction refused, nothing of it read (the item settled, or the correction not
    of the record held): the message says why. Refused once its bytes were kept (the item
    settled while it was on its way), they stay kept, read for nothing."""


def resubmit(item: QuarantineItem, corrected: bytes, *, by: str, today: date) -> Job:
    """A corrected record for an item in quarantine: kept as a new message, read as the
    original was (a CSV row with its file's header, a JSON record, a FHIR Bundle).

    Refused (``NotResubmitted``, nothing written) when the item is settled already, or
    when the correction leaves out a record id the held content carries, as far as it can
    be read (a correction is of the record held, never another in its place: a CSV row's
    ``source_id``, each of the rows a broken quote ran together, a FHIR resource's type
    and id, a JSON record's ``source_id``), or when a FHIR correction is tagged as another
    agency's. Refused again, the item is marked resubmitted and what the correction met is
    held, about the same families, as its correction. An item held from a correction whose own content names no record
    (a whole Bundle refused) must keep the first held item's ids. Settling is of the
    item corrected, of the items held from earlier corrections of the same records (their
    ids among the correction's), and of the first held item once nothing held from its
    corrections waits: never of another record held beside it."""

    if item.status in QuarantineItem.SETTLED:
        raise NotResubmitted(f"item {item.pk} is {item.status}: there is nothing to correct")
    context = item.context or {}
    held_ids = held_record_ids(item)
    if not held_ids and item.corrects_id:
        held_ids = held_record_ids(item.corrects)
    given = correction_ids(corrected, context)
    if held_ids and not held_ids <= given:
        raise NotResubmitted(
            f"the correction is not of the record held in item {item.pk}: it must keep "
            f"the held record's id{'s' if len(held_ids) > 1 else ''} (as the item shows "
            f"them), {len(held_ids)} in all"
        )
    if context.get("format") not in ("csv", "csv-file", "json"):
        tagged = fhir.bundle_agency(corrected)
        if tagged not in (None, item.message.agency):
            raise NotResubmitted(
                f"the correction is tagged as another agency's than the item's "
                f"({item.message.agency}): send it as its own agency's"
            )
    original = item.message
    message, new = keep_bytes(
        corrected,
        source_system=f"resubmit:{original.source_system}"[:100],
        agency=original.agency,
        channel="resubmit",
        content_type=original.content_type,
    )
    # One correction of an item at a time (a double-click, two leads at once): the item is
    # locked, and its state read again, for all but a whole file (read in committed
    # batches, resumable: its state is read again unlocked, and its batches are taken one
    # at a time by the message's lock, ``apply_batch``). The bytes are kept first,
    # whatever happens next. The audit entry is written after the transaction: the audit
    # chain's head is locked before a family's, never after (HAZ-S13).
    # A FHIR correction read before another import wrote an Encounter it joins findings to
    # is read again, from what is there now (``Stale``, ``run_again``).
    whole_file = context.get("format") == "csv-file"

    def correct(_attempt):
        with contextlib.nullcontext() if whole_file else transaction.atomic():
            status = QuarantineItem.objects.filter(pk=item.pk)
            if not whole_file:
                status = status.select_for_update()
            status = status.values_list("status", flat=True).get()
            if status in QuarantineItem.SETTLED:
                return status, None, False
            return "", *_correct(item, corrected, message, new, given, held_ids, today)

    settled, result, accepted = correct(0) if whole_file else run_again(correct)
    if settled:
        mark_done(message)  # kept, and read for nothing
        audit.record(
            actor=by,
            action="resubmit-refused",
            what=f"quarantine item {item.pk}: {settled} already; message {message.pk} kept",
        )
        raise NotResubmitted(
            f"item {item.pk} is {settled}: there is nothing to correct (it was settled while "
            "this correction was on its way; the correction is kept, not read)"
        )
    audit.record(
        actor=by,
        action="resubmit",
        what=f"quarantine item {item.pk}: {'accepted' if accepted else 'still refused'}; message {message.pk}",
    )
    return Job(message, result, new)


def _correct(
    item, corrected: bytes, message: Message, new: bool, given: set, held_ids: set, today
) -> tuple[Result, bool]:
    """The correction read as the original was, and the item settled or marked
    resubmitted (``resubmit``)."""
    from django.utils import timezone

    context = item.context or {}
    original = item.message
    if context.get("format") == "csv":
        kind = {
            "csv:people": rec.PERSON,
            "csv:relationships": rec.RELATIONSHIP,
            "csv:contacts": rec.CONTACT,
            # Held from a correction before session 10 (the record's kind, not its layout).
            f"csv:{rec.PERSON}": rec.PERSON,
            f"csv:{rec.RELATIONSHIP}": rec.RELATIONSHIP,
            f"csv:{rec.CONTACT}": rec.CONTACT,
        }.get(item.record_type, "")
        result = apply_batch(
            row_items(corrected, context, kind, "resubmitted", rows=max(len(held_ids), 1)),
            agency=original.agency,
            message=message,
            today=today,
        )
    elif context.get("format") == "csv-file":
        # A file refused whole (its header): the corrected file is read as a new one, from
        # its first row even when the same file was sent before (what it met then may
        # have been corrected since: the people it names sent).
        if not new:
            Message.objects.filter(pk=message.pk).update(rows_done=0)
            message.rows_done = 0
        result = import_stream(
            io.BytesIO(corrected), message=message, agency=original.agency, today=today
        )
    elif context.get("format") == "json":
        if context.get("endpoint"):  # a body the API refused: read as its endpoint reads it
            from cradle.feeds.api import read_body

            kind, data, problems = read_body(context["endpoint"], corrected, original.agency)
        else:  # a record the API had read (a failed call): read as that record
            kind, (data, problems) = context.get("kind", ""), _json_object(corrected)
        result = apply_batch(
            [Item("resubmitted", kind, corrected, data, problems, item.record_type, context)],
            agency=original.agency,
            message=message,
            today=today,
        )
    else:
        # FHIR: a corrected resource (read as a Bundle of one) or a whole corrected Bundle.
        result = read_fhir(
            message,
            _as_bundle(corrected, context.get("fullUrl")),
            agency=original.agency,
            today=today,
            lock=True,
        )
    mark_done(message)
    r = result
    # Taken whole, and something taken: a correction that holds no record settles nothing.
    accepted = not r.quarantined and (r.created + r.versioned + r.unchanged) > 0
    root_pk = item.corrects_id or item.pk
    families = list(item.families.values_list("pk", flat=True))
    for held in result.quarantined:
        if held.message_id == message.pk and held.pk != root_pk:
            QuarantineItem.objects.filter(pk=held.pk).update(corrects=root_pk)
            held.corrects_id = root_pk
        if families:
            held.families.add(*families)  # still about them: the family pages keep saying so
    now = timezone.now()
    waiting = QuarantineItem.objects.exclude(status__in=QuarantineItem.SETTLED)
    # Earlier corrections of the same records (their ids among this correction's, not
    # held from it): settled with it when it is taken. When it is refused again, those
    # whose records it held again (or all, when what it held names no record: a Bundle
    # refused whole) are marked resubmitted, what it held standing for them (one record
    # waits once, ``QuarantineItem.objects.waiting``); those whose records it took are
    # settled.
    met = [held.pk for held in result.quarantined]
    held_now = [held_record_ids(held) for held in result.quarantined]
    again, taken = [item.pk], []
    for other in waiting.filter(corrects=root_pk).exclude(pk__in=[item.pk, *met]):
        ids = held_record_ids(other)
        if ids and ids <= given:
            if accepted:
                taken.append(other.pk)
            elif not r.quarantined:
                continue
            elif not all(held_now) or any(ids & now_ids for now_ids in held_now):
                again.append(other.pk)
            else:
                taken.append(other.pk)
    if accepted:
        taken.append(item.pk)
    else:  # the item (and what ``again`` holds) resubmitted: waiting on what it held, or,
        # when it took nothing and met nothing, waiting itself (``waiting``)
        waiting.filter(pk__in=again).update(
            status=QuarantineItem.RESUBMITTED, resubmitted_as=message, resolved_at=None
        )
    if taken:
        waiting.filter(pk__in=taken).update(
            status=QuarantineItem.ACCEPTED, resubmitted_as=message, resolved_at=now
        )
        _settle_root(root_pk, now)
    return result, accepted


def _settle_root(root_pk: int, now) -> None:
    """The first held item of a chain, settled once nothing held from its corrections
    waits: accepted, or dismissed when any of them was (its record then not taken)."""
    chain = QuarantineItem.objects.filter(corrects=root_pk)
    if not chain.exists() or chain.exclude(status__in=QuarantineItem.SETTLED).exists():
        return
    root = QuarantineItem.objects.filter(pk=root_pk, status=QuarantineItem.RESUBMITTED)
    dismissed = list(chain.filter(status=QuarantineItem.DISMISSED).values_list("note", flat=True))
    if dismissed:
        root.update(status=QuarantineItem.DISMISSED, note=dismissed[0], resolved_at=now)
    else:
        root.update(status=QuarantineItem.ACCEPTED, resolved_at=now)


AUDIT_IDS = 15  # item ids an audit entry names (its text is cut at 200 characters)


def dismiss(items, *, note: str, by: str, user=None) -> int:
    """The items named set aside by a lead, saying why (a file sent twice; records the
    agency has since sent again corrected under other ids): no longer waiting, kept as
    they were; the first held item of a chain with them once nothing of it waits. Those
    settled already are left. Audited by their ids (the note is the lead's words: kept
    with the items, not in the log)."""
    from django.utils import timezone

    note = " ".join(note.split())
    if not note:
        raise NotResubmitted("say why the items are dismissed (--reason)")
    pks = sorted({i.pk for i in items if i.status not in QuarantineItem.SETTLED})
    now = timezone.now()
    QuarantineItem.objects.filter(pk__in=pks).exclude(status__in=QuarantineItem.SETTLED).update(
        status=QuarantineItem.DISMISSED, note=note[:300], resolved_at=now
    )
    for root_pk in {i.corrects_id for i in items if i.corrects_id}:
        _settle_root(root_pk, now)
    for start in range(0, len(pks), AUDIT_IDS):
        chunk = pks[start : start + AUDIT_IDS]
        audit.record(
            user=user,
            actor=by,
            action="dismiss",
            what=f"quarantine items {', '.join(map(str, chunk))}: dismissed",
        )
    return len(pks)


def held_record_ids(item: QuarantineItem) -> set[str]:
    """The record ids the held content carries, as far as it can be read: a CSV item's
    ``source_id`` on each of its lines (several when a broken quote ran rows together),
    a FHIR resource's ``type/id``, a JSON record's ``source_id``. Empty when none can be
    read (a whole file or Bundle refused, bytes that are not text)."""
    context = item.context or {}
    raw = bytes(item.content)
    if context.get("format") == "csv":
        names = context.get("header") or []
        if "source_id" not in names:
            return set()
        at = names.index("source_id")
        text = raw.decode("utf-8", "replace")
        try:  # a row that is one row (a quoted note may hold line breaks): its own id
            rows = [r for r in csv.reader(io.StringIO(text, newline=""), strict=True) if r]
        except csv.Error:
            rows = []
        if len(rows) == 1:
            lines = [text]
        else:  # a quote left open ran rows together: each line read as a row of its own
            lines = list(io.StringIO(text, newline=""))
        found = set()
        for line in lines:
            fields = next(csv.reader(io.StringIO(line, newline="")), [])
            # An id with bytes that were not text is not one a correction could keep.
            if len(fields) > at and fields[at].strip() and "\ufffd" not in fields[at]:
                found.add(fields[at].strip())
        return found
    if context.get("format") == "csv-file":
        return set()
    return _json_ids(raw, fhir=context.get("format") != "json", full_url=context.get("fullUrl"))


def correction_ids(corrected: bytes, context: dict) -> set[str]:
    """The record ids a correction carries, read as ``held_record_ids`` reads them."""
    if context.get("format") == "csv":
        names = context.get("header") or []
        try:
            rows = list(csv.reader(io.StringIO(corrected.decode("utf-8-sig"), newline="")))
        except (UnicodeDecodeError, csv.Error):
            return set()
        at = names.index("source_id") if "source_id" in names else None
        return {r[at].strip() for r in rows if at is not None and len(r) > at and r[at].strip()}
    return _json_ids(
        corrected,
        fhir=context.get("format") != "json",
        bundle=True,
        full_url=context.get("fullUrl"),
    )


def bundle_ids(data: bytes) -> set[str]:
    """The ids of the resources a Bundle carries, as the reader names them."""
    return _json_ids(data, fhir=True, bundle=True)


def _json_ids(
    data: bytes, *, fhir: bool, bundle: bool = False, full_url: str | None = None
) -> set[str]:
    """A JSON record's ``source_id`` (a number as its text), or a FHIR resource's
    ``type/id``, or ``type/fullUrl`` for one named by its Bundle entry's fullUrl alone, as
    the reader names it (``full_url``: a lone resource's, kept when it was held)."""
    import json

    from cradle.feeds.fhir import source_id

    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return set()
    if not isinstance(doc, dict):
        return set()
    if not fhir:
        sid = doc.get("source_id")
        if isinstance(sid, int | float) and not isinstance(sid, bool):
            sid = json.dumps(sid)  # 123 held: a correction gives "123"
        return {sid.strip()} if isinstance(sid, str) and sid.strip() else set()
    if doc.get("resourceType") == "Bundle":
        if not bundle:
            return set()  # a whole Bundle held: no one record
        entries = doc.get("entry") if isinstance(doc.get("entry"), list) else []
        named = [(e.get("resource"), e.get("fullUrl")) for e in entries if isinstance(e, dict)]
    else:
        named = [(doc, full_url)]
    ids = set()
    for r, url in named:
        if not isinstance(r, dict) or not isinstance(r.get("resourceType"), str):
            continue
        sid = source_id(r, url)
        if sid:
            ids.add(sid)
    return ids


def _json_object(data: bytes) -> tuple[dict | None, list[dict]]:
    import json

    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, [{"field": "body", "problem": "not valid UTF-8 JSON"}]
    if not isinstance(value, dict):
        return None, [{"field": "body", "problem": "must be a JSON object"}]
    return value, []


def _as_bundle(data: bytes, full_url: str | None = None) -> bytes:
    """A lone resource as a Bundle of one; one with no id under the fullUrl it was held
    with (``full_url``), so it names the same record."""
    import json

    try:
        doc = fhir.parse(data)  # a byte-order mark allowed, as read_fhir allows it
    except fhir.Unreadable:
        return data  # read_fhir says why
    if isinstance(doc, dict) and doc.get("resourceType") not in (None, "Bundle"):
        entry = {"resource": doc}
        if full_url and not (isinstance(doc.get("id"), str) and doc["id"]):
            entry["fullUrl"] = full_url
        doc = {"resourceType": "Bundle", "type": "collection", "entry": [entry]}
        return json.dumps(doc).encode()
    return data
