"""Phone numbers: one normal form (E.164) for every entrance, so one person is one lead.

`normalise_phone` is called for every row of a bulk import, so the common case - a mainland
mobile written with spaces, dashes or a +86 prefix - takes a fast path of string operations
(a few µs) instead of `phonenumbers.parse` (about 45 µs). The fast path only accepts
numbers whose leading digits the `phonenumbers` metadata holds valid for every subscriber
number (`_FAST_PREFIXES_*`, checked against the library by tests/test_phones.py); anything
else, including 11-digit numbers under unassigned or special prefixes (140, 154, 179 ...),
goes through the library, so both paths always give the same answer.
"""

from __future__ import annotations

import re

import phonenumbers

# Characters people put inside a number; removed before the fast-path match.
_SEPARATORS = str.maketrans("", "", " \t\u3000-().\u2010\u2011\u2012\u2013\u2014\u00a0")
# Leading digits of mainland mobiles (1[3-9]...) valid whatever the remaining digits are.
_FAST_PREFIXES_3 = frozenset(
    "130 131 132 133 134 135 136 137 138 139 145 147 150 151 152 153 155 156 157 158 159 "
    "162 165 166 167 170 171 172 173 175 176 177 178 180 181 182 183 184 185 186 187 188 "
    "189 190 191 192 193 195 196 197 198 199".split()
)
_FAST_PREFIXES_4 = frozenset({"1610"})
_FAST_PREFIXES_5 = frozenset({"17400", "17401", "17402", "17403", "17404", "17405"})
# phonenumbers refuses longer input anyway; a cap keeps junk cheap.
_MAX_INPUT = 64


def _fast_mainland(raw: str) -> str | None:
    """The 11 national digits when `raw` is plainly a valid mainland mobile, else None."""
    digits = raw.translate(_SEPARATORS)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    # isascii: str.isdigit also accepts full-width and other digits; those take the library.
    if len(digits) != 11 or not (digits.isascii() and digits.isdigit()):
        return None
    if (
        digits[:3] in _FAST_PREFIXES_3
        or digits[:4] in _FAST_PREFIXES_4
        or digits[:5] in _FAST_PREFIXES_5
    ):
        return digits
    return None


def normalise_phone(raw: str | None, default_region: str = "CN") -> str | None:
    """`raw` in E.164 (`+8613812345678`), or None when it is not a valid phone number.

    Numbers without a country code are read as numbers of `default_region`. Never raises.
    """
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    if not raw or len(raw) > _MAX_INPUT:
        return None
    national = _fast_mainland(raw)
    if national is not None:
        return "+86" + national
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_suffix(e164: str | None) -> str | None:
    """The last four digits, stored beside the number so "search by the last 4" is indexed."""
    if not e164:
        return None
    if e164[0] == "+" and e164[-4:].isdigit():  # E.164, as stored: the quick way
        return e164[-4:]
    digits = "".join(c for c in e164 if c.isdigit())
    return digits[-4:] or None


def readable_phone(e164: str | None, home_region: str = "CN") -> str:
    """A stored number as people read it: nationally for the company's country (`197 8170
    5596`), internationally for others (`+44 20 7946 0958`); as stored when it does not
    parse."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == home_region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def is_e164(text: str | None) -> bool:
    """Whether `text` is a number as stored (`+` and 8 to 15 digits): safe in a `tel:` link."""
    return bool(text) and re.fullmatch(r"\+[1-9][0-9]{7,14}", text) is not None
