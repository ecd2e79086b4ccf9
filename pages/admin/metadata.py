"""Metadata (元数据, manage_metadata): the business lines and the option lists behind every
dropdown - channels with their group, campaigns, intention levels, lost reasons, follow-up
results, the tag catalogue and the stage labels. One tab each (`ui.metadata_admin`)."""

from __future__ import annotations

import streamlit as st

from crm_core.platform.i18n import label_of
from ui.feedback import show_flash
from ui.i18n import t
from ui.metadata_admin import business_line_tab, intro, option_tab

TABS = "meta_tabs"  # st.session_state[TABS]: the open tab's label
LISTS = (
    "channel",
    "campaign",
    "intention_level",
    "lost_reason",
    "follow_up_result",
    "tag",
    "stage",
)

st.title(t("Metadata"))
st.caption(
    t(
        "The lists behind every dropdown. An entry is never deleted: a disabled one stays on the rows that have it and in the reports, and no form offers it any more. Every change is recorded in the audit log."
    )
)
show_flash()
# Only the open tab runs (its usage counts read a whole table): switching tabs reruns.
names = ("business_line", *LISTS)
tabs = st.tabs([t(label_of("metadata.tab", name)) for name in names], key=TABS, on_change="rerun")
for tab, name in zip(tabs, names, strict=True):
    with tab:
        if not tab.open:
            continue
        intro(name)
        if name == "business_line":
            business_line_tab()
        else:
            option_tab(name)
