"""The JSON the intake API takes and answers, as pydantic models (they are the OpenAPI
document). Types and lengths only: whether a channel, a line or a phone is good is the
core intake's per-lead answer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_core.leads.intake import OUTCOME_STATUSES

MAX_BATCH = 500
# No NUL character: PostgreSQL text cannot hold one.
_PLAIN = r"^[^\x00]*$"


def _text(limit: int, *, required: bool = False):
    return Annotated[
        str if required else str | None,
        Field(
            default=... if required else None,
            max_length=limit,
            min_length=1 if required else None,
            pattern=_PLAIN,
        ),
    ]


Code = Annotated[str, Field(min_length=1, max_length=60, pattern=_PLAIN)]
CustomValue = (
    str | float | bool | list[Annotated[str, Field(max_length=200, pattern=_PLAIN)]] | None
)


class Transcript(BaseModel):
    """A chat conversation: its summary and a link to the whole transcript."""

    model_config = ConfigDict(extra="forbid")

    summary: _text(2000) = None
    url: _text(1000) = None


class LeadIn(BaseModel):
    """One lead from a web form, a chat widget or an ad platform's lead form."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Li Lei",
                    "phone": "13812345678",
                    "external_id": "form-2026-000123",
                    "channel": "baidu_sem",
                    "campaign": "kaoyan-spring",
                    "landing_page": "https://example.com/kaoyan",
                    "business_lines": ["kaoyan"],
                    "custom_fields": {"exam_year": "2027"},
                }
            ]
        },
    )

    name: _text(120, required=True)
    phone: _text(40) = None
    external_id: _text(80) = Field(
        default=None,
        description="The source's own id of this lead: a retry with the same id is answered"
        " as a duplicate and writes nothing.",
    )
    email: _text(200) = None
    wechat: _text(80) = None
    qq: _text(20) = None
    channel: _text(60, required=True)
    campaign: _text(120) = None
    landing_page: _text(400) = None
    keyword: _text(120) = None
    region: _text(80) = None
    city: _text(80) = None
    business_lines: list[Code] = Field(min_length=1, max_length=20)
    tags: list[Annotated[str, Field(max_length=60, pattern=_PLAIN)]] = Field(
        default_factory=list, max_length=20
    )
    custom_fields: dict[Annotated[str, Field(max_length=80)], CustomValue] = Field(
        default_factory=dict,
        max_length=50,
        description="Custom field values by code; `opportunity.<code>` for an opportunity's.",
    )
    transcript: Transcript | None = None


class LeadBatchIn(BaseModel):
    """Up to 500 leads in one request; each is answered on its own."""

    model_config = ConfigDict(extra="forbid")

    leads: list[LeadIn] = Field(min_length=1, max_length=MAX_BATCH)


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Every refusal: a code, a message in the request's language and the field at fault."""

    error: ErrorDetail


class CollisionOut(BaseModel):
    """An open opportunity the person already has on a line: the inquiry was logged on it."""

    business_line: str
    opportunity_id: int | None = None


class LeadAnswer(BaseModel):
    """What happened to one lead. `created`: a new lead; `added_line`: a known person, a new
    opportunity; `collision`: every line already open (logged there); `duplicate`: sent
    before (same external id) or repeated in the batch; `rejected`: see `error`."""

    index: int
    status: Literal[OUTCOME_STATUSES]  # type: ignore[valid-type]
    lead_id: int | None = None
    opportunity_ids: list[int] = Field(default_factory=list)
    collisions: list[CollisionOut] = Field(default_factory=list)
    duplicate_of: int | None = None
    error: ErrorDetail | None = None


class BatchAnswer(BaseModel):
    leads: list[LeadAnswer]
    counts: dict[str, int]


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: bool
