"""Masked contact details - phone, e-mail, WeChat id, QQ number - and the logged act of
revealing one.

Everyone without `view_full_phone` ("see full contact details": one permission for all four,
see docs/security.md) sees them masked. `mask_phone` is the one function every list, card,
search result, export, import report and audit entry masks numbers through: every number
shows at most half of its national digits - its last four at most, then at most three at its
start - so a mainland mobile reads `1****5678` and a short number (Hong Kong, Singapore,
Estonia: 7-8 digits) keeps at least as many digits hidden as shown. The stars are always
four, so a mask does not tell the number's length either.

The other contact values mask through `mask_contact`: an e-mail keeps the first character of
its name and its domain (`z***@example.com`), a WeChat id or QQ number keeps a little of its
head and tail as a number does (`wxi****3xyz`, `1****789`) - at most half of it, never a
short one. `display_contact` is what a reader sees of any of the four.

Revealing a full value is a separate, explicit action (`reveal_contact`, `reveal_phone`):
anyone holding `view_leads` may reveal a contact value of a lead in their own scope - a rep
calling or adding their own lead needs it - and every reveal is written to the audit log
(`phone.unmask` for the number, `contact.unmask` for the others; target the lead, the field
in the entry), also for users who could see it anyway. The audit entry holds no value, only
who revealed which field of which lead when.
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
# The lead's contact fields, each masked for readers without the permission.
CONTACT_FIELDS = ("phone", "email", "wechat", "qq")
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


def mask_email(email: str | None) -> str:
    """`z***@example.com`: the first character of the name (none of a one-character name),
    the domain whole; a value without `@` masks as a WeChat id does; "" for none."""
    if not email:
        return ""
    text = email.strip()
    name, at, domain = text.rpartition("@")
    if not at or not name or not domain:
        return mask_handle(text)
    return (name[0] if len(name) > 1 else "") + "***@" + domain


def mask_handle(handle: str | None) -> str:
    """A WeChat id or QQ number with its head and tail, like a number: at most half of it,
    at most 3 characters of the start and 4 of the end, and nothing of one shorter than 4
    (`wxi****3xyz`, `1****789`); "" for none."""
    if not handle:
        return ""
    text = handle.strip()
    budget = len(text) // 2
    if budget < 2:
        return MASK
    tail = min(SHOWN_TAIL, budget - 1)
    head = min(SHOWN_HEAD, budget - tail)
    return text[:head] + MASK + text[len(text) - tail :]


def mask_contact(field: str, value: str | None) -> str:
    """`value` of the contact field `field` (one of CONTACT_FIELDS) masked; "" for none."""
    if field == "phone":
        return mask_phone(value)
    if field == "email":
        return mask_email(value)
    if field in ("wechat", "qq"):
        return mask_handle(value)
    raise ValueError(f"not a contact field: {field}")


def sees_full_contact(actor: Actor) -> bool:
    """Whether `actor` sees contact values whole (the permission `view_full_phone`)."""
    return actor.can(Permission.VIEW_FULL_PHONE)


def display_contact(actor: Actor, field: str, value: str | None) -> str:
    """A contact value as `actor` may see it in lists, cards, exports and reports: whole
    only with view_full_phone; "" for none."""
    if not value:
        return ""
    return value if sees_full_contact(actor) else mask_contact(field, value)


def display_phone(actor: Actor, e164: str | None) -> str:
    """The number as `actor` may see it in lists and cards: full only with view_full_phone."""
    return display_contact(actor, "phone", e164)


def reveal_phone(session: Session, actor: Actor, lead_id: int) -> str:
    """The full number of a lead in the actor's scope; writes `phone.unmask` and flushes.
    `reveal_contact` for the phone; see there."""
    return reveal_contact(session, actor, lead_id, "phone")


_NOTHING_TO_SHOW = {
    "phone": N_("This lead has no phone number."),
    "email": N_("This lead has no e-mail address."),
    "wechat": N_("This lead has no WeChat id."),
    "qq": N_("This lead has no QQ number."),
}


def reveal_contact(session: Session, actor: Actor, lead_id: int, field: str) -> str:
    """The full value of the contact field `field` (phone, email, wechat, qq) of a lead in
    the actor's scope; writes the audit entry (`phone.unmask`, or `contact.unmask` with the
    field) and flushes.

    No number may be shown without its audit entry being stored, and the core does not
    commit (the caller owns the transaction): so the caller commits BEFORE it shows or
    hands out the number, and drops the number if the commit fails. The console's pages
    keep the value only after `ui.db.session()` has committed (`ui/lead_card.py`,
    `pages/sales/opportunity.py`). A lead outside the scope does not exist (NotFound); a
    lead without the value, or a field that is no contact field, raises ValidationError and
    logs nothing.
    """
    actor.require(Permission.VIEW_LEADS)
    if field not in CONTACT_FIELDS:
        raise ValidationError(N_("{field} is no contact detail of a lead."), field=field)
    column = getattr(Lead, field)
    row = session.exec(
        select(Lead.id, column).where(Lead.id == lead_id, lead_scope(actor, per_lead=True))
    ).first()
    if row is None:
        raise NotFound(entity="lead", id=lead_id)
    value = row[1]
    if not value:
        raise ValidationError(_NOTHING_TO_SHOW[field])
    if field == "phone":
        # The action phone reveals have always been logged under.
        audit.record(session, actor, "phone.unmask", "lead", lead_id)
    else:
        audit.record(session, actor, "contact.unmask", "lead", lead_id, None, {"field": field})
    session.flush()
    return value
