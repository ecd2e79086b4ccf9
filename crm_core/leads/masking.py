"""Masked phone numbers, and the logged act of revealing one.

Everyone without `view_full_phone` sees numbers masked by `mask_phone`, the one function every
list, card, search result, export, import report and audit entry masks through: every number
shows at most half of its national digits - its last four at most, then at most three at its
start - so a mainland mobile reads `1****5678` and a short number (Hong Kong, Singapore,
Estonia: 7-8 digits) keeps at least as many digits hidden as shown. The stars are always
four, so a mask does not tell the number's length either.

Revealing a full number is a separate, explicit action (`reveal_phone`): anyone holding
`view_leads` may reveal the number of a lead in their own scope - a rep calling their own
lead needs it - and every reveal is written to the audit log (`phone.unmask`, target the
lead), also for users who could see it anyway. The audit entry holds no number, only who
revealed which lead when.
"""

from __future__ import annotations

import phonenumbers
from sqlmodel import Session, select

from crm_core.leads.phones import normalise_phone
from crm_core.models import Lead
from crm_core.org.access import lead_scope
from crm_core.platform import audit
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission

MASK = "****"
# What a mask may show of a number that is no mainland mobile: its end first (people know a
# number by its last digits, and search by the last four), then a little of its start.
SHOWN_TAIL = 4
SHOWN_HEAD = 3


def _split(e164: str) -> tuple[str, str] | None:
    """(country code, national number) of an E.164 string, or None if it is not one.

    The national number is the stored digits after the country code, not the library's
    reading of them (which may add digits, e.g. Madagascar's "20"): a mask shows only what
    is stored. Country codes are prefix-free, so the first known one of 1-3 digits is it."""
    digits = e164[1:]
    if not e164.startswith("+") or not (digits.isascii() and digits.isdigit()) or digits[0] == "0":
        return None
    for length in (1, 2, 3):
        code = e164[1 : 1 + length]
        if int(code) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code, e164[1 + length :]
    return None


def _ends(digits: str) -> tuple[str, str]:
    """The start and the end of `digits` a mask may show: together at most half of them."""
    budget = len(digits) // 2
    tail = min(SHOWN_TAIL, budget)
    head = min(SHOWN_HEAD, budget - tail)
    return digits[:head], digits[len(digits) - tail :]


def mask_phone(e164: str | None) -> str:
    """At most half of the national digits of a number, its end first: `1****5678` for a
    mainland mobile, `+852 ****4567`, `+44 2****0958`; "" for no number."""
    if not e164:
        return ""
    parts = _split(e164)
    if parts is None:
        # Not E.164 (should not be stored, but never show it whole): the end of its digits,
        # and nothing of a scrap too short to be any number.
        digits = "".join(ch for ch in e164 if ch.isdigit())
        return MASK + _ends(digits)[1] if len(digits) > 6 else MASK
    country, national = parts
    head, tail = _ends(national)
    shown = head + MASK + tail
    return shown if country == "86" else f"+{country} {shown}"


def mask_any_phone(text: str | None) -> str:
    """A number as a user typed it, masked: normalised first when it reads as a phone, so a
    valid number masks exactly like a stored one."""
    if not text:
        return ""
    e164 = normalise_phone(text)
    return mask_phone(e164 or text)


def display_phone(actor: Actor, e164: str | None) -> str:
    """The number as `actor` may see it in lists and cards: full only with view_full_phone."""
    if not e164:
        return ""
    if actor.can(Permission.VIEW_FULL_PHONE):
        return e164
    return mask_phone(e164)


def reveal_phone(session: Session, actor: Actor, lead_id: int) -> str:
    """The full number of a lead in the actor's scope; writes `phone.unmask` and flushes.

    No number may be shown without its audit entry being stored, and the core does not
    commit (the caller owns the transaction): so the caller commits BEFORE it shows or
    hands out the number, and drops the number if the commit fails. The console's pages
    keep the number only after `ui.db.session()` has committed (`ui/lead_card.py`,
    `pages/sales/opportunity.py`). A lead outside the scope does not exist (NotFound); a
    lead without a phone raises ValidationError and logs nothing.
    """
    actor.require(Permission.VIEW_LEADS)
    row = session.exec(
        select(Lead.id, Lead.phone).where(Lead.id == lead_id, lead_scope(actor, per_lead=True))
    ).first()
    if row is None:
        raise NotFound(entity="lead", id=lead_id)
    phone = row[1]
    if phone is None:
        raise ValidationError(N_("This lead has no phone number."))
    audit.record(session, actor, "phone.unmask", "lead", lead_id)
    session.flush()
    return phone
