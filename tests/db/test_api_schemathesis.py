"""Schemathesis against the OpenAPI description the API serves, every operation included:
no server error, every answer in the description (status, content type, body), and the
same call without a token, or with a revoked one, refused with 401.

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

from cradle.feeds import tokens
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
    _row, revoked = tokens.add("st-revoked", "health_visiting")
    tokens.revoke("st-revoked")
    return {"good": good, "revoked": revoked}


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
