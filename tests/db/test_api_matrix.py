"""The API's permission matrix, generated from the OpenAPI description the API serves
(tests/db/test_permission_matrix.py walks the pages; the API's operations are here).

For every operation: without a token, 401; with a revoked token, 401; with the token of a
system of another agency (a record said to be another agency's, or a child that agency
may not see), 404, never revealing whether the record exists; with the right token, an
answer. An operation without a row here fails the test.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import time_machine

from cradle.access.models import AuditEntry
from cradle.feeds import tokens
from cradle.feeds.api import api
from cradle.records import models as m

pytestmark = pytest.mark.django_db

CHILD_NHS = "9434765919"
TODAY = date(2026, 11, 26)

# One schema-valid body per submission; {agency} is filled with the agency under test.
BODIES = {
    "/api/people": {"source_id": "mx-b", "role": "child", "born_on": "2026-11-01", "agency": "{agency}"},
    "/api/relationships": {"source_id": "mx-r", "person": "mx-m", "kind": "mother_of", "other": "mx-b", "agency": "{agency}"},
    "/api/contacts": {"source_id": "mx-c", "kind": "home_visit", "occurred_on": "2026-11-20", "subjects": ["mx-b"], "agency": "{agency}"},
    "/api/referrals": {"source_id": "mx-f", "occurred_on": "2026-11-20", "subjects": ["mx-b"], "to_agency": "childrens_social_care", "agency": "{agency}"},
    "/api/icon-deliveries": {"source_id": "mx-i", "occurred_on": "2026-11-20", "subjects": ["mx-b"], "touchpoint": "postnatal", "delivered_to": ["mx-b"], "agency": "{agency}"},
    "/api/assessments": {"source_id": "mx-a", "occurred_on": "2026-11-20", "subjects": ["mx-b"], "form_version": "1", "answers": {"q1": "yes"}, "agency": "{agency}"},
    "/api/fhir/Bundle": {
        "resourceType": "Bundle", "type": "collection",
        "meta": {"tag": [{"system": "urn:cradle:agency", "code": "{agency}"}]},
        "entry": [{"resource": {"resourceType": "Patient", "id": "mx", "birthDate": "2026-11-01"}}],
    },
}  # fmt: skip


def _operations():
    """(method, path) of every operation the served description has."""
    doc = api.get_openapi_schema()
    return sorted(
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )


OPERATIONS = _operations()


@pytest.fixture
def world():
    family = m.Family.objects.create(reference="mx", origin=TODAY - timedelta(days=25))
    baby = m.Person.objects.create(
        source_key="mx/baby", nhs_number=CHILD_NHS, born_on=family.origin
    )
    m.FamilyMember.objects.create(family=family, person=baby, role="child", label="baby")
    visit = m.Contact.objects.create(
        source_key="mx/visit", agency="health_visiting", kind="home_visit", outcome="attended",
        occurred_on=TODAY - timedelta(days=2), recorded_on=TODAY - timedelta(days=2),
    )  # fmt: skip
    visit.subjects.add(baby)
    _row, hv = tokens.add("mx-hv", "health_visiting")
    _row, police = tokens.add("mx-police", "police")
    _row, gone = tokens.add("mx-gone", "health_visiting")
    tokens.revoke("mx-gone")
    return {"hv": hv, "police": police, "gone": gone}


def _call(client, method, path, token, agency):
    url = path.replace("{nhs_number}", CHILD_NHS)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(url, **headers)
    body = json.dumps(BODIES[path]).replace("{agency}", agency)
    return client.post(url, body, content_type="application/json", **headers)


def test_every_operation_has_a_row_here():
    posts = {path for method, path in OPERATIONS if method == "POST"}
    assert posts == set(BODIES), "an operation without a sample body in this matrix"
    assert {method for method, _ in OPERATIONS} == {"GET", "POST"}


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_the_api_matrix(client, world, method, path):
    with time_machine.travel(TODAY, tick=False):
        # No token, a token that is not one, a revoked token: 401, and nothing audited.
        before = AuditEntry.objects.count()
        for token in ("", "cradle_not-a-token", world["gone"]):
            answer = _call(client, method, path, token, "health_visiting")
            assert answer.status_code == 401, (token[:10], answer.status_code)
        assert AuditEntry.objects.count() == before
        # Another agency: not found (a record said to be health visiting's, sent by the
        # police's system; a child the police are not working with).
        answer = _call(client, method, path, world["police"], "health_visiting")
        assert answer.status_code == 404, answer.content[:200]
        assert answer.json() == {"detail": "Not Found"}
        assert AuditEntry.objects.filter(actor="system:mx-police").count() == 1  # audited, once
        # The right system: an answer (the records may well be held, but never a 401/404/5xx).
        answer = _call(client, method, path, world["hv"], "health_visiting")
        assert answer.status_code in (200, 422), answer.content[:300]
        assert AuditEntry.objects.filter(actor="system:mx-hv").count() == 1
