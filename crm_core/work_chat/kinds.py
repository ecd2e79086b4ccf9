"""Which in-app notices may be pushed, and the text a push carries.

The list is a registry: a kind added here is offered on every user's account page and
pushed by the same job. A pushed text is the notice's own message in the user's language,
naming the user; it carries names and opportunity ids only, and any run of digits that
looks like a phone number is masked.
"""

from __future__ import annotations

import re

from crm_core.models import Notice
from crm_core.platform.i18n import N_, label_of, ntranslate, translate
from crm_core.platform.i18n.labels import NOTICE_PLURALS

# kind -> what the account page calls it. Order is the page's order.
PUSH_KINDS: dict[str, str] = {
    "dispatch.received": N_("New opportunities assigned to me"),
    "renewal.opened": N_("Renewal opportunities opened for me"),
    "recycle.warning": N_("Opportunities of mine about to be recycled"),
    "follow_up.overdue": N_("My planned follow-ups that fell overdue"),
    "order.discount_requested": N_("Approval requests (order discounts waiting for me)"),
    "instalment.overdue": N_("Overdue instalments of my customers"),
    "approval.requested": N_("Approval flow requests waiting for me"),
}

PUSH_TITLE = N_("CRM notice")
_PHONE = re.compile(r"\+?\d[\d \-]{8,}\d")


def mask_numbers(text: str) -> str:
    """`text` with every phone-like run of digits masked (138****5678)."""

    def masked(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group())
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]  # China's country code before a mobile number
        return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"

    return _PHONE.sub(masked, text)


def notice_message(notice: Notice, language: str) -> str:
    """The notice's message in `language`, as the in-app list words it."""
    params = dict(notice.params or {})
    forms = NOTICE_PLURALS.get(notice.kind)
    if forms is not None and isinstance(params.get("count"), int):
        return ntranslate(*forms, params["count"], language, **params)
    return translate(label_of("notice", notice.kind), language, **params)


def push_text(notice: Notice, full_name: str, language: str) -> tuple[str, str]:
    """The title and Markdown text of a push: the person named, then the message."""
    body = mask_numbers(notice_message(notice, language))
    return translate(PUSH_TITLE, language), f"@{full_name} {body}"
