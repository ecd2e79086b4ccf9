"""The QA workbench (质检工作台): the inspector's queue of sampled and flagged follow-ups
within their reach, scoring with the recording, the week's scores, appeals to decide, and
the checklists and sampling plans."""

from __future__ import annotations

import streamlit as st

from crm_core.platform.permissions import Permission
from ui.company_time import zone_caption
from ui.context import actor
from ui.feedback import show_flash
from ui.i18n import t
from ui.qa_setup import setup_tab
from ui.qa_workbench import appeals_tab, queue_tab, scores_tab

me = actor()
st.title(t("QA workbench"))
show_flash()
zone_caption()
tabs = []
if me.can(Permission.QA_INSPECT):
    tabs.append((t("Queue"), queue_tab))
tabs.append((t("Scores"), scores_tab))
if me.can(Permission.QA_DECIDE):
    tabs.append((t("Appeals"), appeals_tab))
if me.can(Permission.QA_INSPECT):
    tabs.append((t("Checklists and plans"), setup_tab))
# Only the open tab runs; switching tabs reruns and keeps the tab after an action.
shown = st.tabs([title for title, _ in tabs], key="qa_tabs", on_change="rerun")
for tab, (_, show) in zip(shown, tabs, strict=True):
    with tab:
        if tab.open:
            show()
