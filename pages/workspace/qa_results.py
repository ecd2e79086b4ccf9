"""My QA results (我的质检): the rep's scored follow-ups, the points per item and the
inspector's comment, and the one appeal a rep may make on a score."""

from __future__ import annotations

import streamlit as st

from crm_core.models import QaChecklist
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_
from crm_core.qa.appeals import appeal, my_result, my_results
from ui.company_time import zone_caption
from ui.context import actor
from ui.db import session
from ui.feedback import show_flash
from ui.i18n import show_error, t, tmd
from ui.qa_review import act, row_label, rows_table, show_item, show_scores

me = actor()
st.title(t("My QA results"))
show_flash()
zone_caption()
with session() as s:
    rows = my_results(s, me)
if not rows:
    st.caption(t("None of your follow-ups has been scored yet."))
    st.stop()
rows_table(rows)
by_id = {r.id: r for r in rows}
review_id = st.selectbox(
    t("Open"), list(by_id), format_func=lambda i: row_label(by_id[i]), key="qa_mine_pick"
)
try:
    with session() as s:
        detail = my_result(s, me, review_id)
        checklist = s.get(QaChecklist, detail.checklist_id) if detail.checklist_id else None
        if checklist is not None:
            s.expunge(checklist)
except CrmError as error:
    show_error(error)
    st.stop()
st.subheader(tmd("Score: {total}", total=detail.row.total))
show_item(detail)
show_scores(checklist, detail)
if detail.row.status == "scored" and not detail.appeal_reason:
    reason = st.text_area(
        t("Why the score is wrong (one appeal per score)"), key=f"qa_appeal_{review_id}"
    )
    if st.button(t("Appeal"), key=f"qa_appeal_{review_id}_send"):
        act(lambda s: appeal(s, me, review_id, reason), N_("Appeal sent to the QA lead."))
