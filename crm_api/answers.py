"""The core's per-lead outcomes as the API answers them."""

from __future__ import annotations

from crm_api.schemas import LeadIn
from crm_core.leads.api_intake import ApiLead
from crm_core.leads.intake import ADDED_LINE, CREATED, REJECTED, IntakeOutcome, LeadInput
from crm_core.platform.i18n import translate

# The core's names of a lead's fields -> the API's.
FIELD_NAMES = {"business_line_codes": "business_lines"}


def field_name(core_field: str | None) -> str | None:
    return FIELD_NAMES.get(core_field or "", core_field)


def api_lead(item: LeadIn) -> ApiLead:
    """A request's lead as the core takes it."""
    return ApiLead(
        lead=LeadInput(
            name=item.name,
            phone=item.phone,
            external_id=item.external_id,
            channel=item.channel,
            campaign=item.campaign,
            landing_page=item.landing_page,
            keyword=item.keyword,
            region=item.region,
            city=item.city,
            email=item.email,
            wechat=item.wechat,
            qq=item.qq,
            business_line_codes=list(item.business_lines),
            tags=list(item.tags),
        ),
        transcript_summary=item.transcript.summary if item.transcript else None,
        transcript_url=item.transcript.url if item.transcript else None,
        custom_fields=dict(item.custom_fields),
    )


def lead_answer(outcome: IntakeOutcome, language: str) -> dict:
    """One lead's answer: its status, the ids the source may know, the reason of a refusal."""
    error = None
    if outcome.status == REJECTED:
        error = {
            "code": "rejected",
            "message": translate(outcome.reason or "", language, **outcome.params),
            "field": field_name(outcome.field),
        }
    return {
        "index": outcome.index,
        "status": outcome.status,
        "lead_id": outcome.lead_id,
        "opportunity_ids": list(outcome.opportunity_ids),
        "collisions": [
            {"business_line": c.business_line_code, "opportunity_id": c.opportunity_id}
            for c in outcome.collisions
        ],
        "duplicate_of": outcome.duplicate_of,
        "error": error,
    }


def single_status(outcome: IntakeOutcome) -> int:
    """201 for a new lead or opportunity, 422 for a refusal, 200 otherwise."""
    if outcome.status in (CREATED, ADDED_LINE):
        return 201
    return 422 if outcome.status == REJECTED else 200
