"""The translation layer: the catalogues hold every message the code marks, in English and
Chinese, with the same `{fields}`; code labels cover every code the core knows."""

from __future__ import annotations

import string

import pytest
from babel.messages.pofile import read_po

from crm_core.models import DEFAULT_STAGES, POOL_STATES
from crm_core.platform.i18n import (
    DOMAIN,
    LABELS,
    LOCALE_DIR,
    LOCALES,
    N_,
    is_message,
    label_of,
    ntranslate,
    translate,
)
from crm_core.platform.i18n.catalogues import TEMPLATE, extract
from crm_core.platform.permissions import BUILTIN_ROLES, DataScope, Permission
from crm_core.platform.settings import DEFINITIONS


def _read(path):
    with path.open("rb") as source:
        return read_po(source)


def _ids(catalog) -> set[tuple[str | None, object]]:
    return {(m.context, m.id) for m in catalog if m.id}


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    template = tmp_path_factory.mktemp("i18n") / "messages.pot"
    extract(template)
    return _read(template)


@pytest.fixture(scope="module", params=sorted(LOCALES.values()))
def catalogue(request):
    return _read(LOCALE_DIR / request.param / "LC_MESSAGES" / f"{DOMAIN}.po")


def test_the_template_is_what_the_code_marks(extracted):
    """`python -m crm_core.platform.i18n.catalogues extract` was run after the last change."""
    assert len(_ids(extracted)) > 1000
    assert _ids(extracted) == _ids(_read(TEMPLATE))


def test_every_marked_message_is_translated(extracted, catalogue):
    translated = {(m.context, m.id) for m in catalogue if m.id and m.string and all(m.string)}
    missing = sorted(map(str, _ids(extracted) - translated))
    assert missing == [], f"{catalogue.locale}: run `catalogues update` and translate these"
    stale = sorted(map(str, _ids(catalogue) - _ids(extracted)))
    assert stale == [], f"{catalogue.locale}: messages no code uses any more"


def test_translations_keep_the_fields_of_their_message(catalogue):
    broken = []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        want = set().union(*(fields(i) for i in ids))
        for text in strings:
            if fields(text) != want - {"n"} and fields(text) != want:
                broken.append((message.id, text))
    assert broken == []


def test_chinese_is_chinese():
    zh = _read(LOCALE_DIR / LOCALES["zh"] / "LC_MESSAGES" / f"{DOMAIN}.po")
    letters = [m for m in zh if m.id and isinstance(m.id, str) and any(c.isalpha() for c in m.id)]
    same = [m.id for m in letters if m.string == m.id and not _code_like(m.id)]
    # Proper names and codes stay as they are; whole sentences do not.
    assert len(same) < len(letters) / 20, same[:20]


def _code_like(text: str) -> bool:
    return len(text) <= 12 or text.replace(" ", "").isupper()


def test_code_labels_cover_every_code_the_core_knows():
    families = {
        "stage": DEFAULT_STAGES,
        "pool": POOL_STATES,
        "role": BUILTIN_ROLES,
        "scope": [s.value for s in DataScope],
        "permission": [p.value for p in Permission],
        "settings": [k for k, d in DEFINITIONS.items() if d.kind is not str],
        "login_event": [
            "success",
            "failure",
            "locked",
            "refused_locked",
            "refused_inactive",
            "logout",
        ],
    }
    for family, codes in families.items():
        missing = [c for c in codes if str(c) not in LABELS[family]]
        assert missing == [], family
        for code in codes:
            assert is_message(label_of(family, code)), (family, code)


def test_a_code_without_a_label_shows_as_itself():
    assert label_of("stage", "our_own_stage") == "our_own_stage"
    assert translate(label_of("stage", "our_own_stage"), "zh") == "our_own_stage"
    assert label_of("stage", None) == ""


def test_translate_fills_fields_and_refuses_a_missing_one():
    welcome = N_("Welcome, {name}")
    assert translate(welcome, "en", name="Li") == "Welcome, Li"
    zh = translate(welcome, "zh", name="李")
    assert "李" in zh and zh != translate(welcome, "en", name="李")
    with pytest.raises(ValueError, match="Welcome"):
        translate(welcome, "zh", other="x")


def test_outside_the_suite_a_missing_field_shows_its_name(monkeypatch):
    monkeypatch.delenv("CRM_STRICT_MESSAGES")
    assert translate(N_("Welcome, {name}"), "en", other="x") == "Welcome, {name}"
    # A message no catalogue holds shows as written.
    assert translate("Not a message of ours", "zh") == "Not a message of ours"


def test_plural_forms_follow_the_count():
    one, many = "{count} opportunity in the pool.", "{count} opportunities in the pool."
    assert ntranslate(one, many, 1, "en", count="1") == "1 opportunity in the pool."
    assert ntranslate(one, many, 3, "en", count="3") == "3 opportunities in the pool."
    chinese = ntranslate(one, many, 3, "zh", count="3")
    assert "3" in chinese and chinese == ntranslate(one, many, 1, "zh", count="3")
    assert chinese != ntranslate(one, many, 3, "en", count="3")


def test_numbers_follow_the_readers_locale():
    from decimal import Decimal

    from crm_core.platform.i18n.formats import format_amount, format_count, format_share

    assert format_count(12345, "en") == "12,345"
    assert format_amount(Decimal("9800"), "zh") == "9,800.00"
    assert format_share(0.125, "en") == "12.5%"
