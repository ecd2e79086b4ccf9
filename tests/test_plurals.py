"""Counts read right in English: "1 opportunity", "2 opportunities"."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from crm_core.platform.i18n import LOCALE_DIR, ntranslate
from crm_core.platform.i18n.labels import LABELS, NOTICE_PLURALS

# A count field followed, within the message, by an English plural noun.
COUNTED = re.compile(
    r"\{(count|n)\}(?:[^{.;:]*?)\b(leads|opportunities|people|reps|users|rows|days|orders)\b"
)
# Messages still written with one form, each shown where a count of one is rare or the noun
# is a heading's; none may be added.
ONE_FORM_LEFT = {
    "Apply to all {count} leads of this search",
    "Nothing imported: {count} bad rows and all or nothing was asked.",
    "Prepare the export ({count} leads)",
    "Saved now, “{name}” would move {count} opportunities at once (more than {limit}). Save it anyway?",
    "The role {code} is held by {count} users and cannot be deleted.",
    "You cannot change the role {code}: {count} of the people who hold it are outside your scope.",
    "{unit} still has {count} active users; move them first.",
    "The roster has {count} bad rows; nothing was applied.",
    "{count} rows are bad, so with all or nothing this file would not be imported. Fix the rows or choose to import the good ones.",
    "{count} rows are bad. Correct the file and upload it again: nothing is applied while a row is bad.",
    "{count} rows cannot be imported; see the reasons below. The other rows can be imported.",
}


def test_notices_with_a_count_take_its_form():
    forms = NOTICE_PLURALS["dispatch.received"]
    assert ntranslate(*forms, 1, "en") == "You received 1 new opportunity."
    assert ntranslate(*forms, 3, "en") == "You received 3 new opportunities."
    assert ntranslate(*forms, 1, "zh") == "您收到了 1 个新商机。"
    assert set(NOTICE_PLURALS) <= set(LABELS["notice"])


def test_no_new_count_message_has_one_form_only():
    with (LOCALE_DIR / "messages.pot").open("rb") as source:
        template = read_po(source)
    one_form = {m.id for m in template if isinstance(m.id, str) and m.id and COUNTED.search(m.id)}
    assert sorted(one_form - ONE_FORM_LEFT) == []
