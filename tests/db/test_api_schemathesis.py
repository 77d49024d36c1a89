"""Schemathesis against the OpenAPI description the API serves, every operation included:
no server error, every answer in the description (status, content type, body), and the
same call without a token, or with a revoked one, refused with 401, and with another
agency's token refused (404, "not found").

Bounded so that the file runs in well under a minute: few examples per operation,
derandomised, no deadline.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.prepare import get_exclude_headers

from cradle.feeds import tokens
from cradle.feeds.ingest import Item, apply_batch
from cradle.feeds.store import keep_bytes
from cradle.records import models as m

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CHILD_NHS = "9434765919"


def _load():
    from django.core.wsgi import get_wsgi_application

    # The description as the application serves it (reading it touches no database).
    return schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


schema = _load()


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Schemathesis calls the WSGI application itself, whose request signals close the
    database connection (and with it the test's transaction, on PostgreSQL); Django's
    own test client unhooks them the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def systems(db):
    """A health visiting system working with one family (so its child's alerts can be read),
    and a revoked one."""
    today = date.today()
    family = m.Family.objects.create(reference="st", origin=today - timedelta(days=30))
    baby = m.Person.objects.create(
        source_key="st/baby", nhs_number=CHILD_NHS, born_on=family.origin
    )
    m.FamilyMember.objects.create(family=family, person=baby, role="child", label="baby")
    visit = m.Contact.objects.create(
        source_key="st/visit", agency="health_visiting", kind="home_visit", outcome="attended",
        occurred_on=today - timedelta(days=3), recorded_on=today - timedelta(days=3),
    )  # fmt: skip
    visit.subjects.add(baby)
    _row, good = tokens.add("st-hv", "health_visiting")
    # The system's own baby and mother, so that well-formed submissions can be taken.
    message, _ = keep_bytes(
        b"fixture", source_system="st-hv", agency="health_visiting", channel="api"
    )
    apply_batch(
        [
            Item(
                "1",
                "person",
                b"",
                {"source_id": "st-b", "role": "child", "born_on": str(family.origin)},
            ),
            Item("2", "person", b"", {"source_id": "st-m", "role": "mother", "child": "st-b"}),
        ],
        agency="health_visiting",
        message=message,
        today=today,
    )
    _row, revoked = tokens.add("st-revoked", "health_visiting")
    tokens.revoke("st-revoked")
    _row, police = tokens.add("st-police", "police")
    return {"good": good, "revoked": revoked, "police": police}


@schema.parametrize()
@settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_described_and_refuses_without_a_valid_token(case, systems):
    if "nhs_number" in (case.path_parameters or {}) and case.path_parameters["nhs_number"] == "":
        case.path_parameters["nhs_number"] = CHILD_NHS
    for headers in ({}, {"Authorization": f"Bearer {systems['revoked']}"}):
        response = case.call(headers=headers)
        # Schemathesis also tries methods the operation does not have: those are 405.
        expected = 401 if case.method.upper() == case.operation.method.upper() else 405
        assert response.status_code == expected, (
            case.operation.label,
            case.method,
            response.status_code,
        )
        case.validate_response(response, checks=CHECKS, headers=headers)
    if (
        case.method.upper() == case.operation.method.upper()
        and "Authorization" not in get_exclude_headers(case)
    ):
        _a_well_formed_call_is_taken(case, systems["good"])
    # (Schemathesis's own negative cases may leave the Authorization header out whatever
    # is passed: those are the unauthenticated calls, answered 401 above.)
    if (
        case.method.upper() == case.operation.method.upper()
        and "Authorization" not in get_exclude_headers(case)
    ):
        _wrong_scope_is_refused(case, systems["police"])
    # Last: a check may probe the operation with other methods through this case.
    case.call_and_validate(headers={"Authorization": f"Bearer {systems['good']}"}, checks=CHECKS)


def test_the_description_covers_every_operation_of_the_api():
    from cradle.feeds.api import api

    described = {
        (method.upper(), path)
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    routed = {
        (method, "/api" + (prefix + path).replace("//", "/"))
        for prefix, router in api._routers
        for path, view in router.path_operations.items()
        for op in view.operations
        for method in op.methods
    }
    assert routed and routed == described
    assert all(
        item.get("security") for ops in schema.raw_schema["paths"].values() for item in ops.values()
    )


def _wrong_scope_is_refused(case, token: str) -> None:
    """The police's system, for health visiting's records or a child the police are not
    working with: never taken, never a server error; "not found" whenever the request is
    well formed (a malformed one is refused as such first)."""
    import copy

    original = copy.deepcopy(case.body)
    if isinstance(case.body, dict):
        if case.operation.path.endswith("/fhir/Bundle"):
            tag = {"system": "urn:cradle:agency", "code": "health_visiting"}
            case.body = {**case.body, "meta": {"tag": [tag]}}
        else:
            case.body = {**case.body, "agency": "health_visiting"}
    try:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
    finally:
        case.body = original
    allowed = {404} if case.method.upper() == "GET" else {404, 400, 422}
    assert response.status_code in allowed, (case.operation.label, response.status_code)


def _valid(label: str) -> dict | None:
    on = str(date.today() - timedelta(days=1))
    return {
        "POST /api/people": {"source_id": "st-b2", "role": "child", "born_on": on},
        "POST /api/relationships": {"source_id": "st-r", "person": "st-m", "kind": "mother_of", "other": "st-b"},
        "POST /api/contacts": {
            "source_id": "st-c", "kind": "home_visit", "occurred_on": on, "outcome": "attended",
            "channel": "home_visit", "subjects": ["st-b", "st-m"], "seen": ["st-b"], "findings": ["persistent_crying"],
        },
        "POST /api/referrals": {"source_id": "st-f", "occurred_on": on, "subjects": ["st-b"], "to_agency": "childrens_social_care"},
        "POST /api/icon-deliveries": {
            "source_id": "st-i", "occurred_on": on, "subjects": ["st-b", "st-m"], "touchpoint": "postnatal", "delivered_to": ["st-m"],
        },
        "POST /api/assessments": {
            "source_id": "st-a", "occurred_on": on, "subjects": ["st-b", "st-m"], "seen": ["st-b"],
            "form_version": "1", "answers": {"bond": "good"},
        },
        "POST /api/fhir/Bundle": {
            "resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": {"resourceType": "Patient", "id": "st", "birthDate": on}}],
        },
    }.get(label)  # fmt: skip


ANSWERED = set()


def _a_well_formed_call_is_taken(case, token: str) -> None:
    """The same operation with a well-formed request: taken (200), and the answer as described."""
    import copy

    saved = (
        copy.deepcopy(case.body),
        copy.deepcopy(case.path_parameters),
        copy.deepcopy(case.query),
        case.media_type,
    )
    if case.operation.method.upper() == "POST":
        case.body, case.media_type = _valid(case.operation.label), "application/json"
    else:
        case.path_parameters = {"nhs_number": CHILD_NHS}
    case.query = {}
    try:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        case.validate_response(
            response, checks=CHECKS, headers={"Authorization": f"Bearer {token}"}
        )
    finally:
        case.body, case.path_parameters, case.query, case.media_type = saved
    assert response.status_code == 200, (
        case.operation.label,
        response.status_code,
        response.text[:300],
    )
    ANSWERED.add(case.operation.label)


def test_zz_every_operation_was_answered_200_as_described():
    """Runs after the Schemathesis test above (pytest keeps a file's order)."""
    assert {label for label in ANSWERED} == {
        f"{method} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in (m_.upper() for m_ in item)
    }
