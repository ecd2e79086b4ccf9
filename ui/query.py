"""The one place pages read the URL's query parameters: typed and checked.

A link is typed by anyone: `?id=12345678901234567890` overflowed the database's integer
and `?channel=%00` put a NUL character into a PostgreSQL query, both ending in a
traceback. Here every text parameter loses its NUL characters and is cut to a sane length,
and every id must be a whole number the databases can hold; an id that is not is refused
with a clear message (a `ValidationError` the page shows).
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.search_keys import SEARCH_MAX_CHARS
from ui.inputs import clean_text

# Every id column is an `integer`: PostgreSQL's is 32 bits, and SQLAlchemy casts the
# parameter to it, so a larger number fails with "integer out of range" (and past 2**63
# SQLite's driver overflows) before the database could answer "not found".
MAX_ID = 2**31 - 1
# No query parameter of ours is longer (a campaign, an ISO date, a split's code).
MAX_PARAM_CHARS = SEARCH_MAX_CHARS


def parse_id(name: str, text: str | None) -> int | None:
    """The id `text` (a query parameter called `name`) names; None for an empty one.

    Raise ValidationError `security.bad_id` when it is not a whole number from 1 to
    `MAX_ID` (letters, a sign, a fraction, zero, or too many digits)."""
    text = clean_text(text).strip()
    if not text:
        return None
    # isdecimal() also takes other scripts' digits, which int() reads; isascii() keeps
    # it to 0-9, so `12` is the only way to write twelve.
    if not (text.isascii() and text.isdecimal()) or len(text) > len(str(MAX_ID)):
        raise ValidationError(
            N_(
                "The link's “{name}” is not a valid number: it must be a whole number from 1 to {maximum}."
            ),
            name=name,
            maximum=MAX_ID,
        )
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise ValidationError(
            N_(
                "The link's “{name}” is not a valid number: it must be a whole number from 1 to {maximum}."
            ),
            name=name,
            maximum=MAX_ID,
        )
    return value


def query_text(name: str) -> str | None:
    """The text of query parameter `name`, without NUL characters and cut to
    `MAX_PARAM_CHARS`; None when the link has none."""
    raw = st.query_params.get(name)
    if raw is None:
        return None
    return clean_text(raw)[:MAX_PARAM_CHARS]


def query_id(name: str) -> int | None:
    """The id in query parameter `name` (`?id=12`), None when the link has none; raise
    ValidationError `security.bad_id` for anything else (see `parse_id`)."""
    return parse_id(name, st.query_params.get(name))


def query_params(ids: Iterable[str] = ()) -> tuple[dict[str, str], list[ValidationError]]:
    """Every query parameter as checked text, and why any of `ids` was dropped: those
    must be ids (see `parse_id`); a bad one is left out, so the page falls back to its
    default for it, and its refusal is returned for the page to show."""
    wanted = set(ids)
    params: dict[str, str] = {}
    refused: list[ValidationError] = []
    for name in st.query_params:
        text = query_text(name) or ""
        if name in wanted:
            try:
                value = parse_id(name, text)
            except ValidationError as error:
                refused.append(error)
                continue
            text = "" if value is None else str(value)
        params[clean_text(name)[:MAX_PARAM_CHARS]] = text
    return params, refused
