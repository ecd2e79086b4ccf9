"""Message texts: the variables a template may use, rendering, and how many SMS segments
(and so how much money) a text takes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_, NC_

# The variables a template may name, each with what it means (shown in the editor).
VARIABLES: dict[str, str] = {
    "name": NC_("sms variable", "the lead's name"),
    "rep": NC_("sms variable", "the name of the rep who owns the lead's opportunity"),
    "line": NC_("sms variable", "the business line of that opportunity"),
    "trial_time": NC_("sms variable", "the time of the next booked trial lesson"),
    "company": NC_("sms variable", "the company's name"),
}
_VARIABLE = re.compile(r"\{([A-Za-z_]+)\}")
MAX_BODY = 500
# What the characters of GSM 03.38's basic set cost: 160 in one message, 153 per part of a
# longer one. Any other character (Chinese among them) makes the text UCS-2: 70 and 67.
_GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def variables_of(body: str) -> list[str]:
    """The variables `body` names, in order of first use."""
    seen: list[str] = []
    for name in _VARIABLE.findall(body):
        if name not in seen:
            seen.append(name)
    return seen


def check_body(body: str) -> str:
    """The body stripped, or ValidationError: empty, too long, an unknown variable, or a
    brace that opens no variable."""
    text = (body or "").strip()
    if not text:
        raise ValidationError(N_("Write the message text."))
    if len(text) > MAX_BODY:
        raise ValidationError(
            N_("The message is {length} characters long; at most {limit} are allowed."),
            length=len(text),
            limit=MAX_BODY,
        )
    for name in variables_of(text):
        if name not in VARIABLES:
            raise ValidationError(
                N_("Unknown variable {{{variable}}}; use one of: {known}."),
                variable=name,
                known=", ".join("{" + v + "}" for v in VARIABLES),
            )
    if "{" in _VARIABLE.sub("", text) or "}" in _VARIABLE.sub("", text):
        raise ValidationError(N_("A brace opens no variable: write variables as {name}."))
    return text


def render(body: str, values: Mapping[str, str | None]) -> str | None:
    """`body` with its variables filled in from `values`; None when one of them has no value
    for this lead (e.g. {trial_time} without a booked trial)."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(match.group(1))
        if value is None or value == "":
            missing = True
            return ""
        return str(value)

    text = _VARIABLE.sub(fill, body)
    return None if missing else text


def segments(text: str) -> int:
    """How many SMS the provider bills for `text` (signature included by the caller)."""
    n = len(text)
    if all(c in _GSM for c in text):
        single, part = 160, 153
    else:
        single, part = 70, 67
    if n <= single:
        return 1
    return -(-n // part)


def cost(segment_count: int, price: Decimal) -> Decimal:
    """The price of `segment_count` segments."""
    return (price * segment_count).quantize(Decimal("0.0001"))
