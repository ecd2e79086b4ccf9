"""Amounts of money as the catalogue, the orders and the payment files write them.

Prices and order amounts are `Decimal` with two places (CNY yuan and fen), never floats: a
discount limit compares exactly and a payment file's amount either equals the order's or
does not.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_

CENT = Decimal("0.01")
# Numeric(12, 2): ten digits before the point.
MAX_AMOUNT = Decimal("9999999999.99")
# What people and payment exports put around a number: currency signs and words, thousands
# separators (also the full-width comma), spaces.
_NOISE = re.compile(r"[\s,，¥￥$]|(?i:cny|rmb)|元")


def parse_money(value: object, *, field: str = "amount") -> Decimal:
    """`value` (a number or text such as `¥9,800.00`, `9800元`) as a Decimal of at most two
    places, greater than zero and within the column's size.

    Raise ValidationError `money.error.not_a_number`, `money.error.cents` (more than two
    places) or `money.error.not_positive`, with `field` and the value as given."""
    if isinstance(value, bool):  # bool is an int: True is no price
        raise ValidationError(
            N_("“{value}” is not an amount of money."), field=field, value=str(value)
        )
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))  # the shortest text that reads back as this float
    else:
        text = _NOISE.sub("", str(value or ""))
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise ValidationError(
                N_("“{value}” is not an amount of money."), field=field, value=str(value or "")
            ) from exc
    if not amount.is_finite():
        raise ValidationError(
            N_("“{value}” is not an amount of money."), field=field, value=str(value)
        )
    if amount != amount.quantize(CENT):
        raise ValidationError(
            N_("“{value}”: an amount has at most two decimals."), field=field, value=str(value)
        )
    if amount <= 0:
        raise ValidationError(
            N_("“{value}”: the amount must be above zero."), field=field, value=str(value)
        )
    if amount > MAX_AMOUNT:
        raise ValidationError(
            N_("“{value}” is too large an amount."), field=field, value=str(value)
        )
    return amount.quantize(CENT)


def format_money(amount: Decimal | None) -> str:
    """`9800.00` as `9,800.00`; nothing for None."""
    return "" if amount is None else f"{Decimal(amount):,.2f}"
