"""Numbers, amounts and shares written the way the reader's language writes them (Babel's
locale data), so a third language brings its own separators with its catalogue."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import (
    format_compact_currency,
    format_compact_decimal,
    format_currency,
    format_decimal,
    format_percent,
)

from crm_core.platform.i18n import DEFAULT_LANGUAGE, LOCALES


def _locale(language: str) -> str:
    return LOCALES.get(language, LOCALES[DEFAULT_LANGUAGE])


def format_count(value: int, language: str) -> str:
    """A count with the language's grouping: `12,345`."""
    return format_decimal(value, locale=_locale(language))


def format_amount(value: Decimal | float, language: str) -> str:
    """An amount of money with two decimals: `9,800.00`."""
    return format_decimal(value, format="#,##0.00", locale=_locale(language))


def format_share(value: float, language: str) -> str:
    """A share as a percentage with one decimal: `12.5%`."""
    return format_percent(value, format="#,##0.0%", locale=_locale(language))


def format_money(
    value: Decimal | float, language: str, currency: str = "CNY", *, whole: bool = False
) -> str:
    """An amount with its currency and the language's grouping: `¥9,800.00` (Chinese),
    `CN¥9,800.00` (English, where a bare ¥ could be yen); `whole`: rounded to whole units,
    `¥9,800`."""
    if whole:
        return format_currency(
            round(value), currency, format="¤#,##0", currency_digits=False, locale=_locale(language)
        )
    return format_currency(value, currency, locale=_locale(language))


# Digits after the point in a compact figure: 664.3万 reads like 6.64M.
COMPACT_DIGITS = {"zh": 1}
DEFAULT_COMPACT_DIGITS = 2


def format_compact(value: Decimal | float | int, language: str) -> str:
    """A large number in the language's short form: `664.3万`, `1.2亿` in Chinese (never
    "k"), `6.64M`, `252.9K` in English; small numbers as they are."""
    digits = COMPACT_DIGITS.get(language, DEFAULT_COMPACT_DIGITS)
    return format_compact_decimal(value, locale=_locale(language), fraction_digits=digits)


def format_compact_money(value: Decimal | float | int, language: str, currency: str = "CNY") -> str:
    """An amount in the short form with its currency: `¥664.3万`, `CN¥6.64M`."""
    digits = COMPACT_DIGITS.get(language, DEFAULT_COMPACT_DIGITS)
    return format_compact_currency(
        value, currency, locale=_locale(language), fraction_digits=digits
    )
