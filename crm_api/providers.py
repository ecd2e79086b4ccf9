"""Callbacks of the company's outside providers, each request signed with the provider's
shared secret (`X-Signature`: hex HMAC-SHA256 of the body, `crm_core.platform.provider_http`):
the SMS platform's delivery reports and replies, and the call centre's call events. A
request without a good signature is refused (401) before anything is read; what the core
cannot use (an unknown message, a number that is no lead's, a repeated event) is counted in
the answer, not lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from crm_api.errors import UNREADABLE, ApiError
from crm_api.intake import engine_of
from crm_api.schemas import ErrorBody
from crm_core.calls.providers import call_provider_secret
from crm_core.calls.records import record_call_events
from crm_core.platform.actor import Actor
from crm_core.platform.i18n import N_
from crm_core.platform.provider_http import signature_matches
from crm_core.sms.delivery import record_replies, record_reports
from crm_core.sms.provider_config import provider_secret

BAD_SIGNATURE = N_("The request is not signed with this provider's secret.")
NO_LIST = N_("The body needs a list named {name}.")
MAX_ITEMS = 1000

router = APIRouter(
    prefix="/v1/providers",
    tags=["providers"],
    responses={code: {"model": ErrorBody} for code in (400, 401, 413, 415, 422, 500)},
)


async def _signed_items(request: Request, secret_of: Callable, name: str) -> list[dict]:
    body = await request.body()

    def secret() -> str | None:
        with Session(engine_of(request)) as session:
            return secret_of(session)

    stored = await run_in_threadpool(secret)
    if not stored or not signature_matches(stored, body, request.headers.get("x-signature")):
        raise ApiError(401, BAD_SIGNATURE)
    try:
        payload = json.loads(body or b"{}")
    except ValueError as exc:
        raise ApiError(400, UNREADABLE) from exc
    items = payload.get(name) if isinstance(payload, dict) else None
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise ApiError(422, NO_LIST, field=name, name=name)
    return [item for item in items if isinstance(item, dict)]


async def _apply(request: Request, work: Callable[[Session], dict]) -> JSONResponse:
    def run() -> dict:
        with Session(engine_of(request)) as session:
            answer = work(session)
            session.commit()
            return answer

    return JSONResponse(await run_in_threadpool(run), 200)


@router.post("/sms/reports", summary="SMS delivery reports")
async def sms_reports(request: Request) -> JSONResponse:
    """`{"reports": [{"message_id", "status": "delivered"|"failed", "error"}]}`."""
    items = await _signed_items(request, provider_secret, "reports")
    return await _apply(request, lambda s: asdict(record_reports(s, Actor.system(), items)))


@router.post("/sms/replies", summary="Replies to SMS")
async def sms_replies(request: Request) -> JSONResponse:
    """`{"replies": [{"from", "text"}]}`; opt-out words (TD, 退订, STOP) opt the lead out."""
    items = await _signed_items(request, provider_secret, "replies")
    return await _apply(request, lambda s: {"opted_out": record_replies(s, Actor.system(), items)})


@router.post("/calls/events", summary="Call-centre call events")
async def call_events(request: Request) -> JSONResponse:
    """`{"events": [{"call_id", "client_id", "event", "seat", "caller", "callee", times,
    "duration", "result", "recording_url"}]}` (docs/calls.md)."""
    items = await _signed_items(request, call_provider_secret, "events")
    return await _apply(
        request,
        lambda s: asdict(record_call_events(s, Actor.system(), items, source="callback")),
    )
