"""Counts read right in English: "1 opportunity", "2 opportunities"."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from crm_core.platform.errors import PermissionDenied, ValidationError
from crm_core.platform.i18n import LOCALE_DIR, NP_, error_text, ntranslate
from crm_core.platform.i18n.labels import LABELS, NOTICE_PLURALS

# A count field followed, within the message, by an English plural noun.
COUNTED = re.compile(
    r"\{(count|n)\}(?:[^{.;:]*?)\b(leads|opportunities|people|reps|users|rows|days|orders)\b"
)
# Messages still written with one form: none may be added.
ONE_FORM_LEFT: set[str] = set()


def test_notices_with_a_count_take_its_form():
    forms = NOTICE_PLURALS["dispatch.received"]
    assert ntranslate(*forms, 1, "en") == "You received 1 new opportunity."
    assert ntranslate(*forms, 3, "en") == "You received 3 new opportunities."
    assert ntranslate(*forms, 1, "zh") == "您收到了 1 个新商机。"
    assert set(NOTICE_PLURALS) <= set(LABELS["notice"])


def test_the_managers_recycle_warning_takes_the_count_form():
    forms = NOTICE_PLURALS["recycle.team_warning"]
    one = ntranslate(*forms, 1, "en", unit="Team A", limit=0)
    many = ntranslate(*forms, 40, "en", unit="Team A", limit=30)
    assert one.startswith("Recycling will take back 1 opportunity of Team A")
    assert "have it followed up" in one
    assert many.startswith("Recycling will take back 40 opportunities of Team A")
    assert "40" in ntranslate(*forms, 40, "zh", unit="一组", limit=30)


def test_no_new_count_message_has_one_form_only():
    with (LOCALE_DIR / "messages.pot").open("rb") as source:
        template = read_po(source)
    one_form = {m.id for m in template if isinstance(m.id, str) and m.id and COUNTED.search(m.id)}
    assert sorted(one_form - ONE_FORM_LEFT) == []


def test_a_refusal_about_a_count_takes_its_form():
    """A core error marked NP_ keeps the singular as its key and shows the count's form."""
    one = ValidationError(
        NP_(
            "The role {code} is held by {count} user and cannot be deleted.",
            "The role {code} is held by {count} users and cannot be deleted.",
        ),
        code="auditor",
        count=1,
    )
    three = ValidationError((one.key, one.plural), code="auditor", count=3)
    assert one.key == three.key == "The role {code} is held by {count} user and cannot be deleted."
    forms = (one.key, one.plural)
    for error, n in ((one, 1), (three, 3)):
        for lang in ("en", "zh"):
            expected = ntranslate(*forms, n, lang, code="auditor", count=n)
            assert error_text(error, lang) == expected
    assert error_text(one, "en") != error_text(three, "en")
    assert "{" not in error_text(three, "zh")
    # A plain refusal is unchanged.
    plain = PermissionDenied()
    assert (
        plain.plural is None and error_text(plain, "en") == "You do not have permission to do this."
    )
