"""The lead intake API: FastAPI over the core's one intake path.

`POST /v1/leads` takes one lead, `POST /v1/leads:batch` up to 500; `GET /v1/health` says
whether the database answers; `/openapi.json` describes it all. A source authenticates with
its API key (`Authorization: Bearer crm_...` or `X-API-Key`). The shell parses, calls
`crm_core` and answers JSON: no SQL, no rules here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm_api.arrivals import Arrivals
from crm_api.errors import ApiError, on_api_error, on_fault, on_http_error, on_invalid
from crm_api.intake import engine_of, grant_for, take_leads
from crm_api.limits import BODY_LIMIT, BodyChecks
from crm_api.providers import router as provider_callbacks
from crm_api.schemas import BatchAnswer, ErrorBody, Health, LeadAnswer, LeadBatchIn, LeadIn
from crm_core.leads.api_idempotency import KEY_LIMIT
from crm_core.leads.api_keys import ApiGrant
from db.engine import get_engine

_bearer = HTTPBearer(auto_error=False, description="The source's API key: `crm_<prefix>_<secret>`.")


def _refusals(*codes: int) -> dict:
    return {code: {"model": ErrorBody} for code in codes}


_INTAKE_REFUSALS = _refusals(401, 403, 409, 413, 415, 422, 429, 500)


def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_api_key: Annotated[str | None, Header(alias="X-API-Key", max_length=200)] = None,
) -> ApiGrant:
    """The calling source's grant (401 without a good key, 429 over its limit)."""
    token = credentials.credentials if credentials is not None else x_api_key
    return grant_for(request, token)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=KEY_LIMIT,
        description="Any unique string per request: a retry with the same key and body gets"
        " the first answer back; the same key with another body is refused (409).",
    ),
]


def create_app(engine: Engine | None = None) -> FastAPI:
    """The API over `engine` (default: the configured database)."""
    app = FastAPI(
        title="CRM lead intake API",
        version="1",
        description="Leads from web forms, chat widgets and ad platforms. See docs/api.md.",
    )
    app.state.engine = engine if engine is not None else get_engine()
    app.state.arrivals = Arrivals(app.state)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_fault)
    app.add_middleware(BodyChecks, limit=BODY_LIMIT)
    app.include_router(provider_callbacks)

    @app.post(
        "/v1/leads",
        response_model=LeadAnswer,
        status_code=201,
        responses={200: {"model": LeadAnswer}, **_INTAKE_REFUSALS},
        summary="Take in one lead",
    )
    def post_lead(
        lead: LeadIn,
        request: Request,
        grant: Annotated[ApiGrant, Depends(authenticated)],
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """201 for a new lead or opportunity, 200 for a collision or a duplicate, 422 when
        the lead is refused (the body says why and which field)."""
        return take_leads(request, grant, [lead], idempotency_key, single=True)

    @app.post(
        "/v1/leads:batch",
        response_model=BatchAnswer,
        responses=_INTAKE_REFUSALS,
        summary="Take in up to 500 leads",
    )
    def post_leads(
        batch: LeadBatchIn,
        request: Request,
        grant: Annotated[ApiGrant, Depends(authenticated)],
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """One answer per lead, in order; a refused lead does not stop the others."""
        return take_leads(request, grant, batch.leads, idempotency_key, single=False)

    @app.get(
        "/v1/health", response_model=Health, responses={503: {"model": Health}}, summary="Health"
    )
    def health(request: Request) -> JSONResponse:
        """Whether the service and its database answer."""
        try:
            with Session(engine_of(request)) as session:
                session.exec(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means the database is unavailable
            return JSONResponse({"status": "unavailable", "database": False}, 503)
        return JSONResponse({"status": "ok", "database": True}, 200)

    return app
