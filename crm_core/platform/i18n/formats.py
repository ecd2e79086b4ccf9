"""Numbers, amounts and shares written the way the reader's language writes them (Babel's
locale data), so a third language brings its own separators with its catalogue."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal, format_percent

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
