"""The translation layer: every user-facing string is a key here, in English and Chinese.

`translate("home.title", "zh")` returns the Chinese text; parameters fill `{name}` fields.
Texts live in one module per domain beside this file, each with an `EN` and a `ZH` dict;
a test keeps both languages complete. A missing key shows as the key itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

LANGUAGES: dict[str, str] = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "zh"


def _load() -> dict[str, dict[str, str]]:
    catalogues: dict[str, dict[str, str]] = {"en": {}, "zh": {}}
    for module in pkgutil.iter_modules(__path__):
        texts = importlib.import_module(f"{__name__}.{module.name}")
        for language, attribute in (("en", "EN"), ("zh", "ZH")):
            part = getattr(texts, attribute)
            clash = set(part) & set(catalogues[language])
            if clash:
                raise RuntimeError(f"translation keys defined twice: {sorted(clash)}")
            catalogues[language].update(part)
    return catalogues


CATALOGUES: dict[str, dict[str, str]] = _load()


def translate(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The text of `key` in `language`, with `params` filled in."""
    catalogue = CATALOGUES.get(language, CATALOGUES[DEFAULT_LANGUAGE])
    text = catalogue.get(key) or CATALOGUES["en"].get(key) or key
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
