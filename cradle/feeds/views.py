"""The quarantine pages: what the feeds could not take, why, and a corrected re-submission.

For safeguarding leads (the raw content is a person's record as an agency sent it); each
item opened is audited. Page rules are declared with ``cradle.access.guard.page``.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from cradle.access import audit
from cradle.access.guard import EVERYONE, LEADS, page
from cradle.feeds.models import QuarantineItem

SHOWN = 500  # the newest; the rest by `cradle feeds quarantine list`


@page(roles=LEADS, purpose="the feeds' quarantine")
def quarantine(request):
    """Records the feeds could not take, newest first, with the reasons (no content here)."""
    show_all = request.GET.get("all") == "1"
    items = QuarantineItem.objects.select_related("message").order_by("-id")
    if not show_all:
        items = items.exclude(status__in=QuarantineItem.SETTLED)
    from django.db.models import Count, Min

    from cradle.records.models import DueEvaluation

    # Families a feed has written to and not yet evaluated: an API submission's for a
    # moment, a file's until it ends (or, killed and not run again, the nightly sweep).
    waiting = DueEvaluation.objects.aggregate(families=Count("family"), since=Min("since"))
    return render(
        request,
        "feeds/quarantine.html",
        {
            "items": items[:SHOWN],
            "count": items.count(),
            "shown": SHOWN,
            "show_all": show_all,
            "waiting": waiting,
        },
    )


@page(roles=LEADS, methods=("GET", "POST"), purpose="one record held in quarantine")
def quarantine_item(request, pk: int):
    """One item: its raw content and reasons; a corrected version can be sent again."""
    from cradle.feeds.jobs import NotResubmitted, dismiss, resubmit

    item = QuarantineItem.objects.select_related("message").filter(pk=pk).first()
    if item is None:
        raise Http404("No such item")
    actor = f"user:{request.user.pk}"
    error = dismiss_error = ""
    if request.method == "POST" and request.POST.get("action") == "dismiss":
        try:
            if item.status in QuarantineItem.SETTLED:
                raise NotResubmitted(f"item {item.pk} is {item.status} already")
            dismiss([item], note=request.POST.get("reason", ""), by=actor, user=request.user)
        except NotResubmitted as exc:
            dismiss_error = (
                "Say why it is dismissed."
                if "say why" in str(exc)
                else f"Item #{item.pk} is {item.status} already."
            )
        else:
            messages.success(request, f"Item #{item.pk} was dismissed.")
            return redirect("feeds-quarantine")
    elif request.method == "POST":
        corrected = request.POST.get("corrected", "")
        job = None
        if not corrected.strip():
            error = "Give the corrected record."
        else:
            try:
                job = resubmit(
                    item, corrected.encode("utf-8"), by=actor, today=timezone.localdate()
                )
            except NotResubmitted as exc:
                error = str(exc)[:1].upper() + str(exc)[1:] + "."
        if job is not None:
            if not job.result.quarantined:
                messages.success(request, f"The corrected record was taken ({job.summary()}).")
                return redirect("feeds-quarantine")
            item.refresh_from_db()
            messages.warning(
                request, "The corrected record could not be taken either: see the new item."
            )
            return redirect("feeds-quarantine-item", pk=job.result.quarantined[0].pk)
        item.refresh_from_db()
    audit.record(user=request.user, actor=actor, action="read", what=f"quarantine item {item.pk}")
    content = bytes(item.content).decode("utf-8", "replace")
    return render(
        request,
        "feeds/quarantine_item.html",
        {
            "item": item,
            "content": content,
            "header": ",".join(item.context.get("header") or []),
            "error": error,
            "dismiss_error": dismiss_error,
            "settled": item.status in QuarantineItem.SETTLED,
        },
    )


@page(roles=EVERYONE, purpose="the agency feeds API, described")
def api_docs(request):
    """The API's OpenAPI description as a page of our own: no script, nothing from a CDN
    (django-ninja's Swagger page needs both, which the Content-Security-Policy refuses)."""
    from cradle.feeds.api import api

    doc = api.get_openapi_schema()
    schemas = doc.get("components", {}).get("schemas", {})

    def fields(schema: dict) -> list[dict]:
        if "$ref" in schema:
            schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
        required = set(schema.get("required", []))
        out = []
        for name, prop in schema.get("properties", {}).items():
            kinds = [p.get("type", p.get("format", "")) for p in prop.get("anyOf", [prop])]
            out.append(
                {
                    "name": name,
                    "type": " or ".join(k for k in kinds if k and k != "null") or "object",
                    "required": name in required,
                    "description": prop.get("description", ""),
                }
            )
        return out

    operations = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {})
            schema = next(iter(body.values()), {}).get("schema", {}) if body else {}
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "fields": fields(schema) if schema else [],
                    "answers": sorted(op.get("responses", {})),
                }
            )
    return render(request, "feeds/api_docs.html", {"doc": doc, "operations": operations})
