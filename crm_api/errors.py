"""One JSON body for every refusal, `{"error": {"code", "message", "field"}}`, with the
message in the request's language (`Accept-Language: zh` answers in Chinese, English by
default). No stack trace ever leaves the service: anything unexpected is logged and
answered as a plain 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm_core.platform.i18n import N_, translate

log = logging.getLogger("crm_api")

LANGUAGES = ("en", "zh")

BAD_INPUT = N_("The request does not fit the API: {detail}")
NOT_JSON = N_("Send the body as JSON (Content-Type: application/json).")
TOO_LARGE = N_("The request body is larger than {limit} bytes.")
TOO_MANY = N_("Too many requests for this API key; try again in {seconds} s.")
SERVER_FAULT = N_("Something went wrong on our side; the request was not taken in.")
NOT_FOUND = N_("There is nothing at this address.")
WRONG_METHOD = N_("This address does not take this method.")
UNREADABLE = N_("The body cannot be read as JSON.")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
}


def language_of(request: Request) -> str:
    """The first language of `Accept-Language` that the API speaks; English otherwise."""
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return "en"


class ApiError(Exception):
    """A refusal: HTTP status, message (a catalogue msgid) with its params, the field."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        **more: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code or _CODES.get(status, "error")
        self.headers = headers
        # The message's fields (`params` may hold one named `field`, as core errors do).
        self.params = {**(params or {}), **more}


def error_body(code: str, message: str, field: str | None) -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(
    language: str,
    status: int,
    message: str,
    *,
    field: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    **more: Any,
) -> JSONResponse:
    text = translate(message, language, **{**(params or {}), **more})
    return JSONResponse(
        error_body(code or _CODES.get(status, "error"), text, field), status, headers=headers
    )


def _field_of(location: tuple) -> str | None:
    """`("body", "leads", 3, "phone")` -> `leads[3].phone`."""
    parts = [p for p in location[1:]] if location[:1] in (("body",), ("header",)) else []
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


async def on_api_error(request: Request, error: ApiError) -> JSONResponse:
    return error_response(
        language_of(request),
        error.status,
        error.message,
        field=error.field,
        code=error.code,
        headers=error.headers,
        params=error.params,
    )


async def on_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
    first = (error.errors() or [{}])[0]
    detail = str(first.get("msg", ""))[:200]
    return error_response(
        language_of(request),
        422,
        BAD_INPUT,
        # A body that is no JSON at all has no field (its location is a position).
        field=None
        if first.get("type") == "json_invalid"
        else _field_of(tuple(first.get("loc", ()))),
        detail=detail,
    )


async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    if error.status_code == 400:  # a body that is not even text: as any body that is no JSON
        return error_response(language_of(request), 422, UNREADABLE)
    message = {404: NOT_FOUND, 405: WRONG_METHOD}.get(error.status_code, SERVER_FAULT)
    return error_response(language_of(request), error.status_code, message)


async def on_fault(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(language_of(request), 500, SERVER_FAULT)
