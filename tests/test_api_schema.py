"""The intake API against its own OpenAPI document (schemathesis): generated requests -
bounded in number, the same on every run - never meet a server error, and every answer
(status, content type, body) is one the document describes.

Not checked: that every schema-valid lead is accepted. The document gives types and
lengths; whether a phone, a channel or a custom field is good is the intake's answer per
lead (a refused single lead is a 422 that names its field), as for every other entrance."""

from __future__ import annotations

from datetime import datetime

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crm_api.app import create_app
from crm_core.platform import clock
from db.engine import build_engine
from tests.api_world import build_api_world

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The document does not depend on the database: the app is pointed at the suite's
# database by the fixture below, before the first generated request.
APP = create_app(build_engine("sqlite://"))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture
def world(committed_db, engine):
    clock.freeze(datetime(2027, 3, 2, 2, 0))
    placeholder = APP.state.engine
    APP.state.engine = engine
    world = build_api_world(committed_db, engine, requests_per_minute=100_000)
    world.client = TestClient(APP, raise_server_exceptions=False)  # the app schemathesis calls
    yield world
    APP.state.engine = placeholder
    clock.reset()


@schema.parametrize()
@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_document(case, world):
    case.call_and_validate(headers=world.headers, checks=CHECKS)
    world.settle()
