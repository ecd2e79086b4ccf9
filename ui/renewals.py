"""The renewal block of the opportunity detail view: on a win, the button that opens its
renewal or the line naming the renewal it has; and the lead's study activity from the
learning system as talking points for the renewal call.

Session keys start with `renewal_` / `learning_`.
"""

from __future__ import annotations

import streamlit as st

from crm_core.circulation.renewals import RenewalLink, open_renewal, renewals_of
from crm_core.leads.learning import StudyActivity, learning_for_lead
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError
from crm_core.platform.i18n import N_, label_of
from crm_core.platform.permissions import Permission
from ui.circulation import when
from ui.db import session
from ui.i18n import show_error, t, tmd
from ui.options import stage_text
from ui.text import md

_OPENED = "renewal_opened"  # the id of the renewal opened on the last run, to say so once


def _open(me: Actor, opportunity_id: int) -> None:
    try:
        with session() as s:
            renewal = open_renewal(s, me, opportunity_id)
            opened = renewal.id
    except CrmError as error:
        st.session_state[f"renewal_error_{opportunity_id}"] = error
    else:
        st.session_state[_OPENED] = opened


def _link_text(link: RenewalLink) -> str:
    params = {
        "id": link.opportunity_id,
        "stage": stage_text(link.stage),
        "state": t(label_of("pool", link.pool_state)),
        "at": when(link.created_at),
    }
    return tmd(
        N_("Renewal #{id}: {stage}, {state}, opened {at}.")
        if link.visible
        else N_("Renewal #{id} ({stage}, {state}, opened {at}) is outside your scope."),
        **params,
    )


def show_renewal_action(me: Actor, opportunity) -> None:
    """On a won opportunity: the renewals it has, and a button to open one while none is
    open (for those who work opportunities). Other opportunities show nothing.
    `opportunity`: anything with `id` and `stage` (an Opportunity, an OpportunityDetail)."""
    if getattr(opportunity, "stage", None) != "won":
        return
    st.markdown(f"**{t('Renewal')}**")
    opened = st.session_state.pop(_OPENED, None)
    if opened is not None:
        st.success(t("Renewal #{id} opened.", id=opened))
    error = st.session_state.pop(f"renewal_error_{opportunity.id}", None)
    if error is not None:
        show_error(error)
    try:
        with session() as s:
            links = renewals_of(s, me, opportunity.id)
    except CrmError as failure:
        show_error(failure)
        return
    for link in links:
        st.caption(_link_text(link))
    if me.can(Permission.WORK_OPPORTUNITIES) and not any(link.open for link in links):
        st.button(
            t("Open the renewal"),
            key=f"renewal_open_{opportunity.id}",
            help=t(
                "A new opportunity for the same lead and business line, to the owner of this win (or to dispatch if they are no longer active)."
            ),
            on_click=_open,
            args=(me, opportunity.id),
        )


def _studied(activity: StudyActivity) -> str:
    if activity.last_studied_on is None:
        return t("No study date.")
    day = activity.last_studied_on.isoformat()
    if activity.days_since == 0:
        return t("Last studied today ({date}).", date=day)
    return t("Last studied {date}, {days} days ago.", date=day, days=activity.days_since)


def show_learning(me: Actor, lead_id: int) -> None:
    """The lead's study activity as talking points: per course its progress bar, when it
    was last studied and how long ago, and a hint; a caption when there is none."""
    st.markdown(f"**{t('Study activity')}**")
    try:
        with session() as s:
            activity = learning_for_lead(s, me, lead_id)
    except CrmError as error:
        show_error(error)
        return
    if not activity:
        st.caption(t("No study activity has been imported for this lead."))
        return
    for item in activity:
        done = t("{pct}% done", pct=item.progress_pct)
        # The course comes from the learning system's file; a progress text is Markdown.
        st.progress(item.progress_pct / 100, text=f"{md(item.course)} · {done}")
        st.caption(f"{_studied(item)} {t(label_of('learning.hint', item.hint))}")
