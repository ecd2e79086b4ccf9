"""The two intake endpoints' work: authenticate and count the key, claim the
`Idempotency-Key`, take the leads in through the core in one transaction, keep the answer,
and hand the new opportunities to this process's dispatch on arrival (`crm_api.arrivals`),
which dispatches them in a transaction of their own right after the commit."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crm_api.answers import api_lead, lead_answer, single_status
from crm_api.errors import TOO_MANY, ApiError, error_body, language_of
from crm_api.schemas import LeadIn
from crm_core.leads.api_idempotency import (
    IdempotencyConflict,
    KeptAnswer,
    body_hash,
    claim_request,
    keep_answer,
)
from crm_core.leads.api_intake import AT_THE_SAME_MOMENT, OutsideKeyScope, receive_leads
from crm_core.leads.api_keys import (
    KEY_REFUSED,
    ApiGrant,
    KeyRefused,
    authenticate_key,
    count_request,
)
from crm_core.leads.intake import OUTCOME_STATUSES
from crm_core.platform.errors import ValidationError

log = logging.getLogger("crm_api")
ATTEMPTS = 3  # a race on the same person is retried; the retry finds the stored lead


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def grant_for(request: Request, token: str | None) -> ApiGrant:
    """The key's grant, counted against its per-minute limit (401, 429)."""
    with Session(engine_of(request), expire_on_commit=False) as session:
        try:
            grant = authenticate_key(session, token)
        except KeyRefused:
            raise ApiError(401, KEY_REFUSED, headers={"WWW-Authenticate": "Bearer"}) from None
        wait = count_request(session, grant)
        if wait is not None:
            session.rollback()
            raise ApiError(429, TOO_MANY, headers={"Retry-After": str(wait)}, seconds=wait)
        session.commit()
    return grant


def _replay(kept: KeptAnswer) -> JSONResponse:
    return JSONResponse(kept.body, kept.status_code, headers={"Idempotent-Replayed": "true"})


def take_leads(
    request: Request,
    grant: ApiGrant,
    items: list[LeadIn],
    idempotency_key: str | None,
    *,
    single: bool,
) -> JSONResponse:
    """Take `items` in and answer: one lead (`single`) or a batch."""
    language = language_of(request)
    engine = engine_of(request)
    payload = [item.model_dump(mode="json") for item in items]
    request_hash = body_hash({"single": single, "leads": payload})
    leads = [api_lead(item) for item in items]
    for attempt in range(ATTEMPTS):
        with Session(engine, expire_on_commit=False) as session:
            try:
                if idempotency_key is not None:
                    kept = claim_request(session, grant, idempotency_key, request_hash)
                    if kept is not None:
                        session.rollback()
                        return _replay(kept)
                result = receive_leads(session, grant, leads)
                answers = [lead_answer(o, language) for o in result.outcomes]
                if single:
                    status = single_status(result.outcomes[0])
                    body = answers[0]
                    if status == 422:
                        refusal = answers[0]["error"]
                        body = error_body("rejected", refusal["message"], refusal["field"])
                else:
                    status = 200
                    counts = {s: 0 for s in OUTCOME_STATUSES}
                    for outcome in result.outcomes:
                        counts[outcome.status] += 1
                    body = {"leads": answers, "counts": counts}
                if idempotency_key is not None:
                    keep_answer(session, grant, idempotency_key, status, body)
                session.commit()
            except IdempotencyConflict as error:
                session.rollback()
                raise ApiError(409, error.key, field="Idempotency-Key") from None
            except OutsideKeyScope as error:
                session.rollback()
                params = dict(error.params)
                index, field = params.pop("index"), params.pop("field")
                where = field if single else f"leads[{index}].{field}"
                where = where.replace("business_line_codes", "business_lines")
                raise ApiError(403, error.key, field=where, params=params) from None
            except ValidationError as error:
                session.rollback()
                if error.key != AT_THE_SAME_MOMENT:
                    field = error.params.get("field")
                    raise ApiError(422, error.key, field=field, params=error.params) from None
                if attempt + 1 < ATTEMPTS:
                    continue  # the retry finds the person the other request stored
                raise ApiError(409, error.key) from None
        request.app.state.arrivals.hand_over(result.new_opportunity_ids)
        return JSONResponse(body, status)
    raise ApiError(409, AT_THE_SAME_MOMENT)  # unreachable: the last attempt raises
