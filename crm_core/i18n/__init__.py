"""The translation layer: every user-facing string is a key here, in English and Chinese.

`translate("home.title", "zh")` returns the Chinese text; parameters fill `{name}` fields.
A missing key shows as the key itself, and a test keeps the two catalogues complete.
"""

from __future__ import annotations

from typing import Any

from crm_core.i18n.en import MESSAGES as EN
from crm_core.i18n.zh import MESSAGES as ZH

LANGUAGES: dict[str, str] = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "zh"
CATALOGUES: dict[str, dict[str, str]] = {"en": EN, "zh": ZH}


def translate(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The text of `key` in `language`, with `params` filled in."""
    catalogue = CATALOGUES.get(language, CATALOGUES[DEFAULT_LANGUAGE])
    text = catalogue.get(key) or EN.get(key) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def error_text(error: Exception, language: str) -> str:
    """A core error in the user's language."""
    key = getattr(error, "key", None)
    if key is None:
        return str(error)
    return translate(key, language, **getattr(error, "params", {}))
