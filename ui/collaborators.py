"""The opportunity page's Collaborators section: who else reads (or also follows up) this
opportunity, and - for its owner or a manager - adding, changing and removing them. The
core checks everything; the forms only collect."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.circulation.collaborators import (
    CollaboratorRow,
    add_collaborator,
    candidates,
    change_access,
    remove_collaborator,
    shared_with_me,
)
from crm_core.models import COLLABORATOR_ACCESS
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, label_of
from crm_core.sales.detail import OpportunityDetail
from ui.db import session
from ui.feedback import flash
from ui.i18n import show_error, t
from ui.sales import line_text, local, open_link, stage_text


def access_text(access: str) -> str:
    return t(label_of("collaborator.access", access))


def _run(action, *args, success: str) -> None:
    try:
        with session() as s:
            action(s, *args)
    except CrmError as error:
        show_error(error)
    else:
        flash(success)
        st.rerun()


def _table(rows: list[CollaboratorRow]) -> None:
    if not rows:
        st.caption(t("Nobody else works on this opportunity."))
        return
    frame = pd.DataFrame(
        [
            {
                t("Colleague"): r.name,
                t("Access"): access_text(r.access),
                t("Added by"): r.added_by or t("System"),
                t("Added"): local(r.added_at),
            }
            for r in rows
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def _manage(me: Actor, detail: OpportunityDetail, rows: list[CollaboratorRow]) -> None:
    if detail.is_open:
        with session() as s:
            names = dict(candidates(s, me, detail.id))
        with st.form("opp_collab_add"):
            left, right = st.columns(2)
            user = left.selectbox(
                t("Colleague"), list(names), format_func=names.get, index=None, key="collab_user"
            )
            access = right.selectbox(
                t("Access"), COLLABORATOR_ACCESS, format_func=access_text, key="collab_access"
            )
            if st.form_submit_button(t("Add collaborator")):
                if user is None:
                    st.error(t("Choose a colleague."))
                else:
                    _run(
                        add_collaborator,
                        me,
                        detail.id,
                        user,
                        access,
                        success=N_("Collaborator added."),
                    )
    if not rows:
        return
    people = {r.user_id: r for r in rows}
    left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
    chosen = left.selectbox(
        t("Collaborator"),
        list(people),
        format_func=lambda u: people[u].name,
        key="collab_chosen",
    )
    current = people[chosen].access
    access = middle.selectbox(
        t("Access"),
        COLLABORATOR_ACCESS,
        index=COLLABORATOR_ACCESS.index(current),
        format_func=access_text,
        key=f"collab_change_{chosen}",
    )
    if access != current and middle.button(t("Change access"), key="collab_change"):
        _run(change_access, me, detail.id, chosen, access, success=N_("Access changed."))
    if right.button(t("Remove"), key="collab_remove"):
        _run(remove_collaborator, me, detail.id, chosen, success=N_("Collaborator removed."))


def show_collaborators(
    me: Actor,
    detail: OpportunityDetail,
    rows: list[CollaboratorRow],
    *,
    manage: bool,
    mine: str | None,
) -> None:
    """The section: the list for everyone who reads the opportunity; the controls for its
    owner or a manager (`manage`); a note for a collaborator on what they may do (`mine`)."""
    st.subheader(t("Collaborators"))
    if mine == "read":
        st.caption(t("You collaborate on this opportunity with read access."))
    elif mine == "follow_up":
        st.caption(t("You collaborate on this opportunity: you may log follow-ups on it."))
    _table(rows)
    if manage:
        _manage(me, detail, rows)


def show_shared_with_me(me: Actor) -> None:
    """The opportunities colleagues shared with the reader, folded, each a link to its page;
    nothing when there are none."""
    try:
        with session() as s:
            rows = shared_with_me(s, me)
    except CrmError as error:
        show_error(error)
        return
    if not rows:
        return
    with st.expander(f"{t('Shared with me')} · {len(rows)}", expanded=False):
        for r in rows:
            parts = [stage_text(r.stage), access_text(r.access)]
            if r.owner:
                parts.append(t("owner {name}", name=r.owner))
            if r.next_follow_up_at and r.pool_state != "closed":
                parts.append(t("next {at}", at=local(r.next_follow_up_at)))
            open_link(r.opportunity_id, line_text(r.opportunity_id, r.lead_name, *parts))
