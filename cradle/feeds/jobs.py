"""Whole messages and files: keep the raw bytes, read, write, audit once.

``cradle import FILE`` and the API call these; both audit one system-actor entry per
job or call, with its scope (which agency, which message, what came of it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cradle.access import audit
from cradle.feeds import fhir
from cradle.feeds import records as rec
from cradle.feeds.csvfeed import import_stream, row_item
from cradle.feeds.ingest import Item, Result, apply_batch, mark_done, quarantine_message
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
) -> Result:
    """A Bundle's records written (or quarantined), its families evaluated, or with
    ``queue`` queued for evaluation, or with neither left to the caller (``apply_batch``)."""
    bundle = fhir.read_bundle(data, today, agency=agency, lookups=fhir.db_lookups(agency))
    if bundle.problems:
        result = Result()
        result.quarantined.append(
            quarantine_message(message, bundle.problems, record_type="fhir:Bundle", raw=data)
        )
        return result
    return apply_batch(
        bundle.items, agency=agency, message=message, today=today, queue=queue, evaluate=evaluate
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
            result = read_fhir(message, path.read_bytes(), agency=agency, today=today)
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


def resubmit(item: QuarantineItem, corrected: bytes, *, by: str, today: date) -> Job:
    """A corrected record for an item in quarantine: kept as a new message, read as the
    original was (a CSV row with its file's header, a JSON record, a FHIR Bundle)."""
    from django.utils import timezone

    original = item.message
    message, new = keep_bytes(
        corrected,
        source_system=f"resubmit:{original.source_system}"[:100],
        agency=original.agency,
        channel="resubmit",
        content_type=original.content_type,
    )
    context = item.context or {}
    if context.get("format") == "csv":
        kind = {
            "csv:people": rec.PERSON,
            "csv:relationships": rec.RELATIONSHIP,
            "csv:contacts": rec.CONTACT,
        }.get(item.record_type, "")
        result = apply_batch(
            [row_item(corrected, context, kind, "resubmitted")],
            agency=original.agency,
            message=message,
            today=today,
        )
    elif context.get("format") == "csv-file":
        # A file refused whole (its header): the corrected file is read as a new one.
        import io

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
        result = read_fhir(message, _as_bundle(corrected), agency=original.agency, today=today)
    mark_done(message)
    accepted = not result.quarantined
    families = list(item.families.values_list("pk", flat=True))
    for held in result.quarantined if families else ():
        held.families.add(*families)  # still about them: the family pages keep saying so
    QuarantineItem.objects.filter(pk=item.pk).update(
        status=QuarantineItem.ACCEPTED if accepted else QuarantineItem.RESUBMITTED,
        resubmitted_as=message,
        resolved_at=timezone.now() if accepted else None,
    )
    audit.record(
        actor=by,
        action="resubmit",
        what=f"quarantine item {item.pk}: {'accepted' if accepted else 'still refused'}; message {message.pk}",
    )
    return Job(message, result, new)


def _json_object(data: bytes) -> tuple[dict | None, list[dict]]:
    import json

    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, [{"field": "body", "problem": "not valid UTF-8 JSON"}]
    if not isinstance(value, dict):
        return None, [{"field": "body", "problem": "must be a JSON object"}]
    return value, []


def _as_bundle(data: bytes) -> bytes:
    import json

    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return data  # read_fhir says why
    if isinstance(doc, dict) and doc.get("resourceType") not in (None, "Bundle"):
        doc = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": doc}]}
        return json.dumps(doc).encode()
    return data
