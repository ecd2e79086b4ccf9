"""The translation layer: both catalogues complete, every key the code uses exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from crm_core.models import DEFAULT_STAGES, POOL_STATES
from crm_core.platform.i18n import CATALOGUES, translate
from crm_core.platform.permissions import BUILTIN_ROLES, DataScope
from crm_core.platform.settings import DEFINITIONS

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    p
    for d in ("app.py", "pages", "ui", "crm_core")
    for p in ([ROOT / d] if d.endswith(".py") else (ROOT / d).rglob("*.py"))
]
# t("key"), translate("key"), and core errors raised with a key as first argument.
KEY_USE = re.compile(
    r"""(?:\bt|translate|Error|Denied|NotFound)\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']"""
)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogues_have_the_same_keys():
    en, zh = CATALOGUES["en"], CATALOGUES["zh"]
    assert sorted(set(en) - set(zh)) == []
    assert sorted(set(zh) - set(en)) == []


@pytest.mark.parametrize("key", sorted(CATALOGUES["en"]))
def test_placeholders_match_and_chinese_is_translated(key):
    en, zh = CATALOGUES["en"][key], CATALOGUES["zh"][key]
    assert fields(en) == fields(zh)
    assert zh.strip(), key


def test_every_key_used_in_code_exists():
    used = set()
    for path in SOURCES:
        used.update(KEY_USE.findall(path.read_text(encoding="utf-8")))
    assert used, "the pattern found no keys at all"
    missing = sorted(k for k in used if k not in CATALOGUES["en"])
    assert missing == []


def test_dynamic_key_families_are_complete():
    families = (
        [f"stage.{s}" for s in DEFAULT_STAGES]
        + [f"pool.{s}" for s in POOL_STATES]
        + [f"role.{r}" for r in BUILTIN_ROLES]
        + [f"scope.{s}" for s in DataScope]
        # The company's name, zone and currency have labels of their own (the settings page).
        + [f"settings.{k}" for k, d in DEFINITIONS.items() if d.kind is not str]
        # The file imports' shared refusals and report columns (crm_core.imports.file_import), by
        # the domain each import passes.
        + [
            f"{domain}.{key}"
            for domain in ("customers", "learning", "payment_import")
            for key in (
                "error.unknown_column",
                "error.missing_columns",
                "error.mode",
                "error.other_actor",
                "table.row",
                "table.reason",
            )
        ]
        + [
            f"roster.{key}"
            for key in ("error.unknown_column", "error.missing_columns", "error.other_actor")
        ]
        + [
            f"login_event.{e}"
            for e in (
                "success",
                "failure",
                "locked",
                "refused_locked",
                "refused_inactive",
                "logout",
            )
        ]
    )
    for language, catalogue in CATALOGUES.items():
        assert [k for k in families if k not in catalogue] == [], language


def test_translate_fills_parameters_and_falls_back():
    assert translate("home.title", "en", name="Li") == "Welcome, Li"
    assert translate("home.title", "zh", name="李") == "欢迎,李"
    assert translate("no.such.key", "en") == "no.such.key"
