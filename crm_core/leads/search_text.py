"""How the lead library's search box reads its text, and the condition it puts on leads.

Four digits are the phone's last four; seven or more digits a whole phone (any common
spelling); anything else the start of a name, or an external id. Besides, a text that could
be one is also a whole e-mail (case ignored, as the intake compares them), WeChat id or QQ
number: matched on the stored value through its index, so a reader who sees these values
masked still finds the lead by the value they were given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from crm_core.leads.phones import normalise_phone
from crm_core.models import Lead
from crm_core.platform.search_keys import name_key, prefix_range

_PHONE_CHARS = re.compile(r"[\s\-()+.]")
# QQ numbers run from 5 digits (the oldest) to 11.
QQ_DIGITS = range(5, 12)
WECHAT_MAX = 80


@dataclass
class SearchText:
    """What a search text may be; None where it cannot be that."""

    suffix: str | None = None
    phone: str | None = None
    name_prefix: str | None = None
    external_id: str | None = None
    # Lower-cased, as `lower(email)` reads stored ones (every entrance strips them).
    email: str | None = None
    wechat: str | None = None
    qq: str | None = None


def read_search_text(text: str) -> SearchText:
    """What `text` (stripped, not empty) may be."""
    read = _identity(text)
    if not any(ch.isspace() for ch in text):
        if "@" in text:
            read.email = text.lower()
        if len(text) <= WECHAT_MAX:
            read.wechat = text
        if text.isascii() and text.isdigit() and len(text) in QQ_DIGITS:
            read.qq = text
    return read


def _identity(text: str) -> SearchText:
    """The phone, name and external id readings of `text`."""
    digits = _PHONE_CHARS.sub("", text)
    if digits.isdigit():
        # Imported web leads are often named by their number (`Lead Number` 660737): a
        # number also finds the leads whose name starts with it.
        name = name_key(text)
        if len(digits) == 4:
            return SearchText(suffix=digits, name_prefix=name)
        if len(digits) >= 7:
            phone = normalise_phone(text)
            return SearchText(phone=phone, external_id=text, name_prefix=name)
        return SearchText(external_id=text, name_prefix=name)
    # External ids carry digits ("OLD-1024"); a plain name is only a name.
    has_digit = any(c.isdigit() for c in text)
    return SearchText(name_prefix=name_key(text), external_id=text if has_digit else None)


def name_is(prefix: str | None) -> ColumnElement[bool]:
    """Leads whose name starts with `prefix` (a range on the name index)."""
    low, high = prefix_range(prefix or "")
    return and_(Lead.name_key >= low, Lead.name_key < high)


def text_condition(read: SearchText, *, walk_dates: bool) -> ColumnElement[bool]:
    """The leads `read` finds. `walk_dates`: a broad name read in date order, compared
    without its index so that the page walks the date index instead of sorting."""
    if read.suffix:
        found = or_(Lead.phone_suffix == read.suffix, name_is(read.name_prefix))
    elif read.phone:
        # A number that went into another lead by a merge finds that lead.
        merged = aliased(Lead)
        found = or_(
            Lead.phone == read.phone,
            Lead.external_id == read.external_id,
            Lead.id.in_(
                select(merged.merged_into_id).where(
                    merged.phone == read.phone, col(merged.merged_into_id).is_not(None)
                )
            ),
            name_is(read.name_prefix),
        )
    elif read.name_prefix:
        low, high = prefix_range(read.name_prefix)
        key = Lead.name_key.concat("") if walk_dates else Lead.name_key
        name = and_(key >= low, key < high)
        found = or_(name, Lead.external_id == read.external_id) if read.external_id else name
    else:
        found = Lead.external_id == read.external_id
    contacts: list[ColumnElement[bool]] = []
    if read.email:
        contacts.append(func.lower(Lead.email) == read.email)
    if read.wechat:
        contacts.append(Lead.wechat == read.wechat)
    if read.qq:
        contacts.append(Lead.qq == read.qq)
    return or_(found, *contacts) if contacts else found
