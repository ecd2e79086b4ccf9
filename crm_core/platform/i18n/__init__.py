"""The translation layer: gettext catalogues (`locale/<locale>/LC_MESSAGES/messages.po`),
English messages as the msgids, one catalogue per language.

`translate("Welcome, {name}", "zh", name="李")` returns the Chinese text with its fields
filled; `ntranslate` chooses the plural form. Messages written away from a translation
call are marked with `N_()` / `NC_()` so `pybabel extract` finds them (see README,
"Translations"). A message missing from a catalogue shows in English.
"""

from __future__ import annotations

import gettext
import logging
import os
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from crm_core.platform.i18n.labels import LABELS
from crm_core.platform.i18n.markers import CONTEXT_SEPARATOR, N_, NC_, NP_

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "NC_",
    "NP_",
    "catalogue",
    "error_count",
    "error_text",
    "is_message",
    "label_of",
    "ntranslate",
    "translate",
]

LANGUAGES: dict[str, str] = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "zh"
# The gettext (and Babel) locale of each language the user can choose.
LOCALES: dict[str, str] = {"en": "en", "zh": "zh_CN"}
LOCALE_DIR = Path(__file__).resolve().parents[3] / "locale"
DOMAIN = "messages"
log = logging.getLogger(__name__)


@cache
def catalogue(language: str) -> gettext.GNUTranslations | gettext.NullTranslations:
    """The compiled catalogue of `language`. `./run.sh` and `./test.sh` compile the `.po`
    files at install; a `.po` newer than its `.mo` (an edit since) is compiled here, in
    memory."""
    locale = LOCALES.get(language)
    if locale is None:
        return gettext.NullTranslations()
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as compiled:
            return gettext.GNUTranslations(compiled)
    if not po.exists():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as source:
        messages = read_po(source, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _lookup(message: str, language: str) -> str:
    if not message:
        return message  # gettext("") is the catalogue's header
    translations = catalogue(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    context, separator, text = message.partition(CONTEXT_SEPARATOR)
    if separator:
        return translations.pgettext(context, text)
    return translations.gettext(message)


def translate(message: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """`message` in `language`, with `params` filled into its `{name}` fields."""
    return _fill(message, _lookup(message, language), params)


def _fill(message: str, text: str, params: dict[str, Any]) -> str:
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError) as error:
        # A field the caller does not give is a bug: the suite fails on it
        # (CRM_STRICT_MESSAGES), a user sees the field's name and the log says where.
        if os.environ.get("CRM_STRICT_MESSAGES"):
            raise ValueError(f"message {message!r} with {sorted(params)}: {error!r}") from error
        log.warning("message %r cannot take %s: %r", message, sorted(params), error)
        return text.format_map(_KeepMissing(params))


class _KeepMissing(dict):
    def __missing__(self, name: str) -> str:
        return "{" + name + "}"


def ntranslate(
    singular: str, plural: str, n: int, language: str = DEFAULT_LANGUAGE, **params: Any
) -> str:
    """The form of `singular`/`plural` that fits `n` in `language`; `n` fills `{n}`."""
    translations = catalogue(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    return _fill(singular, translations.ngettext(singular, plural, n), {"n": n, **params})


def is_message(text: str) -> bool:
    """Whether `text` is a message of the catalogues (a core refusal stored with a job run,
    say), rather than free text."""
    # GNUTranslations keeps "context\x04message" as the key of a message with a context.
    return bool(text) and text in getattr(catalogue("en"), "_catalog", {})


def label_of(family: str, code: Any) -> str:
    """The message naming `code` of `family` ("stage", "pool", "role" ...), or the code
    itself when it has none (a business line's own stage, say)."""
    if code is None:
        return ""
    return LABELS.get(family, {}).get(str(code), str(code))


def error_text(error: Exception, language: str) -> str:
    """A core error in the user's language."""
    key = getattr(error, "key", None)
    if key is None:
        return str(error)
    params = getattr(error, "params", {})
    plural = getattr(error, "plural", None)
    if plural is not None:
        return ntranslate(key, plural, error_count(params), language, **params)
    return translate(key, language, **params)


def error_count(params: dict[str, Any]) -> int:
    """The count a plural error's form follows: its `count` (or `n`) parameter."""
    value = params.get("count", params.get("n", 0))
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
