"""A retried request never takes a lead in twice: the `Idempotency-Key` returns the first
answer (409 for another body), and the source's external id answers `duplicate` without a
second lead or a second inquiry note - also when the retries arrive at the same moment."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select

from crm_api.app import create_app
from crm_core.models import FollowUp, Lead, Opportunity
from crm_core.platform import clock
from tests.api_world import build_api_world, lead

THREADS = 6


@pytest.fixture
def world(committed_db, engine):
    clock.freeze(datetime(2027, 3, 2, 2, 0))
    world = build_api_world(committed_db, engine)
    yield world
    world.settle()  # nothing left dispatching into the next test
    clock.reset()


def _count(session, model) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def test_the_same_key_and_body_get_the_first_answer(world, committed_db):
    first = world.post(lead(1), **{"Idempotency-Key": "order-1"})
    again = world.post(lead(1), **{"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(committed_db, Lead) == 1 and _count(committed_db, FollowUp) == 0


def test_the_same_key_with_another_body_is_409(world):
    world.post(lead(1), **{"Idempotency-Key": "order-1"})
    answer = world.post(lead(2), **{"Idempotency-Key": "order-1"})
    assert answer.status_code == 409
    assert answer.json()["error"]["field"] == "Idempotency-Key"


def test_a_batch_is_replayed_whole(world, committed_db):
    first = world.batch([lead(1), lead(2)], **{"Idempotency-Key": "b-1"})
    again = world.batch([lead(1), lead(2)], **{"Idempotency-Key": "b-1"})
    assert again.json() == first.json() and _count(committed_db, Lead) == 2


def test_a_retry_by_external_id_writes_nothing(world, committed_db):
    world.post(lead(1))  # the person is known by phone
    first = world.post(lead(1, external_id="ad-77"))  # their new inquiry: one note
    assert first.json()["status"] == "collision"
    again = world.post(lead(1, external_id="ad-77"))  # the ad platform retries
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["lead_id"] == first.json()["lead_id"]
    assert _count(committed_db, Lead) == 1 and _count(committed_db, FollowUp) == 1


def test_a_refused_lead_may_be_sent_again_corrected(world, committed_db):
    refused = world.post(lead(1, phone="12", external_id="ad-9"))
    assert refused.status_code == 422
    again = world.post(lead(1, external_id="ad-9"))
    assert again.status_code == 201 and again.json()["status"] == "created"
    assert world.post(lead(1, external_id="ad-9")).json()["status"] == "duplicate"


def _fire(world, body, headers, path="/v1/leads"):
    """The same request from several threads at once, each with its own client."""
    app = create_app(world.client.app.state.engine)

    def send(_):
        with TestClient(app, raise_server_exceptions=False) as client:
            return client.post(path, json=body, headers={**world.headers, **headers})

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(send, range(THREADS)))
    assert app.state.arrivals.settle(5.0)  # nothing left dispatching into the next test
    return answers


def test_concurrent_retries_with_the_header_make_one_lead(world, committed_db):
    answers = _fire(world, lead(1), {"Idempotency-Key": "same"})
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    assert len({a.json()["lead_id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == THREADS - 1
    assert _count(committed_db, Lead) == 1 and _count(committed_db, Opportunity) == 1


def test_concurrent_retries_by_external_id_make_one_lead_and_no_second_note(world, committed_db):
    answers = _fire(world, lead(1, external_id="ad-1"), {})
    assert sorted(a.status_code for a in answers) == [200] * (THREADS - 1) + [201], [
        a.text for a in answers
    ]
    assert sorted(a.json()["status"] for a in answers) == ["created"] + ["duplicate"] * (
        THREADS - 1
    )
    assert _count(committed_db, Lead) == 1 and _count(committed_db, Opportunity) == 1
    # A known person's new inquiry, retried at once: one note on their opportunity.
    answers = _fire(world, lead(1, external_id="ad-2"), {})
    assert sorted(a.json()["status"] for a in answers) == ["collision"] + ["duplicate"] * (
        THREADS - 1
    )
    assert _count(committed_db, FollowUp) == 1
