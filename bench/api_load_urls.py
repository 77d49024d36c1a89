"""The URLconf of ``bench/bench_api_load.py`` only: every URL of Cradle, plus a bare insert
endpoint, the baseline the API is measured beside. It is never mounted in the product
(``cradle.site.urls`` does not know it); only ``bench/api_load_settings.py`` selects it.

``POST /bench/bare-contact``: the same JSON body as ``POST /api/contacts``, parsed, and
one INSERT of a contact row (``source_key`` ``bare:<source_id>``): no token, no raw bytes
kept, no checks, no subjects, no version, no audit entry, no re-evaluation. The same
server, middleware and database as the API.
"""

import json

from django.http import JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cradle.records.models import Contact


@csrf_exempt
@require_POST
def bare_contact(request):
    data = json.loads(request.body)
    row = Contact.objects.create(
        source_key=f"bare:{data['source_id']}",
        agency="health_visiting",
        kind=data["kind"],
        occurred_on=data["occurred_on"],
        recorded_on=timezone.localdate(),
        outcome=data.get("outcome") or "",
        channel=data.get("channel") or "",
    )
    return JsonResponse({"id": row.pk})


urlpatterns = [
    path("bench/bare-contact", bare_contact),
    path("", include("cradle.site.urls")),
]
