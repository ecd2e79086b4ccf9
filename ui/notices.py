"""A notice as its reader sees it: its kind's message in their language, the count's form
where the message has one, every parameter shown literally."""

from __future__ import annotations

from crm_core.models import Notice
from crm_core.platform.i18n import label_of
from crm_core.platform.i18n.labels import NOTICE_PLURALS
from ui.i18n import ntmd, tmd


def notice_text(notice: Notice) -> str:
    """The notice's Markdown text."""
    params = dict(notice.params or {})
    forms = NOTICE_PLURALS.get(notice.kind)
    if forms is not None and isinstance(params.get("count"), int):
        return ntmd(*forms, params["count"], **params)
    return tmd(label_of("notice", notice.kind), **params)
